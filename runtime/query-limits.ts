import type { ApolloServerPlugin, GraphQLRequestListener } from '@apollo/server';
import type { ErrorRequestHandler } from 'express';
import {
  OperationTypeNode,
  getNamedType,
  getNullableType,
  GraphQLError,
  isCompositeType,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  parse,
  valueFromASTUntyped,
  type DocumentNode,
  type FieldNode,
  type FormattedExecutionResult,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import type { AppConfig } from './config';
import type { Logger } from './logger';

/** The shape limits every service applies to one operation. */
export type OperationLimits = Pick<
  AppConfig['limits'],
  'maxDepth' | 'maxFields' | 'maxAliases' | 'maxCost'
>;

/**
 * How many items a list field can hold, for the cost estimate. Every list of objects in a
 * schema must be sized, by {@link LIST_SIZES} or the connection convention
 * ({@link undeclaredListSizes} finds the ones that are not; the subgraphs refuse to start
 * with any, the gateway serves them with a warning: see {@link UNDECLARED_LIST_SIZE}).
 */
export type ListSize =
  /** At most `size` items: a bound the resolver or the domain enforces. */
  | { readonly kind: 'fixed'; readonly size: number }
  /** The list's own argument (`limit`, `first`) sets its length, within `max`. */
  | {
      readonly kind: 'argument';
      readonly argument: string;
      readonly default: number;
      readonly max: number;
    }
  /** As long as a list argument (`_entities(representations:)`). */
  | { readonly kind: 'argumentLength'; readonly argument: string }
  /** A connection's `edges`: as long as the page the field returning the connection asked for. */
  | { readonly kind: 'page' }
  /** Not a list: returns a connection whose `edges` hold a page of this argument. */
  | {
      readonly kind: 'connection';
      readonly argument: string;
      readonly default: number;
      readonly max: number;
    };

/** Showtimes one `showtimes` list returns: `limit` (1..500, default 100), earliest first. */
export const SHOWTIME_LIST_LIMIT = { default: 100, max: 500 } as const;
/** Halls are at most 26 rows (A..Z) × 60 columns (hall layout validation). */
const MAX_SEATS_PER_HALL = 26 * 60;
/**
 * Every connection pages with `first`, 1..100, default 20 (runtime/pagination.ts `pageSize`;
 * a unit test keeps the two equal without the gateway loading type-graphql).
 */
export const CONNECTION_PAGE = {
  kind: 'connection',
  argument: 'first',
  default: 20,
  max: 100,
} as const satisfies ListSize;

/**
 * The declared size of every list of objects, keyed `Type.field` (the API schema's names; the
 * subgraphs' schemas use the same). A new list field needs an entry here, or the services
 * refuse to start: bound the list in its resolver, then declare the bound. Relay connections
 * need none: a type named `…Connection` with a list `edges` is sized by the `first` of the
 * field that returns it ({@link CONNECTION_PAGE}).
 */
export const LIST_SIZES: Readonly<Record<string, ListSize>> = {
  // Showtimes: a window of at most 14 days and at most `limit` of them (cinemas subgraph).
  'Query.showtimes': { kind: 'argument', argument: 'limit', ...SHOWTIME_LIST_LIMIT },
  'Movie.showtimes': { kind: 'argument', argument: 'limit', ...SHOWTIME_LIST_LIMIT },
  // A chain's cinemas and a cinema's halls: assumed sizes (the whole chain has a few dozen).
  'Query.cinemas': { kind: 'fixed', size: 100 },
  'Cinema.halls': { kind: 'fixed', size: 30 },
  'Hall.seats': { kind: 'fixed', size: MAX_SEATS_PER_HALL },
  'SeatMap.seats': { kind: 'fixed', size: MAX_SEATS_PER_HALL },
  'SeatUpdate.seats': { kind: 'fixed', size: MAX_SEATS_PER_HALL },
  // At most 8 seats held per user and showtime.
  'HoldResult.seats': { kind: 'fixed', size: 8 },
  'ReleaseResult.seats': { kind: 'fixed', size: 8 },
  // One price per seat type.
  'Showtime.prices': { kind: 'fixed', size: 5 },
  // The booking engine (bookings subgraph): a booking's seats are held seats (at most 8); a
  // cinema's menu has at most 200 concessions (MAX_CONCESSIONS_PER_CINEMA), so has a booking.
  'Booking.tickets': { kind: 'fixed', size: 8 },
  'Booking.concessions': { kind: 'fixed', size: 200 },
  'Query.concessions': { kind: 'fixed', size: 200 },
  // A booking's status changes: its states form no cycle (PENDING … COMPLETED), so a few.
  'Booking.history': { kind: 'fixed', size: 8 },
  // Subgraphs only: the gateway's entity fetches, one result per representation.
  'Query._entities': { kind: 'argumentLength', argument: 'representations' },
};

/** A Relay connection type: named `…Connection`, with a list of objects in `edges`. */
function isConnectionType(type: GraphQLNamedType | undefined): boolean {
  if (!type || !(isObjectType(type) || isInterfaceType(type))) return false;
  const edges = type.getFields().edges;
  return type.name.endsWith('Connection') && edges !== undefined && isObjectList(edges);
}

/** How a field is sized: its entry in {@link LIST_SIZES}, or the Relay convention. */
function sizeOf(
  parent: GraphQLCompositeType,
  field: GraphQLField<unknown, unknown>,
): ListSize | undefined {
  const declared = LIST_SIZES[`${parent.name}.${field.name}`];
  if (declared) return declared;
  if (field.name === 'edges' && isConnectionType(parent)) return { kind: 'page' };
  if (
    isConnectionType(getNamedType(field.type)) &&
    field.args.some((a) => a.name === CONNECTION_PAGE.argument)
  ) {
    return CONNECTION_PAGE;
  }
  return undefined;
}

/**
 * Items counted for a list without a declared size: one. Our subgraphs refuse to start with
 * such a list and a test holds the committed supergraph to it, so only another team's
 * subgraph, in a composition an operator gave the gateway, has one. Its length is unknown:
 * any assumed size refuses that subgraph's ordinary queries (100 refused two nested lists
 * of five fields at the default QUERY_MAX_COST), while depth, fields and aliases still bound
 * them; the estimate stays exact for our own lists.
 */
const UNDECLARED_LIST_SIZE = 1;

const isObjectList = (field: GraphQLField<unknown, unknown>): boolean =>
  isListType(getNullableType(field.type)) && isCompositeType(getNamedType(field.type));

/**
 * The lists of objects of `schema` that neither {@link LIST_SIZES} nor the connection
 * convention sizes, as `Type.field`, plus fields returning a connection without a `first`
 * argument (their pages would be unbounded). Empty when every list is declared.
 */
export function undeclaredListSizes(schema: GraphQLSchema): string[] {
  const missing: string[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__') || !(isObjectType(type) || isInterfaceType(type))) continue;
    for (const field of Object.values(type.getFields())) {
      const size = sizeOf(type, field);
      const needed = isObjectList(field) || isConnectionType(getNamedType(field.type));
      if (needed && (!size || (size.kind === 'connection') === isObjectList(field))) {
        missing.push(`${type.name}.${field.name}`);
      }
    }
  }
  return missing;
}

/**
 * Refuses to start a service whose schema has a list without a declared size: one sentence
 * naming the fields and where to declare them.
 */
export function assertListSizesDeclared(schema: GraphQLSchema, what: string): void {
  const missing = undeclaredListSizes(schema);
  if (missing.length > 0) {
    throw new Error(
      `In ${what}, these lists have no declared size for the query cost limit: ` +
        `${missing.join(', ')}; bound them in their resolvers and add them to LIST_SIZES ` +
        'in runtime/query-limits.ts',
    );
  }
}

/**
 * Introspection root fields (`__schema`, `__type`) one operation may select. Sandbox, GraphiQL
 * and codegen send one `__schema`; hundreds of aliased copies, each the whole schema, blocked
 * the process for seconds.
 */
export const MAX_INTROSPECTION_FIELDS = 2;

/** Thrown inside the walk to stop at the first limit exceeded. */
class LimitExceeded extends Error {}

/** What a selection set costs; fragments are measured once and reused at every spread. */
interface Measure {
  /** Levels of fields below (and including) this selection set. */
  depth: number;
  fields: number;
  aliases: number;
  /** Estimated result size, except the `edges` of a connection... */
  cost: number;
  /** ...whose cost is per item of the page the enclosing field asked for. */
  perPageItem: number;
  /** Introspection root fields (`__schema`, `__type`). */
  introspection: number;
}

const tooComplex = (message: string): GraphQLError =>
  new GraphQLError(message, {
    extensions: { code: 'QUERY_TOO_COMPLEX', http: { status: 400 } },
  });

function selectedOperation(
  document: DocumentNode,
  operationName: string | null | undefined,
): OperationDefinitionNode | undefined {
  const operations = document.definitions.filter(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
  );
  if (operationName) return operations.find((o) => o.name?.value === operationName);
  return operations.length === 1 ? operations[0] : undefined;
}

/**
 * Checks one operation against the shape limits: depth, field selections, aliases and the
 * estimated result size (each field counts 1, times the sizes of the lists around it: page
 * arguments such as `first`/`limit`, taken from `variables` when they are variables, or the
 * declared maximum of {@link LIST_SIZES}). `__typename` counts as any scalar field; the
 * introspection fields `__schema` and `__type` count as fields too, at most
 * {@link MAX_INTROSPECTION_FIELDS} of them. Each fragment is measured once however often it
 * is spread, and the walk stops at the first limit exceeded, so the check is linear in the
 * document. `@skip`/`@include` are honoured. Fragment cycles (invalid) are not followed.
 * First of all, `variables` are held to {@link checkVariablesDepth}.
 *
 * @returns a `QUERY_TOO_COMPLEX` error naming the limit and its value (`BAD_USER_INPUT` for
 *   variables nested too deep), or null within them (and when the document has no such
 *   operation: execution reports that).
 */
export function checkOperationLimits(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Record<string, unknown> | null | undefined,
  limits: OperationLimits,
): GraphQLError | null {
  return (
    checkVariablesDepth(variables) ??
    measureOperation(schema, document, operationName, variables, limits)
  );
}

/** {@link checkOperationLimits} but the variables' depth, which the caller checked. */
function measureOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Record<string, unknown> | null | undefined,
  limits: OperationLimits,
): GraphQLError | null {
  const operation = selectedOperation(document, operationName);
  if (!operation) return null;
  const rootType =
    operation.operation === OperationTypeNode.QUERY
      ? schema.getQueryType()
      : operation.operation === OperationTypeNode.MUTATION
        ? schema.getMutationType()
        : schema.getSubscriptionType();
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) {
    if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  }
  const vars = variables ?? {};
  const variableDefaults = new Map<string, ValueNode>();
  for (const def of operation.variableDefinitions ?? []) {
    if (def.defaultValue) variableDefaults.set(def.variable.name.value, def.defaultValue);
  }
  /** An argument's value: the variable's value, its default, or the literal. */
  const valueOf = (node: ValueNode): unknown => {
    if (node.kind === Kind.VARIABLE) {
      const name = node.name.value;
      if (Object.hasOwn(vars, name)) return vars[name];
      const fallback = variableDefaults.get(name);
      return fallback ? valueFromASTUntyped(fallback) : undefined;
    }
    return valueFromASTUntyped(node, vars);
  };
  const included = (node: SelectionNode): boolean => {
    for (const directive of node.directives ?? []) {
      const name = directive.name.value;
      if (name !== 'skip' && name !== 'include') continue;
      const arg = directive.arguments?.find((a) => a.name.value === 'if');
      if (!arg) continue;
      const value = valueOf(arg.value);
      if (name === 'skip' && value === true) return false;
      if (name === 'include' && value === false) return false;
    }
    return true;
  };
  const argument = (
    node: FieldNode,
    field: GraphQLField<unknown, unknown> | undefined,
    name: string,
  ): unknown => {
    const given = node.arguments?.find((a) => a.name.value === name);
    if (given) {
      const value = valueOf(given.value);
      if (value !== undefined && value !== null) return value;
    }
    return field?.args.find((a) => a.name === name)?.defaultValue;
  };
  const sliced = (value: unknown, fallback: number, max: number): number =>
    typeof value === 'number' && Number.isFinite(value)
      ? Math.min(max, Math.max(1, Math.floor(value)))
      : fallback;

  const nothing = (): Measure => ({
    depth: 0,
    fields: 0,
    aliases: 0,
    cost: 0,
    perPageItem: 0,
    introspection: 0,
  });
  const fail = (message: string): never => {
    throw new LimitExceeded(message);
  };
  const tooDeep = () =>
    fail(
      `The operation nests fields deeper than the limit of ${limits.maxDepth} levels (QUERY_MAX_DEPTH)`,
    );
  // Fields entered and not yet left: the walk follows real paths of the operation, so this
  // passing the limit is the operation passing it (and the recursion stays shallow).
  let nesting = 0;
  // Inside `__schema`/`__type`, where depth is not limited (see measureIntrospection).
  let introspecting = false;
  const checkPartial = (m: Measure): void => {
    if (m.depth > limits.maxDepth && !introspecting) tooDeep();
    if (m.fields > limits.maxFields) {
      fail(
        `The operation selects more than the limit of ${limits.maxFields} fields (QUERY_MAX_FIELDS)`,
      );
    }
    if (m.aliases > limits.maxAliases) {
      fail(
        `The operation uses more than the limit of ${limits.maxAliases} aliases (QUERY_MAX_ALIASES)`,
      );
    }
    if (m.introspection > MAX_INTROSPECTION_FIELDS) {
      fail(
        `The operation selects more than the limit of ${MAX_INTROSPECTION_FIELDS} ` +
          'introspection fields (__schema, __type)',
      );
    }
    // Every list counts at least one item, so a part over the limit sinks the whole.
    if (m.cost + m.perPageItem > limits.maxCost) {
      fail(
        `The operation's estimated result size is over the limit of ${limits.maxCost} ` +
          '(QUERY_MAX_COST): every field counts once per item of the lists around it; ' +
          'ask for smaller pages (first, limit) or fewer nested lists',
      );
    }
  };

  const fragmentMeasures = new Map<string, Measure | 'measuring'>();

  const measureSet = (set: SelectionSetNode, type: GraphQLCompositeType | undefined): Measure => {
    const total = nothing();
    const add = (m: Measure) => {
      total.depth = Math.max(total.depth, m.depth);
      total.fields += m.fields;
      total.aliases += m.aliases;
      total.cost += m.cost;
      total.perPageItem += m.perPageItem;
      total.introspection += m.introspection;
      checkPartial(total);
    };
    for (const selection of set.selections) {
      if (!included(selection)) continue;
      if (selection.kind === Kind.FIELD) {
        add(measureField(selection, type));
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const condition = selection.typeCondition
          ? schema.getType(selection.typeCondition.name.value)
          : type;
        add(
          measureSet(
            selection.selectionSet,
            condition && isCompositeType(condition) ? condition : undefined,
          ),
        );
      } else {
        const measured = measureFragment(selection.name.value);
        if (measured) add(measured);
      }
    }
    return total;
  };

  const measureFragment = (name: string): Measure | undefined => {
    const known = fragmentMeasures.get(name);
    if (known === 'measuring') return undefined; // a cycle: invalid, validation reports it
    if (known) return known;
    const fragment = fragments.get(name);
    if (!fragment) return undefined;
    fragmentMeasures.set(name, 'measuring');
    const type = schema.getType(fragment.typeCondition.name.value);
    const measured = measureSet(
      fragment.selectionSet,
      type && isCompositeType(type) ? type : undefined,
    );
    fragmentMeasures.set(name, measured);
    return measured;
  };

  /**
   * `__schema` and `__type`: each counts as a field (and an alias), at most
   * {@link MAX_INTROSPECTION_FIELDS} of them, and what they select counts toward fields,
   * aliases and cost (their lists are unsized: one item). Not toward depth: the standard
   * introspection query nests 15 levels (`ofType` in `ofType`), deeper than the partner
   * graph's 8, and graphql-js's MaxIntrospectionDepthRule already refuses the nestings that
   * multiply (`fields { type { fields …`).
   */
  const measureIntrospection = (node: FieldNode, aliases: number): Measure => {
    const outer = introspecting;
    introspecting = true;
    const child = node.selectionSet ? measureSet(node.selectionSet, undefined) : nothing();
    introspecting = outer;
    return {
      depth: 1,
      fields: child.fields + 1,
      aliases: child.aliases + aliases,
      cost: 1 + child.cost + child.perPageItem,
      perPageItem: 0,
      introspection: child.introspection + 1,
    };
  };

  const measureField = (node: FieldNode, parent: GraphQLCompositeType | undefined): Measure => {
    const name = node.name.value;
    // `__typename` is any other scalar field: aliased 1,600 times under a list of seats, it
    // was once free of every limit.
    const aliases = node.alias && node.alias.value !== name ? 1 : 0;
    if (name === '__schema' || name === '__type') return measureIntrospection(node, aliases);
    const field =
      parent && (isObjectType(parent) || isInterfaceType(parent))
        ? parent.getFields()[name]
        : undefined;
    // This field sits at level nesting + 1.
    if (nesting >= limits.maxDepth && !introspecting) tooDeep();
    if (!node.selectionSet) return { ...nothing(), depth: 1, fields: 1, aliases, cost: 1 };
    const returned = field ? getNamedType(field.type) : undefined;
    nesting += 1;
    const child = measureSet(
      node.selectionSet,
      returned && isCompositeType(returned) ? returned : undefined,
    );
    nesting -= 1;
    const declared = parent && field ? sizeOf(parent, field) : undefined;
    let items = 1;
    let page = 1;
    if (field && isObjectList(field)) {
      if (!declared) items = UNDECLARED_LIST_SIZE;
      else if (declared.kind === 'fixed') items = declared.size;
      else if (declared.kind === 'argument') {
        items = sliced(argument(node, field, declared.argument), declared.default, declared.max);
      } else if (declared.kind === 'argumentLength') {
        const list = argument(node, field, declared.argument);
        items = Math.max(1, Array.isArray(list) ? list.length : 1);
      }
    }
    if (declared?.kind === 'connection') {
      page = sliced(argument(node, field, declared.argument), declared.default, declared.max);
    }
    const inner = child.cost + page * child.perPageItem;
    const measured: Measure = {
      depth: child.depth + 1,
      fields: child.fields + 1,
      aliases: child.aliases + aliases,
      cost: 1,
      perPageItem: 0,
      introspection: child.introspection,
    };
    // A connection's edges cost per item of the page the field above asked for.
    if (declared?.kind === 'page') measured.perPageItem = inner;
    else measured.cost += items * inner;
    return measured;
  };

  try {
    const root = measureSet(operation.selectionSet, rootType ?? undefined);
    checkPartial(root);
    return null;
  } catch (error) {
    if (error instanceof LimitExceeded) return tooComplex(error.message);
    // Out of stack: fragments spreading fragments thousands deep (with a raised token limit).
    if (error instanceof RangeError) return tooComplex('The operation nests fragments too deeply');
    throw error;
  }
}

