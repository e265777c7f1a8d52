import { createHash } from 'node:crypto';
import {
  executeSync,
  getDirectiveValues,
  getNamedType,
  getVariableValues,
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  isAbstractType,
  isCompositeType,
  isInterfaceType,
  isObjectType,
  Kind,
  print,
  valueFromASTUntyped,
  visit,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLNamedType,
  type GraphQLSchema,
  type InlineFragmentNode,
  type NameNode,
  type OperationDefinitionNode,
  type SelectionNode,
  type SelectionSetNode,
  type VariableDefinitionNode,
} from 'graphql';
import { responsePath, type ViewerFieldMap, type ViewerSlot } from './viewer-fields';

/**
 * What one subscriber's primary fetch asks of the subscription's subgraph, in a form where
 * equal requests are equal text: the key under which subscribers share one upstream
 * subscription, and what that upstream is sent.
 */
export interface UpstreamRequest {
  /** The operation sent upstream: aliases, fragments and field order normalised away. */
  readonly query: string;
  /** Its variables, renamed `v0`, `v1`… in order of use and coerced. */
  readonly variables: Record<string, unknown>;
  /**
   * Whether the viewer fields asked for were turned into their hidden sources (false when
   * the request had to be sent as written: then the subgraph answers them for the caller).
   */
  readonly viewerFieldsReplaced: boolean;
  /**
   * One upstream event's `data` in the subscriber's own shape (its aliases, its fragments),
   * always a fresh copy: the executor merges entity data into it. Viewer fields (see
   * `upstreamRequest`) come out `false`; where the event's hidden value was a string, it is
   * pushed to `slots` with the field's path in that shape.
   */
  toSubscriberData(
    data: Record<string, unknown>,
    slots?: ViewerSlot[],
  ): Record<string, unknown> | null;
  /** An upstream error's path in the subscriber's response keys. */
  toSubscriberPath(path: readonly (string | number)[]): (string | number)[];
}

/** JSON with sorted object keys: equal values give equal text. */
export function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => compare(a, b));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const nameNode = (value: string): NameNode => ({ kind: Kind.NAME, value });
const TYPENAME: FieldNode = { kind: Kind.FIELD, name: nameNode('__typename') };
const CONDITIONS = new Set([GraphQLSkipDirective.name, GraphQLIncludeDirective.name]);

interface CanonicalField {
  readonly name: string;
  readonly key: string;
  /** The first node seen with this key: its arguments and directives are the ones printed. */
  readonly node: FieldNode;
  selections?: CanonicalSet;
}

/** One selection set, merged: fields by canonical key, type-conditioned parts by type. */
interface CanonicalSet {
  readonly fields: Map<string, CanonicalField>;
  readonly fragments: Map<string, CanonicalSet>;
}

const newSet = (): CanonicalSet => ({ fields: new Map(), fragments: new Map() });

/**
 * The response key a field gets upstream, from what it asks and nothing the client chose:
 * its name, plus (when it has arguments or directives) a hash of their values. The root
 * field keeps its bare name (a subscription has exactly one), so that upstream error paths
 * read as the client expects in the common case.
 */
function canonicalKey(field: FieldNode, values: Record<string, unknown>, atRoot: boolean): string {
  const name = field.name.value;
  const directives = (field.directives ?? []).filter((d) => !CONDITIONS.has(d.name.value));
  if (atRoot || (!field.arguments?.length && directives.length === 0)) return name;
  const argumentValues = (node: FieldNode | (typeof directives)[number]) =>
    Object.fromEntries(
      (node.arguments ?? []).map((a) => [a.name.value, valueFromASTUntyped(a.value, values)]),
    );
  const identity = stableStringify([
    argumentValues(field),
    directives.map((d) => [d.name.value, argumentValues(d)]),
  ]);
  return `${name}_${createHash('sha256').update(identity).digest('hex').slice(0, 16)}`;
}

function isIncluded(selection: SelectionNode, values: Record<string, unknown>): boolean {
  if (getDirectiveValues(GraphQLSkipDirective, selection, values)?.if === true) return false;
  return getDirectiveValues(GraphQLIncludeDirective, selection, values)?.if !== false;
}

/** The composite type of a field, or undefined when it cannot be told (then assume abstract). */
function compositeFieldType(
  parent: GraphQLNamedType | undefined,
  fieldName: string,
): GraphQLCompositeType | undefined {
  if (!isObjectType(parent) && !isInterfaceType(parent)) return undefined;
  const type = parent.getFields()[fieldName]?.type;
  const named = type ? getNamedType(type) : undefined;
  return isCompositeType(named) ? named : undefined;
}

