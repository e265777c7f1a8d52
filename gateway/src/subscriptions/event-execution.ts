import { executeQueryPlan, type GraphQLDataSource, type ServiceMap } from '@apollo/gateway';
import type { FetchNode } from '@apollo/query-planner';
import type {
  DocumentNode,
  ExecutionResult,
  GraphQLSchema,
  OperationDefinitionNode,
} from 'graphql';
import type { FetchCache } from '../execution/plan-executor';
import type { GatewayLogger, GatewayRequestContext, UpstreamEvent } from './gateway-types';
import { errorResult } from './subscription-errors';
import type { PreparedSubscription } from './subscription-plan-cache';
import type { SupergraphSchemas } from './supergraph-schemas';
import type { UpstreamRequest } from './upstream-request';
import { fetches, slotsByKey, type SharedViewerResult, type ViewerSlot } from './viewer-fields';

/** The executor's request context without `metrics`, which are fresh per event. */
export type EventRequestContext = Omit<GatewayRequestContext, 'metrics'>;

const NO_CACHE: GatewayRequestContext['cache'] = {
  get: () => Promise.resolve(undefined),
  set: () => Promise.resolve(),
  delete: () => Promise.resolve(true),
};

/** The request context every event of one subscriber runs with (its own gateway context). */
export function eventRequestContext<TContext extends object>(args: {
  readonly schemas: SupergraphSchemas;
  readonly prepared: PreparedSubscription;
  readonly document: DocumentNode;
  readonly operation: OperationDefinitionNode;
  readonly operationName: string | undefined;
  readonly variables: Record<string, unknown>;
  readonly context: TContext;
  readonly logger: GatewayLogger;
}): EventRequestContext {
  const { prepared, operation, operationName } = args;
  return {
    request: { query: prepared.source, operationName, variables: args.variables },
    logger: args.logger,
    schema: args.schemas.schema,
    schemaHash: args.schemas.schemaHash,
    context: args.context,
    cache: NO_CACHE,
    queryHash: prepared.queryHash,
    document: args.document,
    source: prepared.source,
    operationName: operation.name?.value ?? null,
    operation,
    overallCachePolicy: undefined,
  };
}

/** The fetches of a plan after its primary, by subgraph and operation text. */
const fetchesByOperation = new WeakMap<PreparedSubscription, Map<string, FetchNode>>();

function fetchOf(prepared: PreparedSubscription, serviceName: string, operation: string) {
  let byOperation = fetchesByOperation.get(prepared);
  if (!byOperation) {
    byOperation = new Map();
    for (const fetch of fetches(prepared.perEventPlan.node)) {
      byOperation.set(`${fetch.serviceName}\n${fetch.operation}`, fetch);
    }
    fetchesByOperation.set(prepared, byOperation);
  }
  return byOperation.get(`${serviceName}\n${operation}`);
}

/**
 * The data sources with the catalog cache in front, for the fetches an event's plan makes
 * after its primary (a showtime's movie title for every seat event): answered from the cache
 * when it holds them, kept there when the subgraph says they may be, exactly as queries'
 * fetches are (the same entries and invalidation). Only for an execution whose caller the
 * cache serves (anonymous: the one shared by every viewer of a seat map).
 */
export function withFetchCache(
  serviceMap: ServiceMap,
  prepared: PreparedSubscription,
  supergraphSchema: GraphQLSchema,
  cache: Pick<FetchCache, 'lookup'>,
): ServiceMap {
  const cached: Record<string, GraphQLDataSource> = {};
  for (const [name, source] of Object.entries(serviceMap)) {
    cached[name] = {
      process: async (options) => {
        const fetch = fetchOf(prepared, name, options.request.query ?? '');
        const found = fetch
          ? await cache.lookup(fetch, options.request.variables ?? {}, supergraphSchema)
          : null;
        if (found?.hit) return { data: found.hit.data };
        const response = await source.process(options);
        found?.store(response);
        return response;
      },
    };
  }
  return cached;
}