/** Fragment definitions one document may hold. */
export const MAX_FRAGMENTS = 100;
/**
 * Fragments one chain of spreads may pass through (an operation spreads F1, F1 spreads F2…).
 * The introspection query chains 3 (FullType, InputValue, TypeRef); colocated fragments of a
 * component tree rarely 10.
 */
export const MAX_FRAGMENT_CHAIN = 16;

/**
 * What graphql-js's OverlappingFieldsCanBeMergedRule may spend validating one document, in
 * comparisons of two fields with sub-selections ({@link estimateFieldComparisons}): one costs
 * about half a microsecond here (a conflict one to two), so the documents within the limit
 * validate in a few milliseconds. Clients' documents estimate hundreds at most (Apollo
 * Client's, `__typename` and `id` in every fragment: a movie page of 30 fragments side by side
 * 430, a seat page of 15 fragments each reading the movie and hall again 630); the contract's
 * operations and the introspection query none. 600 copies of `showtimes { id }` in one
 * selection set estimate 190,000 (200 ms).
 */
export const MAX_FIELD_COMPARISONS = 5_000;

/**
 * Two leaves of one field on one type, without arguments (`id` and `id` in fragments on
 * Movie, `__typename` anywhere): the rule compares them by reference, 20 ns, against 500 ns
 * for two fields with sub-selections (measured on graphql-js 16.15). Any other two leaves it
 * compares by name, arguments and type, and conflicting ones (`a: id` and `a: title`, or one
 * field on two types returning different types) cost a conflict each: they weigh 1.
 */
