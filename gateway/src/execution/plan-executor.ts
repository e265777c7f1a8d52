import { assert, ERRORS, errorCodeDef, type Operation } from '@apollo/federation-internals';
import type { buildOperationContext, executeQueryPlan, GraphQLDataSource } from '@apollo/gateway';
import { GraphQLDataSourceRequestKind } from '@apollo/gateway/dist/datasources/types';
import { applyRewrites, isObjectOfType } from '@apollo/gateway/dist/dataRewrites';
import { generateHydratedPaths } from '@apollo/gateway/dist/executeQueryPlan';
import { deepMerge } from '@apollo/gateway/dist/utilities/deepMerge';
import {
  evaluateCondition,
  getResponseName,
  type FetchNode,
  type PlanNode,
  type QueryPlan,
  type QueryPlanSelectionNode,
  type ResponsePath,
} from '@apollo/query-planner';
import {
  executeSync,
  GraphQLError,
  Kind,
  OperationTypeNode,
  visit,
  type DocumentNode,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type SelectionNode,
  type VariableDefinitionNode,
} from 'graphql';
import { withoutStackTrace } from '../../../runtime/errors';
import type { ResultShaper } from './result-shaper';

/** A cache of subgraph answers (the catalog cache), as the executor uses it. */
export interface FetchCache {
  /** An answer for the fetch, or where to keep the one fetched; null: not for the cache. */
  lookup(
    fetch: FetchNode,
    variables: Record<string, unknown>,
    supergraphSchema: GraphQLSchema,
  ): Promise<{
    readonly hit?: {
      readonly data: Record<string, unknown>;
      readonly maxAgeSeconds: number;
      readonly expiresAt: number;
      readonly size: number;
    };
    /** Until when the answer is kept (epoch ms) and its length, or null: not kept. */
    store(
      response: Awaited<ReturnType<GraphQLDataSource['process']>>,
    ): { readonly expiresAt: number; readonly size: number } | null;
  } | null>;
  /** The cache's generations now, or null when nothing computed now may be kept. */
  stamp(): string | null;
  /** A whole result was served again from cached answers. */
  countResultHit(): void;
}

/** Whether every fetch of a run was answered by, or kept in, the cache, and until when. */
export interface CacheTrack {
  complete: boolean;
  expiresAt: number;
  /** The cached answers' lengths, summed: about what keeping the result costs. */
  size: number;
}

/**
 * The request context `executeQueryPlan` takes: its type lives in a package `@apollo/gateway`
 * does not export.
 */
export type GatewayRequestContext = Parameters<typeof executeQueryPlan>[2];
export type GatewayExecutionResult = Awaited<ReturnType<typeof executeQueryPlan>>;
export type ServiceMap = Readonly<Record<string, GraphQLDataSource>>;
export type OperationContext = ReturnType<typeof buildOperationContext>;

/** What an operation needs to run, worked out once (see `execution-gateway.ts`). */
export interface PlannedOperation {
  readonly plan: QueryPlan;
  readonly operationContext: OperationContext;
  /** The operation against the API schema: conditions and variable defaults. */
  readonly operation: Operation;
  readonly shaper: ResultShaper;
}

type ResultMap = Record<string, unknown>;

interface ResultCursor {
  readonly path: ResponsePath;
  readonly data: ResultMap | ResultMap[];
  readonly fullResult: ResultMap;
}

interface ExecutionRun {
  readonly planned: PlannedOperation;
  readonly serviceMap: ServiceMap;
  readonly requestContext: GatewayRequestContext;
  readonly supergraphSchema: GraphQLSchema;
  readonly errors: GraphQLError[];
  readonly cache: FetchCache | undefined;
  readonly track: CacheTrack | undefined;
}

/**
 * Runs a query plan: `executeQueryPlan` of `@apollo/gateway` 2.14 (same fetches, same
 * merging, same errors and paths) for an operation planned once, without what it redoes per
 * request: building the operation from the document again, the tracing spans and trace
 * nodes (traces are only captured with usage reporting, which this gateway hands to
 * Apollo's own executor), and shaping by walking the operation (see `result-shaper.ts`).
 */