/** Everything needed to turn one subscriber's upstream events into its results. */
export interface SubscriberExecution {
  readonly schemas: SupergraphSchemas;
  readonly prepared: PreparedSubscription;
  /** The subscriber's upstream request: reads shared events back in its own shape. */
  readonly request: UpstreamRequest;
  /** The gateway's data sources, by subgraph name: the rest of the plan fetches through them. */
  readonly serviceMap: ServiceMap;
  readonly requestContext: EventRequestContext;
  readonly logger: GatewayLogger;
}

/**
 * Runs the gateway's own `executeQueryPlan` on `Sequence [primary, rest]` for one event, with
 * the primary fetch answered by the event instead of the subgraph: results are shaped, merged
 * and error-handled exactly as the gateway does for queries. Never rejects: a failure is an
 * `INTERNAL_SERVER_ERROR` result (and a log line). With viewer fields in the request, their
 * slots are pushed to `slots` (see `UpstreamRequest.toSubscriberData`).
 */
export async function executeEvent(
  execution: SubscriberExecution,
  event: UpstreamEvent,
  slots?: ViewerSlot[],
): Promise<ExecutionResult> {
  const { prepared, request, serviceMap } = execution;
  const { primary } = prepared;
  const primaryDataSource = serviceMap[primary.serviceName];
  const eventSource: GraphQLDataSource = {
    process: (options) => {
      if (options.request.query !== primary.operation) return primaryDataSource.process(options);
      // The event in this subscriber's shape, and a copy per subscriber: the executor merges
      // entity data into what it is given, and a shared event must not carry one
      // subscriber's fields into another's result.
      return Promise.resolve({
        data: event.data == null ? event.data : request.toSubscriberData(event.data, slots),
        ...(event.errors
          ? {
              errors: event.errors.map((error) =>
                error.path ? { ...error, path: request.toSubscriberPath(error.path) } : error,
              ),
            }
          : {}),
      });
    },
  };
  try {
    return await executeQueryPlan(
      prepared.perEventPlan,
      { ...serviceMap, [primary.serviceName]: eventSource },
      // Fresh metrics per event: the executor appends error paths to them.
      { ...execution.requestContext, metrics: {} },
      prepared.operationContext,
      execution.schemas.supergraphSchema,
      execution.schemas.apiSchema,
    );
  } catch (error) {
    execution.logger.error(`Executing a subscription event failed: ${String(error)}`);
    return errorResult('Executing the subscription event failed', 'INTERNAL_SERVER_ERROR', error);
  }
}

/**
 * One execution for every subscriber of a selection, whoever they are: the result with the
 * viewer fields `false`, and the slots that make them `true` for the keys the event names.
 */
export async function executeForViewers(
  execution: SubscriberExecution,
  event: UpstreamEvent,
): Promise<SharedViewerResult> {
  const slots: ViewerSlot[] = [];
  const result = await executeEvent(execution, event, slots);
  return { result, slots: slotsByKey(slots) };
}

/**
 * Results per upstream event, by key, for subscribers whose results cannot differ: the plan
 * runs once per (event, key), so a thousand anonymous subscribers of one seat map cost one
 * fetch of the fields other subgraphs own, not a thousand. Held weakly by the event: gone
 * when every subscriber has pulled it.
 */
export class SharedEventResults<TResult = ExecutionResult> {
  private readonly results = new WeakMap<UpstreamEvent, Map<string, Promise<TResult>>>();

  /** The result for `key` of `event`: `execute()`'s, called only by the first to ask. */
  once(key: string, event: UpstreamEvent, execute: () => Promise<TResult>): Promise<TResult> {
    let results = this.results.get(event);
    if (!results) {
      results = new Map();
      this.results.set(event, results);
    }
    let result = results.get(key);
    if (!result) {
      result = execute();
      results.set(key, result);
    }
    return result;
  }
}
