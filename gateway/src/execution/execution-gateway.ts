import { operationFromDocument, Supergraph, type Schema } from '@apollo/federation-internals';
import {
  ApolloGateway,
  buildOperationContext,
  type GatewayConfig,
  type GraphQLDataSource,
} from '@apollo/gateway';
import { QueryPlanner } from '@apollo/query-planner';
import { GraphQLError, OperationTypeNode, type GraphQLSchema } from 'graphql';
import { getVariableValues } from 'graphql/execution/values';
import { keepApolloTelemetryOff } from '../../../runtime/config';
import { STORED_ENTRY_MAX_BYTES } from '../../../runtime/document-store';
import { LruCache } from '../../../runtime/lru-cache';
import {
  executePlan,
  type CacheTrack,
  type GatewayExecutionResult,
  type FetchCache,
  type GatewayRequestContext,
  type OperationContext,
  type PlannedOperation,
} from './plan-executor';
import { operationNotSelected, subscriptionOverHttp } from './operation-refusals';
import { compileResultShaper } from './result-shaper';
import { cachedResultBytes, jsonLengthWithin, plannedOperationBytes } from './retained-size';
import { queryPlanStore } from './weighed-stores';

/** Operations kept planned: far more than the clients' distinct operations. */
export const PLANNED_OPERATIONS_KEPT = 1000;
/**
 * What the planned operations of one supergraph may hold together, estimated
 * (`retained-size.ts`): the contract's operations take 11–80 KB each, so a few hundred
 * such fit; distinct heavy documents evict one another instead of growing the heap.
 */
export const PLANNED_OPERATIONS_MAX_BYTES = 32 * 1024 * 1024;
/**
 * A planned operation estimated heavier is not kept (planned again at each request): about
 * 20,000 characters of document and subgraph operations, far over any client's.
 */
export const PLANNED_OPERATION_MAX_BYTES = STORED_ENTRY_MAX_BYTES;
/** Results kept that were made entirely of cached answers (see `ExecutionGateway`). */
export const CACHED_RESULTS_KEPT = 500;
/** What those results may hold together, estimated with their keys (variables included). */
export const CACHED_RESULTS_MAX_BYTES = 64 * 1024 * 1024;
/**
 * Bigger results are not kept, whatever their answers' size: a result can be far longer
 * than the answers it was made of (`__typename` aliases in a list's items).
 */
const MAX_CACHED_RESULT_CHARS = 200 * 1024;
/** Results whose key (variables included) is longer are not kept. */
const MAX_CACHED_RESULT_KEY_CHARS = 16 * 1024;

/** The header that asks Apollo's executor (outside production) to show the query plan. */
const SHOW_PLAN_HEADER = 'apollo-query-plan-experimental';

export interface ExecutionGatewayOptions {
  /** The supergraph served first; {@link ExecutionGateway.prepareUpdate} switches to others. */
  readonly supergraphSdl: string;
  /**
   * The data source of a subgraph of the supergraph, from its name and the URL composition
   * recorded for it (`join__graph(url:)`); made once per name and URL.
   */
  readonly buildService: (name: string, url: string | undefined) => GraphQLDataSource;
  readonly logger: GatewayConfig['logger'];
  readonly maxPlannedOperations?: number;
  /** The planned operations' budget (default {@link PLANNED_OPERATIONS_MAX_BYTES}). */
  readonly maxPlannedOperationsBytes?: number;
  /**
   * Who is asking, from the request's context: identical queries in flight at the same time
   * for the same caller share one execution (and, in `stringifyWithinCap`, one
   * serialization). Undefined: the request runs on its own.
   */
  readonly callerOf?: (context: GatewayRequestContext['context']) => string | undefined;
  /**
   * A cache of subgraph answers (the catalog cache), and which requests may use it (the
   * cache itself decides which fetches and answers are for it).
   */
  readonly fetchCache?: {
    readonly cache: FetchCache;
    readonly usableFor: (context: GatewayRequestContext['context']) => boolean;
  };
}