const SAME_LEAF_PAIR = 1 / 16;
/**
 * One response name looked up when the rule matches the fields of two selection sets, and
 * one field tally merged by the estimate itself (which bounds the estimate's own time).
 */
const NAME_LOOKUP = 1 / 16;

/**
 * Fields of one response name and one group: one field (by name) under one type condition
 * (`Movie.id`, '' for the type of the field above; `__typename` is one group anywhere). Two
 * of a group return one type, so their sub-selections are the same types and the leaves there
 * compare by reference: they weigh `same` against each other, `other` against anything else.
 */
interface Group {
  count: number;
  same: number;
  other: number;
}

/** The fields under one response name at one level. */
interface Tally {
  count: number;
  /**
   * Σ of their weights where they meet the fields of another parent of the parent's group:
   * `same` for a field that can meet only its own kind there (unaliased, under no type
   * condition), `other` for the rest.
   */
  aligned: number;
  /** Σ `other`. */
  other: number;
  readonly groups: Map<string, Group>;
}

/**
 * One level's fields by response name. A field selecting this level weighs 1 + `aligned`
 * against the same field of its type, and 1 + `other` against any other. Comparing its
 * same-named fields pairwise costs at most (other − otherWithinGroups + sameWithinGroups) / 2.
 */
interface Level {
  readonly names: Map<string, Tally>;
  /** Σ count × aligned over names. */
  aligned: number;
  /** Σ count × other over names. */
  other: number;
  /** Σ count × other over groups. */
  otherWithinGroups: number;
  /** Σ (count − 1) × same over groups. */
  sameWithinGroups: number;
}