export async function executePlan(
  planned: PlannedOperation,
  serviceMap: ServiceMap,
  requestContext: GatewayRequestContext,
  supergraphSchema: GraphQLSchema,
  cache?: FetchCache,
  track?: CacheTrack,
): Promise<GatewayExecutionResult> {
  const logger = requestContext.logger || console;
  const run: ExecutionRun = {
    planned,
    serviceMap,
    requestContext,
    supergraphSchema,
    errors: [],
    cache,
    track,
  };
  const unfilteredData = Object.create(null) as ResultMap;
  const node = planned.plan.node;
  if (node?.kind === 'Subscription') {
    throw new Error('Execution of subscriptions not supported by gateway');
  }
  if (node) {
    await executeNode(run, node, { path: [], data: unfilteredData, fullResult: unfilteredData });
  }
  const { errors } = run;
  const variables = requestContext.request.variables;
  try {
    // The completion errors are built only when they are used: with errors from the
    // subgraphs they are dropped (Apollo's rule), and a refused hold's null would build one.
    const shaped = planned.shaper.shape(unfilteredData, variables, (selection) =>
      executeIntrospection(
        planned.operationContext.schema,
        selection,
        planned.operationContext.operation.variableDefinitions,
        variables,
      ),
    );
    const { data } = shaped;
    if (errors.length === 0 && shaped.errors.length > 0) {
      return { extensions: { valueCompletion: shaped.errors }, data };
    }
    return errors.length === 0 ? { data } : { errors, data };
  } catch (error) {
    if (error instanceof GraphQLError) return { errors: [error] };
    if (error instanceof Error) {
      return { errors: [new GraphQLError(error.message, { originalError: error })] };
    }
    logger.error(`Unexpected error during query plan execution: ${String(error)}`);
    return { errors: [new GraphQLError('Unexpected error during query plan execution')] };
  }
}

async function executeNode(
  run: ExecutionRun,
  node: PlanNode,
  cursor: ResultCursor | undefined,
): Promise<void> {
  if (!cursor) return;
  switch (node.kind) {
    case 'Sequence':
      for (const child of node.nodes) await executeNode(run, child, cursor);
      return;
    case 'Parallel':
      await Promise.all(node.nodes.map((child) => executeNode(run, child, cursor)));
      return;
    case 'Flatten':
      return executeNode(run, node.node, moveIntoCursor(cursor, node.path));
    case 'Fetch':
      try {
        await executeFetch(run, node, cursor);
      } catch (error) {
        run.errors.push(error as GraphQLError);
      }
      return;
    case 'Condition': {
      const condition = evaluateCondition(
        node,
        run.planned.operation.variableDefinitions,
        run.requestContext.request.variables,
      );
      const branch = condition ? node.ifClause : node.elseClause;
      if (branch) await executeNode(run, branch, cursor);
      return;
    }
    case 'Defer':
      assert(false, '@defer support is not available in the gateway');
  }
}

async function executeFetch(run: ExecutionRun, fetch: FetchNode, cursor: ResultCursor) {
  const service = run.serviceMap[fetch.serviceName];
  if (!service) throw new Error(`Couldn't find service with name "${fetch.serviceName}"`);
  const entities = Array.isArray(cursor.data)
    ? cursor.data.filter((entity) => entity !== null && entity !== undefined)
    : [cursor.data];
  if (entities.length < 1) return;
  const provided = run.requestContext.request.variables;
  const variables = Object.create(null) as Record<string, unknown>;
  for (const name of fetch.variableUsages ?? []) {
    if (provided && Object.hasOwn(provided, name) && provided[name] !== undefined) {
      variables[name] = provided[name];
    }
  }
  const schema = run.supergraphSchema;

  if (!fetch.requires) {
    const received = await sendOperation(run, fetch, cursor, variables);
    if (received) applyRewrites(schema, fetch.outputRewrites, received);
    for (const entity of entities) deepMerge(entity, received);
    return;
  }

  const representations: ResultMap[] = [];
  const representationToEntity: number[] = [];
  entities.forEach((entity, index) => {
    const representation = executeSelectionSet(schema, entity, fetch.requires!);
    if (representation && representation.__typename) {
      applyRewrites(schema, fetch.inputRewrites, representation);
      representations.push(representation);
      representationToEntity.push(index);
    }
  });
  if (representations.length < 1) return;
  if ('representations' in variables) {
    throw new Error(`Variables cannot contain key "representations"`);
  }
  const received = await sendOperation(run, fetch, cursor, { ...variables, representations });
  if (!received) return;
  const receivedEntities = received._entities;
  if (!Array.isArray(receivedEntities)) {
    throw new Error(`Expected "data._entities" in response to be an array`);
  }
  if (receivedEntities.length !== representations.length) {
    throw new Error(`Expected "data._entities" to contain ${representations.length} elements`);
  }
  // As Apollo's executor does: over `entities.length`, though it is `receivedEntities` that
  // lines up with the representations (a shorter list only ever merges `undefined`).
  for (let i = 0; i < entities.length; i++) {
    const receivedEntity = receivedEntities[i] as ResultMap | null | undefined;
    const existingEntity = entities[representationToEntity[i]];
    if (receivedEntity && !receivedEntity.__typename) {
      receivedEntity.__typename = existingEntity.__typename;
    }
    applyRewrites(schema, fetch.outputRewrites, receivedEntity as ResultMap);
    deepMerge(entities[representationToEntity[i]], receivedEntity);
  }
}