/** Apollo Server's cache policy of a request, as far as it is copied. */
interface CachePolicy {
  maxAge?: number;
  scope?: unknown;
  replace(hint: { maxAge?: number; scope?: unknown }): void;
  restrict?(hint: { maxAge?: number; scope?: 'PUBLIC' | 'PRIVATE' }): void;
}

/** One supergraph as planning and executing need it. */
interface Planning {
  readonly sdl: string;
  readonly apiSchema: Schema;
  readonly supergraphSchema: GraphQLSchema;
  readonly planner: QueryPlanner;
}

/**
 * One supergraph served: its planner, the data sources it was served with, and what was
 * prepared and kept for it. A request runs on the generation of the schema Apollo validated
 * it against, so a request that started before a reload finishes on the old supergraph (its
 * plan, its subgraphs) while new ones use the new one; an old generation is garbage once
 * no request holds its schema.
 */
export interface SupergraphGeneration {
  readonly id: number;
  readonly planning: Planning;
  readonly dataSources: Readonly<Record<string, GraphQLDataSource>>;
  /** Planned operations, by document and operation name, within their byte budget. */
  readonly prepared: LruCache<string, PreparedEntry>;
  /** Results of operations all of whose fetches were cached, by operation and variables. */
  readonly results: LruCache<string, CachedResult>;
}

interface CachedResult {
  readonly result: GatewayExecutionResult;
  readonly stamp: string;
  readonly expiresAt: number;
  /** Estimated bytes, fixed when kept (the cache's weight). */
  readonly bytes: number;
}

function buildPlanning(sdl: string): Planning {
  // Validated as Apollo's gateway validates it, so what passes here loads there too.
  const supergraph = Supergraph.build(sdl, { validateSupergraph: true });
  return {
    sdl,
    apiSchema: supergraph.apiSchema(),
    supergraphSchema: supergraph.schema.toGraphQLJSSchema(),
    planner: new QueryPlanner(supergraph),
  };
}

/**
 * An operation planned (made once a request's variables pass), or found not to run: it could
 * not be built against the API schema, answered as Apollo does.
 */
type PreparedEntry = {
  readonly operationContext: OperationContext;
  /** Estimated bytes, fixed when made (the cache's weight). */
  readonly bytes: number;
} & (
  | { readonly planned: PlannedOperation; readonly failure?: undefined }
  | { readonly planned?: undefined; readonly failure: GraphQLError }
);

/**
 * Apollo's gateway (it loads the supergraph, builds the API schema and the data sources) with
 * its executor replaced for queries and mutations: each operation (document and operation
 * name) is planned, its operation built and its result shaping compiled once, kept in a
 * LRU bounded by count and by estimated size, so a repeated operation costs its variables'
 * coercion, its fetches and the walk of its data, nothing else. Requests asking for the
 * query plan and requests capturing usage-reporting traces go to Apollo's own executor,
 * which does those things. Subscriptions are served over WebSocket only: one sent over HTTP
 * is a client error.
 */
export class ExecutionGateway {
  readonly inner: ApolloGateway;
  /** The plans Apollo's own executor keeps, by estimated bytes (see the constructor). */
  readonly apolloPlans = queryPlanStore();
  private readonly dataSources: Record<string, GraphQLDataSource> = Object.create(null) as Record<
    string,
    GraphQLDataSource
  >;
  private readonly dataSourceUrls: Record<string, string | undefined> = Object.create(
    null,
  ) as Record<string, string | undefined>;
  private readonly maxPlannedOperations: number;
  private readonly maxPlannedOperationsBytes: number;
  private generation: SupergraphGeneration | undefined;
  private generationCount = 0;
  /** The generation of each API schema Apollo's gateway announced (Apollo Server's requests carry it). */
  private readonly generations = new WeakMap<GraphQLSchema, SupergraphGeneration>();
  /** Built by `prepareUpdate`, taken by the schema listener when Apollo's gateway switches. */
  private pending: Planning | undefined;
  /** Apollo's gateway's own update callback (its `SupergraphManager` contract). */
  private update: ((supergraphSdl: string) => void) | undefined;
  private readonly callerOf: ExecutionGatewayOptions['callerOf'];
  private readonly fetchCache: ExecutionGatewayOptions['fetchCache'];
  /** Queries executing now, by caller, document, operation and variables. */
  private readonly inFlight = new Map<
    string,
    { readonly result: Promise<GatewayExecutionResult>; readonly leader: GatewayRequestContext }
  >();