const emptyLevel = (): Level => ({
  names: new Map(),
  aligned: 0,
  other: 0,
  otherWithinGroups: 0,
  sameWithinGroups: 0,
});

/** What comparing a level's same-named fields pairwise costs at most (see {@link Level}). */
const pairsCost = (level: Omit<Level, 'names'>): number =>
  (level.other - level.otherWithinGroups + level.sameWithinGroups) / 2;

/** `level`'s tally of `name`, new if it has none (its sums are {@link sumUp}'s). */
function tallyOf(level: Level, name: string): Tally {
  let tally = level.names.get(name);
  if (!tally) {
    tally = { count: 0, aligned: 0, other: 0, groups: new Map() };
    level.names.set(name, tally);
  }
  return tally;
}

function addToGroup(tally: Tally, key: string, { count, same, other }: Group): void {
  const group = tally.groups.get(key);
  if (group) {
    group.count += count;
    group.same += same;
    group.other += other;
  } else {
    tally.groups.set(key, { count, same, other });
  }
}

/** Fills in `level`'s sums from its names. */
function sumUp(level: Level): Level {
  for (const tally of level.names.values()) {
    level.aligned += tally.count * tally.aligned;
    level.other += tally.count * tally.other;
    for (const { count, same, other } of tally.groups.values()) {
      level.otherWithinGroups += count * other;
      level.sameWithinGroups += (count - 1) * same;
    }
  }
  return level;
}

/**
 * Estimates what graphql-js's OverlappingFieldsCanBeMergedRule will spend on `document`, in
 * comparisons of two fields with sub-selections, without expanding anything.
 *
 * The rule visits every selection set and compares, for each response name, every pair of
 * the fields there under that name (the set's own, its inline fragments', and those of the
 * fragments spread there, transitively, each fragment once: a "level"); two fields with
 * sub-selections then compare their sub-selections the same way, pair by pair, all the way
 * down. Clients rarely repeat a response name, so this is where the work can explode: 600
 * copies of `showtimes { id }` in one set, or 20 copies of `showtimes` each selecting 20
 * copies of `movie { id }` (1,700 tokens, never more than 20 of a name in a set, but 80,000
 * pairs of `movie` below: 150 ms).
 *
 * A field weighs 1, and with a sub-selection 1 + Σ count × weight over the response names of
 * its level. Comparing two fields, all their pairs below included, costs at most the mean of
 * their weights (Cauchy–Schwarz, level by level), so a level costs at most
 * Σ (count − 1) × weight / 2 over its names. Weights are smaller where the rule compares by
 * reference ({@link SAME_LEAF_PAIR}, see {@link Group}): between fields of one group, and
 * below, for fields that can only meet their own kind (unaliased, under no type condition).
 * Against anything else every leaf below weighs 1, whatever it meets (a field on another type
 * may return other types there: `status` of a booking and of a movie conflict). Pairs the
 * rule never makes are left out (within one fragment, which it compares where the fragment
 * is defined; in a set of a single spread), and the names it looks up are counted
 * ({@link NAME_LOOKUP}). Pairs it skips by memoising, and `@skip`/`@include` (validation
 * ignores them), count as made. Where a field of its own kind meets another below (`id` and
 * `id: format`), the bound is the geometric mean of their weights, not the arithmetic: a
 * document built for it can cost up to 4 times its estimate (conflicts, so invalid anyway).
 *
 * Each selection set is measured once, bottom-up and iteratively (the parser allows
 * thousands of levels), each fragment once, and each distinct set of fragments spread
 * together merged once. Spreads of unknown fragments and cycles are not followed.
 *
 * @param stopAbove stop as soon as the estimate is over this (it then returns more).
 */