async function sendOperation(
  run: ExecutionRun,
  fetch: FetchNode,
  cursor: ResultCursor,
  variables: Record<string, unknown>,
): Promise<ResultMap | null | undefined> {
  const { requestContext } = run;
  const cached = run.cache ? await run.cache.lookup(fetch, variables, run.supergraphSchema) : null;
  const track = run.track;
  if (track && !cached) track.complete = false;
  let response: Awaited<ReturnType<GraphQLDataSource['process']>>;
  if (cached?.hit) {
    response = { data: cached.hit.data };
    if (track) {
      track.expiresAt = Math.min(track.expiresAt, cached.hit.expiresAt);
      track.size += cached.hit.size;
    }
    // As the data source does with the subgraph's own Cache-Control.
    const policy = requestContext.overallCachePolicy as
      { restrict?: (hint: { maxAge: number; scope: 'PUBLIC' }) => void } | undefined;
    policy?.restrict?.({ maxAge: cached.hit.maxAgeSeconds, scope: 'PUBLIC' });
  } else {
    response = await run.serviceMap[fetch.serviceName].process({
      kind: GraphQLDataSourceRequestKind.INCOMING_OPERATION,
      request: { query: fetch.operation, variables, operationName: fetch.operationName },
      incomingRequestContext: requestContext,
      context: requestContext.context,
      document: fetch.operationDocumentNode,
      pathInIncomingRequest: cursor.path,
    });
    const kept = cached ? cached.store(response) : null;
    if (track) {
      if (!kept) track.complete = false;
      else {
        track.expiresAt = Math.min(track.expiresAt, kept.expiresAt);
        track.size += kept.size;
      }
    }
  }
  if (response.errors) {
    const errorPath = lazyErrorPath(fetch, cursor);
    run.errors.push(
      ...response.errors.map((error) =>
        downstreamServiceError(error, fetch.serviceName, errorPath),
      ),
    );
    if (!response.extensions?.ftv1) {
      const paths = response.errors.map((error) => ({
        subgraph: fetch.serviceName,
        path: error.path,
      }));
      const metrics = requestContext.metrics;
      if (metrics.nonFtv1ErrorPaths) metrics.nonFtv1ErrorPaths.push(...paths);
      else metrics.nonFtv1ErrorPaths = paths;
    }
  }
  return response.data as ResultMap | null | undefined;
}

function lazyErrorPath(fetch: FetchNode, cursor: ResultCursor) {
  let hydratedPaths: ResponsePath[] | undefined;
  return (errorPath: readonly (string | number)[] | undefined): ResponsePath | undefined => {
    if (fetch.requires && typeof errorPath?.[1] === 'number') {
      if (!hydratedPaths) {
        hydratedPaths = [];
        generateHydratedPaths([], cursor.path, cursor.fullResult, hydratedPaths);
      }
      return [...(hydratedPaths[errorPath[1]] ?? []), ...errorPath.slice(2)];
    }
    return errorPath ? [...cursor.path, ...errorPath] : undefined;
  };
}