/** A request sent as the subscriber wrote it (when it cannot be normalised): shared only alike. */
function asWritten(document: DocumentNode, variables: Record<string, unknown>): UpstreamRequest {
  return {
    query: print(document),
    variables,
    viewerFieldsReplaced: false,
    toSubscriberData: (data) => structuredClone(data),
    toSubscriberPath: (path) => [...path],
  };
}

/**
 * Normalises the primary fetch of a planned subscription (`primary.operation`, against the
 * subscription's subgraph) so that requests which differ only in aliases, field order,
 * duplicates, fragments, variable names or `@skip`/`@include` give the same upstream
 * request. Each subscriber then reads every shared event back in its own shape: its
 * document is executed over the event (graphql-js, the supergraph schema, a resolver that
 * reads the canonical keys), which applies its aliases, fragments and conditions exactly as
 * GraphQL does. When no response key differs from the canonical one, the event is only
 * copied.
 *
 * `schema` is the supergraph's (every subgraph type and field); `document` the parsed
 * primary operation (one operation; the planner's own output); `variables` the values it
 * uses. With `viewerFields`, each such field (e.g. `SeatState.heldByMe`) is asked for as its
 * hidden source field instead (`holderTag`), so the upstream answer is the same for every
 * caller, and reads back as `false` plus a slot (see `toSubscriberData`).
 */