export function estimateFieldComparisons(
  document: DocumentNode,
  stopAbove: number = Infinity,
): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) {
    if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  }
  let comparisons = 0;
  const spend = (amount: number): void => {
    comparisons += amount;
    if (comparisons > stopAbove) throw new LimitExceeded();
  };

  /** A fragment's own level (inline fragments in, spreads out) and the fragments it brings. */
  interface FragmentTally {
    readonly own: Level;
    /** Itself and the fragments spread at its level, transitively: sorted, each once. */
    readonly closure: readonly string[];
  }
  const fragmentTallies = new Map<string, FragmentTally | 'visiting'>();
  /** The levels of fragments spread together, by their sorted names, each merged once. */
  const merged = new Map<string, { level: Level; withinFragments: number }>();
  /** The sums of the level of each selection set measured: what its field weighs. */
  const levels = new Map<SelectionSetNode, { aligned: number; other: number }>();
  /** The fragments brought by spreading several together, by their sorted names. */
  const unions = new Map<string, readonly string[]>();

  const fragmentTally = (name: string): FragmentTally | undefined => {
    const known = fragmentTallies.get(name);
    if (known === 'visiting') return undefined; // a cycle: invalid, validation reports it
    if (known) return known;
    const fragment = fragments.get(name);
    if (!fragment) return undefined;
    fragmentTallies.set(name, 'visiting');
    const { own, brought } = measure(fragment.selectionSet, fragment.typeCondition.name.value);
    const tally = { own, closure: [...new Set([name, ...brought])].sort() };
    fragmentTallies.set(name, tally);
    return tally;
  };

  const levelOf = (members: readonly string[]): { level: Level; withinFragments: number } => {
    const key = members.join(' ');
    const known = merged.get(key);
    if (known) return known;
    if (members.length === 1) {
      const { own } = fragmentTally(members[0])!;
      const result = { level: own, withinFragments: pairsCost(own) };
      merged.set(key, result);
      return result;
    }
    const level = emptyLevel();
    let withinFragments = 0;
    let entries = 0;
    for (const member of members) {
      const { own } = fragmentTally(member)!; // closures hold measured fragments only
      withinFragments += pairsCost(own);
      for (const [name, { count, aligned, other, groups }] of own.names) {
        const tally = tallyOf(level, name);
        tally.count += count;
        tally.aligned += aligned;
        tally.other += other;
        for (const [key, group] of groups) addToGroup(tally, key, group);
        entries += 1 + groups.size;
      }
    }
    // Merging, and the rule matching the fragments' fields, about half of them against each
    // other, a name at a time.
    spend((NAME_LOOKUP * entries * (members.length + 1)) / 2);
    const result = { level: sumUp(level), withinFragments };
    merged.set(key, result);
    return result;
  };

  interface Frame {
    readonly set: SelectionSetNode;
    /** The type condition its own fields are under ('' for the type of the field above). */
    readonly on: string;
    /** This level's own fields, the set's and its inline fragments', with their conditions. */
    readonly fields: { readonly field: FieldNode; readonly on: string }[];
    readonly spreads: Set<string>;
    expanded: boolean;
  }
  const frame = (set: SelectionSetNode, on: string): Frame => ({
    set,
    on,
    fields: [],
    spreads: new Set(),
    expanded: false,
  });

  /** Adds `field`, under type condition `on`, to `level` (see {@link Group}). */
  const addField = (level: Level, field: FieldNode, on: string): void => {
    const name = field.name.value;
    const unaliased = !field.alias || field.alias.value === name;
    let same = 1;
    let other = 1;
    if (field.selectionSet) {
      const below = levels.get(field.selectionSet) ?? { aligned: 0, other: 0 };
      same = 1 + below.aligned;
      other = 1 + below.other;
    } else if (!field.arguments?.length) {
      same = SAME_LEAF_PAIR;
    }
    const tally = tallyOf(level, field.alias?.value ?? name);
    tally.count += 1;
    // Below a pair of parents of one group, only its own kind can meet it.
    tally.aligned += unaliased && (on === '' || name === '__typename') ? same : other;
    tally.other += other;
    addToGroup(tally, name === '__typename' ? name : `${on}.${name}`, { count: 1, same, other });
  };

  /**
   * Measures `root` and every selection set below it, spending what the rule compares in
   * each; returns the root's own level and the fragments spread at its level.
   */
  const measure = (
    root: SelectionSetNode,
    on: string,
  ): { own: Level; brought: readonly string[] } => {
    let result: { own: Level; brought: readonly string[] } | undefined;
    const stack = [frame(root, on)];
    while (stack.length > 0) {
      const current = stack[stack.length - 1];
      if (!current.expanded) {
        // First the selection sets of its fields (above it on the stack, measured first).
        current.expanded = true;
        const pending = [{ set: current.set, on: current.on }];
        for (let next = pending.pop(); next; next = pending.pop()) {
          for (const selection of next.set.selections) {
            if (selection.kind === Kind.FIELD) {
              current.fields.push({ field: selection, on: next.on });
              if (selection.selectionSet) stack.push(frame(selection.selectionSet, ''));
            } else if (selection.kind === Kind.INLINE_FRAGMENT) {
              const condition = selection.typeCondition?.name.value ?? next.on;
              pending.push({ set: selection.selectionSet, on: condition });
            } else {
              current.spreads.add(selection.name.value);
            }
          }
        }
        continue;
      }
      stack.pop();
      const own = emptyLevel();
      for (const { field, on: condition } of current.fields) addField(own, field, condition);
      sumUp(own);

      let brought: readonly string[] = [];
      if (current.spreads.size === 1) {
        brought = fragmentTally([...current.spreads][0])?.closure ?? [];
      } else if (current.spreads.size > 1) {
        const spreads = [...current.spreads].sort().join(' ');
        brought = unions.get(spreads) ?? [];
        if (!unions.has(spreads)) {
          const union = new Set<string>();
          for (const name of current.spreads) {
            const closure = fragmentTally(name)?.closure ?? [];
            for (const member of closure) union.add(member);
            spend(NAME_LOOKUP * closure.length);
          }
          brought = [...union].sort();
          unions.set(spreads, brought);
        }
      }
      const sums = { ...own };
      let withinFragments = 0;
      if (brought.length > 0) {
        const fromFragments = levelOf(brought);
        const { level } = fromFragments;
        withinFragments = fromFragments.withinFragments;
        sums.aligned += level.aligned;
        sums.other += level.other;
        sums.otherWithinGroups += level.otherWithinGroups;
        sums.sameWithinGroups += level.sameWithinGroups;
        // (a + b)(x + y) = ax + by + (ay + bx): the pairs across own fields and fragments.
        for (const [name, mine] of own.names) {
          const theirs = level.names.get(name);
          if (!theirs) continue;
          sums.aligned += mine.count * theirs.aligned + theirs.count * mine.aligned;
          sums.other += mine.count * theirs.other + theirs.count * mine.other;
          for (const [key, a] of mine.groups) {
            const b = theirs.groups.get(key);
            if (!b) continue;
            sums.otherWithinGroups += a.count * b.other + b.count * a.other;
            sums.sameWithinGroups += a.count * b.same + b.count * a.same;
          }
        }
      }
      levels.set(current.set, { aligned: sums.aligned, other: sums.other });
      // The rule skips a set of one selection unless it is an inline fragment.
      const { selections } = current.set;
      if (selections.length > 1 || selections[0]?.kind === Kind.INLINE_FRAGMENT) {
        spend(pairsCost(sums) - withinFragments + NAME_LOOKUP * own.names.size * brought.length);
      }
      if (current.set === root) result = { own, brought };
    }
    return result!;
  };

  try {
    for (const def of document.definitions) {
      if (def.kind === Kind.OPERATION_DEFINITION) measure(def.selectionSet, '');
      else if (def.kind !== Kind.FRAGMENT_DEFINITION) continue;
      // The rule visits every definition, a second one of the same name too.
      else if (fragments.get(def.name.value) === def) fragmentTally(def.name.value);
      else measure(def.selectionSet, def.typeCondition.name.value);
    }
  } catch (error) {
    if (!(error instanceof LimitExceeded)) throw error;
  }
  return comparisons;
}

