import type { FetchNode, PlanNode, SubscriptionNode } from '@apollo/query-planner';
import {
  isObjectType,
  parse,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type ExecutionResult,
  type GraphQLSchema,
} from 'graphql';
import type { PreparedSubscription } from './subscription-plan-cache';

/**
 * Viewer fields are fields whose value depends on who subscribes and nothing else, and that
 * the gateway can compute itself: the subgraph sends a hidden field instead (one clients
 * cannot select, e.g. `@inaccessible`), and each subscriber's value is `true` exactly where
 * that hidden value equals the subscriber's own key. `SeatState.heldByMe` is one: the event
 * carries each held seat's holder tag (`holderTag`), the gateway knows each subscriber's tag.
 * Subscribers then share one upstream subscription and one execution per event whoever they
 * are, and only a subscriber whose key occurs in an event gets a copy of the shared result.
 */

/** Type name → viewer field name → its hidden source field (of the same type). */
export type ViewerFieldMap = ReadonlyMap<string, ReadonlyMap<string, string>>;

/** Where one viewer field sits in a result, and its hidden source value there. */
export interface ViewerSlot {
  readonly path: readonly (string | number)[];
  readonly value: string;
}

/** One event's shared result, and where each key's viewer fields turn `true`. */
export interface SharedViewerResult {
  readonly result: ExecutionResult;
  /** Viewer key → paths (in the result) of the viewer fields that are `true` for it. */
  readonly slots: ReadonlyMap<string, ReadonlyArray<readonly (string | number)[]>>;
}

/** `'SeatState.heldByMe': 'holderTag'` entries as a lookup by type, then field. */
export function viewerFieldMap(fields: Readonly<Record<string, string>>): ViewerFieldMap {
  const map = new Map<string, Map<string, string>>();
  for (const [coordinate, source] of Object.entries(fields)) {
    const [type, field, ...rest] = coordinate.split('.');
    if (!type || !field || rest.length > 0 || !source) {
      throw new Error(`A viewer field is named Type.field, with a source field: ${coordinate}`);
    }
    let fieldsOfType = map.get(type);
    if (!fieldsOfType) {
      fieldsOfType = new Map();
      map.set(type, fieldsOfType);
    }
    fieldsOfType.set(field, source);
  }
  return map;
}

/** A graphql-js response path as an array, root first. */
export function responsePath(path: {
  readonly prev: unknown;
  readonly key: string | number;
}): (string | number)[] {
  const keys: (string | number)[] = [];
  for (
    let at: { prev: unknown; key: string | number } | undefined = path;
    at;
    at = at.prev as typeof at
  ) {
    keys.push(at.key);
  }
  return keys.reverse();
}

/** Every fetch of a plan node. */
export function fetches(
  node: PlanNode | SubscriptionNode | undefined,
  into: FetchNode[] = [],
): FetchNode[] {
  if (!node) return into;
  switch (node.kind) {
    case 'Fetch':
      into.push(node);
      break;
    case 'Flatten':
      fetches(node.node, into);
      break;
    case 'Sequence':
    case 'Parallel':
      for (const child of node.nodes) fetches(child, into);
      break;
    case 'Condition':
      fetches(node.ifClause, into);
      fetches(node.elseClause, into);
      break;
    case 'Defer':
      fetches(node.primary.node, into);
      for (const deferred of node.deferred) fetches(deferred.node, into);
      break;
    case 'Subscription':
      into.push(node.primary);
      fetches(node.rest, into);
      break;
  }
  return into;
}

/** Whether a subgraph operation selects any of the viewer fields. */
function selectsViewerField(
  schema: GraphQLSchema,
  operation: string,
  viewerFields: ViewerFieldMap,
): boolean {
  const typeInfo = new TypeInfo(schema);
  let found = false;
  visit(
    parse(operation),
    visitWithTypeInfo(typeInfo, {
      Field(node) {
        const parent = typeInfo.getParentType();
        if (parent && viewerFields.get(parent.name)?.has(node.name.value)) found = true;
      },
    }),
  );
  return found;
}

/**
 * Whether every subscriber of this plan may share one upstream subscription and one
 * execution per event: the primary's subgraph knows every viewer field's source (in
 * `schema`, the supergraph's), every fetch goes to a subgraph whose answers do not depend on
 * the caller (`publicServices`; the viewer fields aside), and no fetch after the primary
 * selects a viewer field (it would be answered for the shared caller, nobody). When it is
 * not, each caller keeps its own upstream and execution, as without viewer fields.
 */
export function shareableAcrossViewers(
  schema: GraphQLSchema,
  prepared: PreparedSubscription,
  viewerFields: ViewerFieldMap,
  publicServices: ReadonlySet<string>,
): boolean {
  for (const [typeName, fields] of viewerFields) {
    const type = schema.getType(typeName);
    if (!isObjectType(type)) continue;
    for (const source of fields.values()) {
      if (!type.getFields()[source]) return false;
    }
  }
  const all = fetches(prepared.perEventPlan.node);
  return all.every(
    (fetch) =>
      publicServices.has(fetch.serviceName) &&
      (fetch === prepared.primary || !selectsViewerField(schema, fetch.operation, viewerFields)),
  );
}

/** Collects an event's slots by the key whose viewer fields they make `true`. */
export function slotsByKey(
  slots: readonly ViewerSlot[],
): Map<string, ReadonlyArray<readonly (string | number)[]>> {
  const byKey = new Map<string, (readonly (string | number)[])[]>();
  for (const { path, value } of slots) {
    const paths = byKey.get(value);
    if (paths) paths.push(path);
    else byKey.set(value, [path]);
  }
  return byKey;
}

/**
 * The shared result as the subscriber with `key` sees it: the same object when none of its
 * viewer fields is `true` (the common case: everyone who holds none of the event's seats),
 * else a copy in which only the objects and lists on the way to those fields are new.
 * A path that does not lead to a boolean (the shared result nulled it, say) is left alone.
 */
export function personalise(shared: SharedViewerResult, key: string | null): ExecutionResult {
  const paths = key === null ? undefined : shared.slots.get(key);
  if (!paths || !shared.result.data) return shared.result;
  const copies = new Map<object, Record<string | number, unknown>>();
  const copyOf = (value: object): Record<string | number, unknown> => {
    let copy = copies.get(value);
    if (!copy) {
      copy = (Array.isArray(value) ? [...(value as unknown[])] : { ...value }) as Record<
        string | number,
        unknown
      >;
      copies.set(value, copy);
      // A copy is also its own copy: a second path through it writes into it.
      copies.set(copy, copy);
    }
    return copy;
  };
  const data = copyOf(shared.result.data);
  for (const path of paths) {
    let parent = data;
    let ok = path.length > 0;
    for (let i = 0; ok && i < path.length - 1; i++) {
      const child = parent[path[i]];
      if (child === null || typeof child !== 'object') ok = false;
      else {
        const copy = copyOf(child);
        parent[path[i]] = copy;
        parent = copy;
      }
    }
    const last = path[path.length - 1];
    if (ok && typeof parent[last] === 'boolean') parent[last] = true;
  }
  return { ...shared.result, data };
}