function downstreamServiceError(
  original: GraphQLFormattedError,
  serviceName: string,
  errorPath: (path: readonly (string | number)[] | undefined) => ResponsePath | undefined,
): GraphQLError {
  const message = original.message || `Error while fetching subquery from service "${serviceName}"`;
  const options = {
    originalError: original as Error,
    path: errorPath(original.path),
    extensions: { ...original.extensions, serviceName },
  };
  const codeDef = errorCodeDef(original);
  // The subgraph's error, passed on: a stack trace of the gateway's executor would say nothing.
  return withoutStackTrace(() =>
    !codeDef && original.extensions?.code
      ? new GraphQLError(message, options)
      : (codeDef ?? ERRORS.DOWNSTREAM_SERVICE_ERROR).err(message, options),
  );
}

function executeSelectionSet(
  schema: GraphQLSchema,
  source: ResultMap | null,
  selections: readonly QueryPlanSelectionNode[],
): ResultMap | null {
  if (source === null) return null;
  const result = Object.create(null) as ResultMap;
  for (const selection of selections) {
    if (selection.kind === 'Field') {
      const responseName = getResponseName(selection);
      const inner = selection.selections;
      if (!Object.hasOwn(source, responseName) || source[responseName] === undefined) return null;
      const value = source[responseName];
      if (Array.isArray(value)) {
        result[responseName] = value.map((item: ResultMap | null) =>
          inner ? executeSelectionSet(schema, item, inner) : item,
        );
      } else if (inner) {
        result[responseName] = executeSelectionSet(schema, value as ResultMap | null, inner);
      } else {
        result[responseName] = value;
      }
    } else if (selection.typeCondition && isObjectOfType(schema, source, selection.typeCondition)) {
      deepMerge(result, executeSelectionSet(schema, source, selection.selections));
    }
  }
  return result;
}

function moveIntoCursor(cursor: ResultCursor, path: ResponsePath): ResultCursor | undefined {
  const data = flattenResultsAtPath(cursor.data, path) as ResultCursor['data'] | null | undefined;
  return data ? { path: cursor.path.concat(path), data, fullResult: cursor.fullResult } : undefined;
}

function flattenResultsAtPath(value: unknown, path: ResponsePath): unknown {
  if (path.length === 0) return value;
  if (value === undefined || value === null) return value;
  const [current, ...rest] = path;
  if (current === '@') {
    return (value as unknown[]).flatMap((element) => flattenResultsAtPath(element, rest));
  }
  assert(typeof current === 'string', () => `Unexpected ${typeof current} found in path`);
  assert(!Array.isArray(value), () => `Unexpected array in result for path element ${current}`);
  const record = value as ResultMap;
  return flattenResultsAtPath(Object.hasOwn(record, current) ? record[current] : undefined, rest);
}

/** `__schema` / `__type` selected with federated fields: answered from the API schema. */
function executeIntrospection(
  schema: GraphQLSchema,
  selection: SelectionNode,
  variableDefinitions: readonly VariableDefinitionNode[] | undefined,
  variableValues: Record<string, unknown> | undefined,
): unknown {
  const used = new Set<string>();
  visit(selection, { Variable: ({ name }) => void used.add(name.value) });
  const definitions = variableDefinitions?.filter((d) => used.has(d.variable.name.value));
  assert(
    used.size === (definitions?.length ?? 0),
    () => `Should have found all used variables ${[...used].join(', ')} in definitions`,
  );
  const document: DocumentNode = {
    kind: Kind.DOCUMENT,
    definitions: [
      {
        kind: Kind.OPERATION_DEFINITION,
        operation: OperationTypeNode.QUERY,
        variableDefinitions: definitions,
        selectionSet: { kind: Kind.SELECTION_SET, selections: [selection] },
      },
    ],
  };
  const { data, errors } = executeSync({ schema, document, rootValue: {}, variableValues });
  assert(!errors || errors.length === 0, () => `Introspection query failed: ${String(errors)}`);
  assert(data, () => 'Introspection query should not have failed');
  const key = selection.kind === Kind.FIELD ? (selection.alias ?? selection.name).value : '';
  return Object.hasOwn(data, key) ? data[key] : undefined;
}