/**
 * Checks a parsed document BEFORE it is validated: at most {@link MAX_FRAGMENTS} fragment
 * definitions, no chain of spreads through more than {@link MAX_FRAGMENT_CHAIN} fragments,
 * and same-named fields repeated no more than validating them allows
 * ({@link MAX_FIELD_COMPARISONS}, see {@link estimateFieldComparisons}). graphql-js's
 * validation compares fragments along chains and same-named fields pairwise
 * (OverlappingFieldsCanBeMergedRule above all): 500 fragments each spreading the next, 18 KB
 * within the token limit, took about a second of CPU, and 600 copies of `showtimes { id }`
 * 200 ms, before {@link checkOperationLimits} could run, which runs after validation. Within
 * these limits validating takes a few milliseconds.
 *
 * Linear in the document (up to merging the fields of fragments spread together, which the
 * comparison limit bounds too) and iterative over its nesting (the parser allows thousands of
 * levels). Spreads of unknown fragments and cycles are not followed: validation reports them.
 *
 * @returns a `QUERY_TOO_COMPLEX` error naming the limit, or null within them.
 */
export function checkFragmentLimits(document: DocumentNode): GraphQLError | null {
  return checkFragmentChains(document) ?? checkFieldComparisons(document);
}

function checkFieldComparisons(document: DocumentNode): GraphQLError | null {
  if (estimateFieldComparisons(document, MAX_FIELD_COMPARISONS) <= MAX_FIELD_COMPARISONS) {
    return null;
  }
  return tooComplex(
    'The document repeats fields under one response name more than validation allows: ' +
      'comparing them pairwise, fragments expanded and sub-selections in turn, would take ' +
      `over the limit of ${MAX_FIELD_COMPARISONS} comparisons; select each field once per ` +
      'selection set, or give the copies different aliases',
  );
}

/** {@link checkFragmentLimits}' limits on fragment definitions and chains of spreads. */
function checkFragmentChains(document: DocumentNode): GraphQLError | null {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) {
    if (def.kind !== Kind.FRAGMENT_DEFINITION) continue;
    fragments.set(def.name.value, def);
    if (fragments.size > MAX_FRAGMENTS) {
      return tooComplex(`The document defines more than the limit of ${MAX_FRAGMENTS} fragments`);
    }
  }
  if (fragments.size === 0) return null;
  /** The fragments a selection set spreads, at any nesting (inline fragments included). */
  const spreadsOf = (root: SelectionSetNode): Set<string> => {
    const names = new Set<string>();
    const pending = [root];
    for (let set = pending.pop(); set; set = pending.pop()) {
      for (const selection of set.selections) {
        if (selection.kind === Kind.FRAGMENT_SPREAD) names.add(selection.name.value);
        else if (selection.selectionSet) pending.push(selection.selectionSet);
      }
    }
    return names;
  };
  // The longest chain from each fragment, itself included. Recursion at most MAX_FRAGMENTS
  // deep: a fragment on the current path is a cycle, not followed.
  const chains = new Map<string, number | 'visiting'>();
  const chainFrom = (name: string): number => {
    const known = chains.get(name);
    if (known === 'visiting') return 0;
    if (known !== undefined) return known;
    const fragment = fragments.get(name);
    if (!fragment) return 0;
    chains.set(name, 'visiting');
    let longest = 0;
    for (const next of spreadsOf(fragment.selectionSet)) {
      longest = Math.max(longest, chainFrom(next));
    }
    chains.set(name, longest + 1);
    return longest + 1;
  };
  for (const name of fragments.keys()) {
    if (chainFrom(name) > MAX_FRAGMENT_CHAIN) {
      return tooComplex(
        `The document chains fragment spreads more than the limit of ${MAX_FRAGMENT_CHAIN} ` +
          'fragments deep',
      );
    }
  }
  return null;
}

/** Lists and input objects a variable's value may nest. */
export const MAX_VARIABLE_DEPTH = 64;

/**
 * Refuses variable values that nest lists or objects more than `maxDepth` deep (`{"x": [1]}`
 * nests 1). Runs before anything serializes or coerces them: `JSON.stringify` (the
 * gateway's keys of identical requests in flight, the shape check's memo) recurses, and a
 * 10 KB body of 5,000 nested lists made it throw "Maximum call stack size exceeded", a 500.
 * Iterative, so the check cannot overflow itself; linear in the values. No input type of
 * ours nests beyond a few levels.
 *
 * @returns `BAD_USER_INPUT` naming the variable, or null.
 */
export function checkVariablesDepth(
  variables: Record<string, unknown> | null | undefined,
  maxDepth: number = MAX_VARIABLE_DEPTH,
): GraphQLError | null {
  if (!variables || typeof variables !== 'object') return null;
  const pending: { value: object; depth: number; variable: string }[] = [];
  for (const [variable, value] of Object.entries(variables)) {
    if (value !== null && typeof value === 'object') pending.push({ value, depth: 1, variable });
  }
  for (let next = pending.pop(); next; next = pending.pop()) {
    const { value, depth, variable } = next;
    if (depth > maxDepth) {
      return new GraphQLError(
        `Variable "$${variable}" nests lists or objects deeper than the limit of ${maxDepth} levels`,
        { extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } } },
      );
    }
    for (const item of Array.isArray(value) ? value : Object.values(value)) {
      if (item !== null && typeof item === 'object') {
        pending.push({ value: item as object, depth: depth + 1, variable });
      }
    }
  }
  return null;
}

/** graphql-js's words when `maxTokens` stops the parser (sic: "more that"). */
const TOKEN_LIMIT_MESSAGE =
  /^Syntax Error: Document contains more tha[nt] (\d+) tokens\. Parsing aborted\.$/;

const tokenLimitMessage = (maxTokens: string | number) =>
  `Syntax Error: the document has more than ${maxTokens} tokens, the limit ` +
  '(QUERY_MAX_TOKENS); parsing stopped';

/**
 * Rewords graphql-js's token-limit syntax error (Apollo's `parseOptions.maxTokens`) into one
 * that names the setting; any other error is returned as it is. For `formatError`.
 */
export function clarifyParseError<E extends { message: string }>(formatted: E): E {
  const match = TOKEN_LIMIT_MESSAGE.exec(formatted.message);
  return match ? { ...formatted, message: tokenLimitMessage(match[1]) } : formatted;
}

/**
 * Parses a document, refusing it beyond `maxTokens` lexical tokens (`GRAPHQL_PARSE_FAILED`),
 * then holds it to {@link checkFragmentLimits} (`QUERY_TOO_COMPLEX`), before anyone
 * validates it: the graphql-ws paths call this, then `validate`.
 *
 * @throws the `GraphQLError` refusing the document.
 */