  constructor(options: ExecutionGatewayOptions) {
    this.maxPlannedOperations = options.maxPlannedOperations ?? PLANNED_OPERATIONS_KEPT;
    this.maxPlannedOperationsBytes =
      options.maxPlannedOperationsBytes ?? PLANNED_OPERATIONS_MAX_BYTES;
    this.callerOf = options.callerOf;
    this.fetchCache = options.fetchCache;
    keepApolloTelemetryOff();
    const initialSdl = options.supergraphSdl;
    this.inner = new ApolloGateway({
      // A supergraph manager rather than a fixed text: Apollo's gateway then takes later
      // supergraphs through `update` (see prepareUpdate), and Apollo Server follows it.
      supergraphSdl: {
        initialize: ({ update }) => {
          this.update = update;
          return Promise.resolve({ supergraphSdl: initialSdl });
        },
      },
      buildService: ({ name, url }) => {
        // As Apollo's gateway keeps them: one per name, made again when the URL changes.
        if (!(name in this.dataSources) || this.dataSourceUrls[name] !== url) {
          this.dataSources[name] = options.buildService(name, url);
          this.dataSourceUrls[name] = url;
        }
        return this.dataSources[name];
      },
      logger: options.logger,
      // Its own plan cache (for the plan header and usage traces) weighed as ours is: by
      // default it keeps 30 MB as measured by the plans' JSON, several times what they hold.
      queryPlannerConfig: { cache: this.apolloPlans },
    });
    // Registered before Apollo Server's listener: a schema is known here before any request
    // can carry it. Plans and results made for another supergraph stay with their generation.
    this.inner.onSchemaLoadOrUpdate(({ apiSchema, coreSupergraphSdl }) => {
      let generation = this.generation;
      if (generation?.planning.sdl !== coreSupergraphSdl) {
        const planning =
          this.pending?.sdl === coreSupergraphSdl ? this.pending : buildPlanning(coreSupergraphSdl);
        generation = {
          id: ++this.generationCount,
          planning,
          // Apollo's gateway made the data sources of this supergraph just before: a snapshot,
          // so that a subgraph moved or removed later is still reached by the requests of this one.
          dataSources: Object.assign(
            Object.create(null) as Record<string, GraphQLDataSource>,
            this.dataSources,
          ),
          // Weighed by what was fixed when each entry was made: `weigh` must answer alike
          // when the entry is added and when it is evicted.
          prepared: new LruCache<string, PreparedEntry>(this.maxPlannedOperations, {
            maxWeight: this.maxPlannedOperationsBytes,
            weigh: (entry) => entry.bytes,
          }),
          results: new LruCache<string, CachedResult>(CACHED_RESULTS_KEPT, {
            maxWeight: CACHED_RESULTS_MAX_BYTES,
            weigh: (kept) => kept.bytes,
          }),
        };
      }
      this.pending = undefined;
      this.generation = generation;
      this.generations.set(apiSchema, generation);
    });
  }

  /** The supergraph new requests run on (set once loaded). */
  get currentGeneration(): SupergraphGeneration {
    if (!this.generation) throw new Error('The supergraph is not loaded yet');
    return this.generation;
  }

  /**
   * Checks a new supergraph and builds its planner (throws, changing nothing, when it is not
   * a valid one); the returned function switches to it: Apollo's gateway rebuilds its schema
   * and data sources and tells Apollo Server, whose new requests then validate against it.
   * Requests already running keep their generation.
   */
  prepareUpdate(supergraphSdl: string): () => void {
    const planning = buildPlanning(supergraphSdl);
    return () => {
      if (!this.update) throw new Error('The gateway is not loaded yet');
      this.pending = planning;
      this.update(supergraphSdl);
    };
  }

  /** The API schema clients see, once loaded. */
  get schema(): GraphQLSchema | undefined {
    return this.inner.schema;
  }