export function upstreamRequest(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown>,
  viewerFields?: ViewerFieldMap,
): UpstreamRequest {
  const operation = document.definitions.find(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
  );
  if (!operation) return asWritten(document, variables);
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables);
  if (coerced.errors) return asWritten(document, variables);
  const values = coerced.coerced;

  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) {
    if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  }
  /** The canonical key of every field node of this subscriber's document that is included. */
  const keys = new Map<FieldNode, string>();
  /** Field nodes of viewer fields: read back as `false`, their source value kept aside. */
  const viewerNodes = new Set<FieldNode>();

  const fragmentSet = (into: CanonicalSet, typeName: string): CanonicalSet => {
    let set = into.fragments.get(typeName);
    if (!set) {
      set = newSet();
      into.fragments.set(typeName, set);
    }
    return set;
  };
  const collect = (
    selectionSet: SelectionSetNode,
    parent: GraphQLNamedType | undefined,
    into: CanonicalSet,
    atRoot: boolean,
  ): void => {
    for (const selection of selectionSet.selections) {
      if (!isIncluded(selection, values)) continue;
      if (selection.kind === Kind.FIELD) {
        const source = isObjectType(parent)
          ? viewerFields?.get(parent.name)?.get(selection.name.value)
          : undefined;
        if (source !== undefined) {
          // Asked for as the hidden field, under its own name: arguments and directives
          // of the viewer field mean nothing to it.
          viewerNodes.add(selection);
          keys.set(selection, source);
          if (!into.fields.has(source)) {
            into.fields.set(source, {
              name: source,
              key: source,
              node: { kind: Kind.FIELD, name: nameNode(source) },
            });
          }
          continue;
        }
        const key = canonicalKey(selection, values, atRoot);
        keys.set(selection, key);
        let field = into.fields.get(key);
        if (!field) {
          field = { name: selection.name.value, key, node: selection };
          into.fields.set(key, field);
        }
        if (selection.selectionSet) {
          const type = compositeFieldType(parent, selection.name.value);
          field.selections ??= newSet();
          // Reading an abstract value back needs its runtime type.
          if (!type || isAbstractType(type)) {
            field.selections.fields.set('__typename', {
              name: '__typename',
              key: '__typename',
              node: TYPENAME,
            });
          }
          collect(selection.selectionSet, type, field.selections, false);
        }
      } else {
        const fragment: InlineFragmentNode | FragmentDefinitionNode | undefined =
          selection.kind === Kind.INLINE_FRAGMENT ? selection : fragments.get(selection.name.value);
        if (!fragment) continue;
        const typeName = fragment.typeCondition?.name.value;
        const condition = typeName ? schema.getType(typeName) : parent;
        // A condition the parent's (object) type always meets is no condition: merged in.
        const always =
          !typeName ||
          (isObjectType(parent) &&
            (typeName === parent.name ||
              (isAbstractType(condition) && schema.isSubType(condition, parent))));
        collect(
          fragment.selectionSet,
          always ? parent : condition,
          always ? into : fragmentSet(into, typeName),
          atRoot,
        );
      }
    }
  };
  const root = newSet();
  collect(operation.selectionSet, schema.getRootType(operation.operation) ?? undefined, root, true);

  const toSelectionSet = (set: CanonicalSet): SelectionSetNode => {
    const selections: SelectionNode[] = [...set.fields.values()]
      .sort((a, b) => compare(a.key, b.key))
      .map((field): FieldNode => ({
        kind: Kind.FIELD,
        ...(field.key === field.name ? {} : { alias: nameNode(field.key) }),
        name: nameNode(field.name),
        arguments: [...(field.node.arguments ?? [])].sort((a, b) =>
          compare(a.name.value, b.name.value),
        ),
        directives: (field.node.directives ?? []).filter((d) => !CONDITIONS.has(d.name.value)),
        ...(field.selections ? { selectionSet: toSelectionSet(field.selections) } : {}),
      }));
    for (const [typeName, inner] of [...set.fragments].sort(([a], [b]) => compare(a, b))) {
      if (inner.fields.size + inner.fragments.size === 0) continue;
      selections.push({
        kind: Kind.INLINE_FRAGMENT,
        typeCondition: { kind: Kind.NAMED_TYPE, name: nameNode(typeName) },
        selectionSet: toSelectionSet(inner),
      });
    }
    // Every part may have been skipped: a composite field still needs a selection.
    return { kind: Kind.SELECTION_SET, selections: selections.length ? selections : [TYPENAME] };
  };

  // Variables renamed in order of first use, so that `$id` and `$showtimeId` share.
  const renamed = new Map<string, string>();
  const selectionSet = visit(toSelectionSet(root), {
    Variable(node) {
      let name = renamed.get(node.name.value);
      if (!name) {
        name = `v${renamed.size}`;
        renamed.set(node.name.value, name);
      }
      return { ...node, name: nameNode(name) };
    },
  });
  const definitions = new Map(
    (operation.variableDefinitions ?? []).map((d) => [d.variable.name.value, d]),
  );
  const variableDefinitions: VariableDefinitionNode[] = [];
  const upstreamVariables: Record<string, unknown> = {};
  for (const [original, name] of renamed) {
    const definition = definitions.get(original);
    if (!definition) return asWritten(document, variables);
    variableDefinitions.push({
      ...definition,
      variable: { ...definition.variable, name: nameNode(name) },
    });
    if (values[original] !== undefined) upstreamVariables[name] = values[original];
  }
  const query = print({
    kind: Kind.OPERATION_DEFINITION,
    operation: operation.operation,
    variableDefinitions,
    selectionSet,
  });

  const remapped =
    viewerNodes.size > 0 ||
    [...keys].some(([node, key]) => (node.alias?.value ?? node.name.value) !== key);
  if (!remapped) {
    return {
      query,
      variables: upstreamVariables,
      viewerFieldsReplaced: true,
      toSubscriberData: (data) => structuredClone(data),
      toSubscriberPath: (path) => [...path],
    };
  }

  /** The subscriber's field nodes (fragments entered) whose canonical key is `key`. */
  const fieldsWithKey = (sets: readonly SelectionSetNode[], key: string): FieldNode[] => {
    const found: FieldNode[] = [];
    const visitSet = (set: SelectionSetNode) => {
      for (const selection of set.selections) {
        if (selection.kind === Kind.FIELD) {
          if (keys.get(selection) === key) found.push(selection);
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          visitSet(selection.selectionSet);
        } else {
          const fragment = fragments.get(selection.name.value);
          if (fragment) visitSet(fragment.selectionSet);
        }
      }
    };
    sets.forEach(visitSet);
    return found;
  };

  return {
    query,
    variables: upstreamVariables,
    viewerFieldsReplaced: true,
    toSubscriberData: (data, slots) => {
      // Errors here only restate what the upstream event's own errors say (a null where
      // the schema has none); the data is what matters.
      const result = executeSync({
        schema,
        document,
        rootValue: data,
        variableValues: variables,
        fieldResolver: (source, _args, _context, info) => {
          const node = info.fieldNodes[0];
          const key = keys.get(node) ?? info.fieldName;
          const value = source == null ? null : (source as Record<string, unknown>)[key];
          if (!viewerNodes.has(node)) return value;
          if (typeof value === 'string') slots?.push({ path: responsePath(info.path), value });
          return false;
        },
      });
      return result.data ?? null;
    },
    toSubscriberPath: (path) => {
      let sets: readonly SelectionSetNode[] = [operation.selectionSet];
      return path.map((segment) => {
        if (typeof segment === 'number') return segment;
        const nodes = fieldsWithKey(sets, segment);
        if (nodes.length === 0) {
          sets = [];
          return segment;
        }
        sets = nodes.flatMap((n) => (n.selectionSet ? [n.selectionSet] : []));
        return nodes[0].alias?.value ?? nodes[0].name.value;
      });
    },
  };
}