export function parseWithLimits(source: string, maxTokens: number): DocumentNode {
  let document: DocumentNode;
  try {
    document = parse(source, { maxTokens });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new GraphQLError(clarifyParseError({ message }).message, {
      extensions: { code: 'GRAPHQL_PARSE_FAILED', http: { status: 400 } },
    });
  }
  const refused = checkFragmentLimits(document);
  if (refused) throw refused;
  return document;
}

/** C0 control characters but tab, line feed and carriage return (NUL among them). */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTER = /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/;

/**
 * Refuses text arguments with control characters (NUL and the other C0 controls but tab,
 * line feed and carriage return): PostgreSQL cannot store NUL, and no name, search or code
 * needs the others. Walks the arguments of the operation and of the fragments it spreads
 * (each once), inline literals and the variables they use alike.
 *
 * @returns `BAD_USER_INPUT` with `extensions.field` naming the innermost argument or input
 *   field at fault, or null.
 */
export function checkTextArguments(
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Record<string, unknown> | null | undefined,
): GraphQLError | null {
  return compileTextArgumentCheck(document, operationName)(variables);
}

/** One text argument to check, in document order: a variable's value, or a bad literal. */
interface TextArgument {
  /** The innermost argument or input field, named in the error. */
  readonly field: string;
  /** The variable whose value is checked; absent: a literal with control characters. */
  readonly variable?: string;
}

/**
 * {@link checkTextArguments} for one document and operation, walked once: the literals are
 * checked now, and what is left per request is the values of the variables the arguments
 * use, in the order the walk meets them (so the same error comes first).
 */
export function compileTextArgumentCheck(
  document: DocumentNode,
  operationName: string | null | undefined,
): (variables: Record<string, unknown> | null | undefined) => GraphQLError | null {
  const operation = selectedOperation(document, operationName);
  if (!operation) return () => null;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) {
    if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  }
  const checks: TextArgument[] = [];
  const collect = (node: ValueNode, field: string): void => {
    switch (node.kind) {
      case Kind.STRING:
        if (CONTROL_CHARACTER.test(node.value)) checks.push({ field });
        return;
      case Kind.VARIABLE:
        checks.push({ field, variable: node.name.value });
        return;
      case Kind.LIST:
        for (const item of node.values) collect(item, field);
        return;
      case Kind.OBJECT:
        for (const item of node.fields) collect(item.value, item.name.value);
        return;
      default:
        return;
    }
  };
  const visited = new Set<string>();
  const walk = (set: SelectionSetNode): void => {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        for (const arg of selection.arguments ?? []) collect(arg.value, arg.name.value);
        if (selection.selectionSet) walk(selection.selectionSet);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        walk(selection.selectionSet);
      } else if (!visited.has(selection.name.value)) {
        visited.add(selection.name.value);
        const fragment = fragments.get(selection.name.value);
        if (fragment) walk(fragment.selectionSet);
      }
    }
  };
  walk(operation.selectionSet);

  const refuse = (field: string): never => {
    throw new GraphQLError(`${field} must not contain control characters`, {
      extensions: { code: 'BAD_USER_INPUT', field, http: { status: 400 } },
    });
  };
  // Variable values are plain JSON: strings, lists and input objects.
  const checkValue = (value: unknown, field: string, depth = 0): void => {
    if (depth > MAX_VARIABLE_DEPTH) return; // checkVariablesDepth refuses these first
    if (typeof value === 'string') {
      if (CONTROL_CHARACTER.test(value)) refuse(field);
    } else if (Array.isArray(value)) {
      for (const item of value) checkValue(item, field, depth + 1);
    } else if (value && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) checkValue(item, key, depth + 1);
    }
  };
  return (variables) => {
    const vars = variables ?? {};
    try {
      for (const { field, variable } of checks) {
        if (variable === undefined) refuse(field);
        else if (Object.hasOwn(vars, variable)) checkValue(vars[variable], field);
      }
      return null;
    } catch (error) {
      if (error instanceof GraphQLError) return error;
      throw error;
    }
  };
}

/** Results a document keeps, over all the variable values it was checked with. */
const CHECKS_KEPT_PER_DOCUMENT = 64;

/**
 * The shape check's results for one document, schema and operation name, and its text check
 * compiled. The shape check reads the document and some variables (page sizes,
 * `@skip`/`@include`) and nothing else: a run is remembered with the names of the variables
 * it read and their values, and a later request with the same values for those names would
 * take exactly the same path, so it gets the same result without the walk.
 */
class CheckMemo {
  readonly checkText: ReturnType<typeof compileTextArgumentCheck>;

  /** Names read, joined → (their values as JSON → the result). */
  private readonly byNames = new Map<
    string,
    { names: string[]; results: Map<string, GraphQLError | null> }
  >();
  private kept = 0;

  constructor(
    readonly schema: GraphQLSchema,
    readonly document: DocumentNode,
    readonly operationName: string | null | undefined,
  ) {
    this.checkText = compileTextArgumentCheck(document, operationName);
  }

  private static valuesKey(names: readonly string[], variables: Record<string, unknown>): string {
    // A name absent and a name present are told apart: [value] or 0.
    return JSON.stringify(names.map((n) => (Object.hasOwn(variables, n) ? [variables[n]] : 0)));
  }

  lookup(variables: Record<string, unknown>): { result: GraphQLError | null } | undefined {
    for (const { names, results } of this.byNames.values()) {
      const result = results.get(CheckMemo.valuesKey(names, variables));
      if (result !== undefined) return { result };
    }
    return undefined;
  }

  remember(names: string[], variables: Record<string, unknown>, result: GraphQLError | null) {
    if (this.kept >= CHECKS_KEPT_PER_DOCUMENT) return;
    const signature = names.join('\n');
    let group = this.byNames.get(signature);
    if (!group) {
      group = { names, results: new Map() };
      this.byNames.set(signature, group);
    }
    group.results.set(CheckMemo.valuesKey(names, variables), result);
    this.kept += 1;
  }
}

/** `variables` as the shape check sees them, noting every name it reads. */
function recordingReads(variables: Record<string, unknown>): {
  variables: Record<string, unknown>;
  read: Set<string>;
} {
  const read = new Set<string>();
  const note = (name: string | symbol) => {
    if (typeof name === 'string') read.add(name);
  };
  const proxy = new Proxy(variables, {
    get: (target, name, receiver) => {
      note(name);
      return Reflect.get(target, name, receiver) as unknown;
    },
    has: (target, name) => {
      note(name);
      return Reflect.has(target, name);
    },
    getOwnPropertyDescriptor: (target, name) => {
      note(name);
      return Reflect.getOwnPropertyDescriptor(target, name);
    },
    ownKeys: (target) => {
      // Listing them all: the result depends on every variable.
      for (const name of Reflect.ownKeys(target)) note(name);
      return Reflect.ownKeys(target);
    },
  });
  return { variables: proxy, read };
}