  // Apollo Server's GatewayInterface: loading, schema updates and stopping are Apollo's.
  async load(options: Parameters<ApolloGateway['load']>[0]) {
    const loaded = await this.inner.load(options);
    const apolloExecutor = loaded.executor;
    const executor = (requestContext: GatewayRequestContext): Promise<GatewayExecutionResult> => {
      const refused = refusal(requestContext);
      if (refused) return Promise.resolve(refused);
      const { request, metrics } = requestContext;
      if (metrics?.captureTraces || request.http?.headers.get(SHOW_PLAN_HEADER)) {
        return apolloExecutor(requestContext);
      }
      return this.executeShared(requestContext);
    };
    return { schema: loaded.schema, executor };
  }

  onSchemaLoadOrUpdate(...args: Parameters<ApolloGateway['onSchemaLoadOrUpdate']>) {
    return this.inner.onSchemaLoadOrUpdate(...args);
  }

  stop(): Promise<void> {
    return this.inner.stop();
  }

  /**
   * A query identical to one in flight for the same caller (same document, operation name
   * and variables, so the same fetches with the same identity) takes that one's result: the
   * subgraphs could not have told the two apart. Its cache policy is the leader's, since the
   * subgraph answers that set it were the same. Mutations always run on their own. A
   * contract's server (the partner graph) runs its validated operations through here too.
   */
  executeShared(
    requestContext: GatewayRequestContext,
    /** The generation the request was validated for (a contract's); default: its schema's. */
    generation?: SupergraphGeneration,
  ): Promise<GatewayExecutionResult> {
    // A contract's server comes here directly: the same refusals as the executor's.
    const refused = refusal(requestContext);
    if (refused) return Promise.resolve(refused);
    const ofRequest =
      generation ?? this.generations.get(requestContext.schema) ?? this.currentGeneration;
    const caller = this.callerOf?.(requestContext.context);
    if (caller === undefined || requestContext.operation.operation !== OperationTypeNode.QUERY) {
      return this.execute(requestContext, ofRequest);
    }
    const { request } = requestContext;
    const key =
      `${ofRequest.id}\n${caller}\n${requestContext.queryHash}\n${request.operationName ?? ''}\n` +
      JSON.stringify(request.variables ?? {});
    const shared = this.inFlight.get(key);
    if (shared) {
      return shared.result.then((result) => {
        const leaderPolicy = shared.leader.overallCachePolicy as CachePolicy | undefined;
        const policy = requestContext.overallCachePolicy as CachePolicy | undefined;
        if (leaderPolicy && policy && 'replace' in policy) policy.replace(leaderPolicy);
        return result;
      });
    }
    const result = this.execute(requestContext, ofRequest).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, { result, leader: requestContext });
    return result;
  }

  /** Apollo's `executor` for an operation, from its prepared plan (made on first use). */
  private async execute(
    requestContext: GatewayRequestContext,
    generation: SupergraphGeneration,
  ): Promise<GatewayExecutionResult> {
    const { request, document, queryHash } = requestContext;
    const key = `${queryHash}\n${request.operationName ?? ''}`;
    const { planning, dataSources } = generation;
    let entry = generation.prepared.get(key);
    const operationContext =
      entry?.operationContext ??
      buildOperationContext({
        schema: requestContext.schema,
        operationDocument: document,
        operationName: request.operationName,
      });
    const definitions = operationContext.operation.variableDefinitions;
    if (definitions) {
      const { errors } = getVariableValues(
        operationContext.schema,
        definitions,
        request.variables || {},
      );
      if (errors) return { errors };
    }
    if (!entry) {
      entry = prepare(planning, requestContext, operationContext);
      // One heavier than any client's is planned again each time rather than kept: kept, a
      // few would take the budget from the clients' operations.
      if (entry.bytes <= PLANNED_OPERATION_MAX_BYTES) generation.prepared.set(key, entry);
    }
    if (entry.failure) return { errors: [entry.failure] };
    const cache = this.fetchCache?.usableFor(requestContext.context)
      ? this.fetchCache.cache
      : undefined;
    const stamp = cache?.stamp() ?? null;
    if (!cache || stamp === null) {
      return executePlan(
        entry.planned,
        dataSources,
        requestContext,
        planning.supergraphSchema,
        cache,
      );
    }
    return this.executeCached(entry.planned, requestContext, generation, cache, stamp);
  }

  /**
   * A result made only of cached answers is itself a function of them: it is kept (the same
   * object, so `stringifyWithinCap` serializes it once) for as long as all of them are good,
   * under the generations they were found under, and handed to the next identical request
   * instead of parsing, merging and shaping them again.
   */
  private async executeCached(
    planned: PlannedOperation,
    requestContext: GatewayRequestContext,
    generation: SupergraphGeneration,
    cache: FetchCache,
    stamp: string,
  ): Promise<GatewayExecutionResult> {
    const { request, queryHash } = requestContext;
    const { planning, results } = generation;
    const key = `${queryHash}\n${request.operationName ?? ''}\n${JSON.stringify(request.variables ?? {})}`;
    const now = Date.now();
    const kept = results.get(key);
    if (kept && kept.stamp === stamp && kept.expiresAt > now) {
      const policy = requestContext.overallCachePolicy as CachePolicy | undefined;
      policy?.restrict?.({ maxAge: Math.floor((kept.expiresAt - now) / 1000), scope: 'PUBLIC' });
      cache.countResultHit();
      return kept.result;
    }
    const track: CacheTrack = { complete: true, expiresAt: Infinity, size: 0 };
    const result = await executePlan(
      planned,
      generation.dataSources,
      requestContext,
      planning.supergraphSchema,
      cache,
      track,
    );
    if (
      track.complete &&
      Number.isFinite(track.expiresAt) &&
      track.size <= MAX_CACHED_RESULT_CHARS &&
      key.length <= MAX_CACHED_RESULT_KEY_CHARS &&
      !result.errors &&
      !result.extensions &&
      cache.stamp() === stamp
    ) {
      // Measured only up to the cap: a huge result costs no more to refuse than a kept one.
      const length = jsonLengthWithin(result.data, MAX_CACHED_RESULT_CHARS);
      if (length <= MAX_CACHED_RESULT_CHARS) {
        const bytes = cachedResultBytes(length, key.length);
        results.set(key, { result, stamp, expiresAt: track.expiresAt, bytes });
      }
    }
    return result;
  }
}