/** What Apollo validates instead of a document refused before validation (see below). */
const REFUSED_STAND_IN: DocumentNode = parse('{ __typename }', { noLocation: true });

/**
 * The Apollo Server plugin every service runs. Before validation it refuses documents over
 * the fragment limits ({@link checkFragmentLimits}); after validation, before anything
 * executes, variables nested too deep ({@link checkVariablesDepth}, `BAD_USER_INPUT`),
 * operations over the shape limits (`QUERY_TOO_COMPLEX`) and text arguments with control
 * characters (`BAD_USER_INPUT`). Parsing is bounded by Apollo's `parseOptions`
 * (`maxTokens`), results by {@link stringifyWithinCap}.
 *
 * Apollo Server (5.x) has no hook that may refuse a request between parsing and validation:
 * an error thrown by `validationDidStart` escapes its pipeline and is answered 500 "Internal
 * server error". So a document over the fragment limits is swapped, in `validationDidStart`,
 * for a stand-in (`{ __typename }`, valid in any schema, validated in microseconds) that
 * carries the refusal, and `didResolveOperation` answers with it (400, `QUERY_TOO_COMPLEX`,
 * through Apollo's error path: formatted, counted by the operation metrics). Apollo keeps
 * validated documents by the hash of their text: a second request with the same text finds
 * the stand-in and is refused the same way. A test pins this behaviour of Apollo Server.
 *
 * A repeated operation's shape is measured once per document and values of the variables
 * the measure reads (see `CheckMemo`), and its text arguments walked once per document (only
 * the variables' values are checked per request): Apollo hands the same parsed document to
 * every request with the same text.
 */
export function operationLimitsPlugin(limits: OperationLimits): ApolloServerPlugin<object> {
  const memos = new WeakMap<DocumentNode, CheckMemo>();
  /** Stand-ins for refused documents (see above), each with its refusal. */
  const refusals = new WeakMap<DocumentNode, GraphQLError>();
  return {
    requestDidStart() {
      return Promise.resolve<GraphQLRequestListener<object>>({
        validationDidStart(requestContext) {
          const refused = checkFragmentLimits(requestContext.document);
          if (refused) {
            // A new document object per refusal: it is the key of its refusal.
            const standIn: DocumentNode = { ...REFUSED_STAND_IN };
            refusals.set(standIn, refused);
            (requestContext as { document: DocumentNode }).document = standIn;
          }
          return Promise.resolve();
        },
        didResolveOperation({ schema, document, operationName, request }) {
          const refused = refusals.get(document);
          if (refused) return Promise.reject(refused);
          const variables = request.variables ?? {};
          // Before the memo, whose key serializes the values it reads.
          const tooDeep = checkVariablesDepth(variables);
          if (tooDeep) return Promise.reject(tooDeep);
          let memo = memos.get(document);
          if (!memo || memo.schema !== schema || memo.operationName !== operationName) {
            memo = new CheckMemo(schema, document, operationName);
            memos.set(document, memo);
          }
          const known = memo.lookup(variables);
          let error: GraphQLError | null;
          if (known) {
            error = known.result;
          } else {
            const recording = recordingReads(variables);
            error = measureOperation(schema, document, operationName, recording.variables, limits);
            memo.remember([...recording.read], variables, error);
          }
          error ??= memo.checkText(variables);
          return error ? Promise.reject(error) : Promise.resolve();
        },
      });
    },
  };
}

/** `2048` → "2048 bytes", `5242880` → "5 MiB". */
export function describeBytes(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

/**
 * Apollo Server's `stringifyResult`, serializing each result once and answering
 * `RESPONSE_TOO_LARGE` (the cap in the message) instead of a body over `maxBytes`.
 *
 * With `shareSerialization`, a result without errors or extensions whose `data` object was
 * serialized already is answered with the same text: the gateway hands one `data` object to
 * every identical query that was in flight at the same time, and serializing it once per
 * request would redo the same work (and garbage) for each.
 */
export function stringifyWithinCap(
  maxBytes: number,
  options: { readonly shareSerialization?: boolean } = {},
): (value: FormattedExecutionResult) => string {
  const tooLarge =
    JSON.stringify({
      errors: [
        {
          message:
            `The response would be over the ${describeBytes(maxBytes)} limit ` +
            '(RESPONSE_MAX_BYTES): ask for less (smaller pages, fewer fields)',
          extensions: { code: 'RESPONSE_TOO_LARGE' },
        },
      ],
    }) + '\n';
  const serialize = (value: FormattedExecutionResult): string => {
    let text: string;
    try {
      text = JSON.stringify(value) + '\n';
    } catch (error) {
      // Beyond the longest string V8 can build: certainly over any cap.
      if (error instanceof RangeError) return tooLarge;
      throw error;
    }
    // UTF-8 takes at most 3 bytes per UTF-16 unit: count bytes only when it could matter.
    if (text.length > maxBytes) return tooLarge;
    if (text.length * 3 > maxBytes && Buffer.byteLength(text) > maxBytes) return tooLarge;
    return text;
  };
  if (!options.shareSerialization) return serialize;
  // Keyed by the data object: the entry goes when the last response holding it does.
  const serialized = new WeakMap<object, string>();
  return (value) => {
    const data = value.errors === undefined && value.extensions === undefined ? value.data : null;
    if (!data || typeof data !== 'object') return serialize(value);
    let text = serialized.get(data);
    if (text === undefined) {
      text = serialize(value);
      serialized.set(data, text);
    }
    return text;
  };
}

/** The body limit of `express.json` on every GraphQL and internal route. */
export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * After `express.json`: a malformed or oversized body gets a GraphQL-shaped JSON error with a
 * code (`BAD_REQUEST` 400, `PAYLOAD_TOO_LARGE` 413), and anything else that reaches Express
 * an `INTERNAL_SERVER_ERROR` 500 (logged): never Express's HTML page with a stack.
 */
export function jsonErrorHandler(log: Pick<Logger, 'error'>): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (res.headersSent) return next(err);
    const type = (err as { type?: unknown }).type;
    const status = Number((err as { status?: unknown }).status);
    let code = 'BAD_REQUEST';
    let message: string;
    let httpStatus = 400;
    if (type === 'entity.too.large') {
      code = 'PAYLOAD_TOO_LARGE';
      httpStatus = 413;
      message = `The request body is over the ${describeBytes(MAX_BODY_BYTES)} limit`;
    } else if (type === 'entity.parse.failed') {
      message = 'The request body is not valid JSON';
    } else if (status >= 400 && status < 500) {
      httpStatus = status;
      message = 'The request body could not be read (check its content type and encoding)';
    } else {
      log.error({ err, path: req.path }, 'request failed');
      code = 'INTERNAL_SERVER_ERROR';
      httpStatus = 500;
      message = 'Internal server error';
    }
    res.status(httpStatus).json({ errors: [{ message, extensions: { code } }] });
  };
}