/**
 * What no plan is made for: a request Apollo Server selected no operation in, and a
 * subscription (served over WebSocket only); undefined for the rest.
 */
function refusal(requestContext: GatewayRequestContext): GatewayExecutionResult | undefined {
  const notSelected = operationNotSelected(requestContext);
  if (notSelected) return notSelected;
  if (requestContext.operation.operation === OperationTypeNode.SUBSCRIPTION) {
    return subscriptionOverHttp();
  }
  return undefined;
}

/**
 * Plans an operation and compiles its result shaping, or finds it cannot be run against the
 * API schema (kept too, as Apollo answers it). Planning errors are thrown, as Apollo's
 * executor throws them, and not kept.
 */
function prepare(
  planning: Planning,
  requestContext: GatewayRequestContext,
  operationContext: OperationContext,
): PreparedEntry {
  const { request, document } = requestContext;
  // The document's text: the operation context keeps its AST, and the AST its tokens.
  const documentLength = requestContext.source?.length ?? document.loc?.source.body.length ?? 0;
  const plan = planning.planner.buildQueryPlan(
    operationFromDocument(planning.apiSchema, document, {
      operationName: request.operationName,
    }),
  );
  let operation;
  try {
    operation = operationFromDocument(
      planning.apiSchema,
      {
        kind: document.kind,
        definitions: [operationContext.operation, ...Object.values(operationContext.fragments)],
      },
      { validate: false },
    );
  } catch (error) {
    if (!(error instanceof GraphQLError)) throw error;
    return { operationContext, failure: error, bytes: plannedOperationBytes(documentLength) };
  }
  return {
    operationContext,
    planned: { plan, operationContext, operation, shaper: compileResultShaper(operation) },
    bytes: plannedOperationBytes(documentLength, plan),
  };
}
