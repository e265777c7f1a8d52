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
import { LruCache } from '../lru-cache';
import {
  executePlan,
  type CacheTrack,
  type GatewayExecutionResult,
  type FetchCache,
  type GatewayRequestContext,
  type OperationContext,
  type PlannedOperation,
} from './plan-executor';
import { compileResultShaper } from './result-shaper';

/** Operations kept planned: far more than the clients' distinct operations. */
export const PLANNED_OPERATIONS_KEPT = 1000;
/** Results kept that were made entirely of cached answers (see `ExecutionGateway`). */
export const CACHED_RESULTS_KEPT = 500;
/** Bigger results are not kept: 500 of them stay within about 100 MB. */
const MAX_CACHED_RESULT_CHARS = 200 * 1024;

/** The header that asks Apollo's executor (outside production) to show the query plan. */
const SHOW_PLAN_HEADER = 'apollo-query-plan-experimental';

export interface ExecutionGatewayOptions {
  readonly supergraphSdl: string;
  /**
   * The data source of a subgraph of the supergraph, from its name and the URL composition
   * recorded for it (`join__graph(url:)`); made once per name and URL.
   */
  readonly buildService: (name: string, url: string | undefined) => GraphQLDataSource;
  readonly logger: GatewayConfig['logger'];
  readonly maxPlannedOperations?: number;
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
  readonly apiSchema: Schema;
  readonly supergraphSchema: GraphQLSchema;
  readonly planner: QueryPlanner;
}

/** An operation whose context is known; its plan comes once a request's variables pass. */
interface PreparedEntry {
  readonly operationContext: OperationContext;
  planned?: PlannedOperation;
  /** The operation could not be built against the API schema: answered as Apollo does. */
  failure?: GraphQLError;
}

/**
 * Apollo's gateway (it loads the supergraph, builds the API schema and the data sources) with
 * its executor replaced for queries and mutations: each operation (document and operation
 * name) is planned, its operation built and its result shaping compiled once, kept in a
 * bounded LRU, so a repeated operation costs its variables' coercion, its fetches and the
 * walk of its data, nothing else. Subscriptions over HTTP, requests asking for the query
 * plan and requests capturing usage-reporting traces go to Apollo's own executor, which does
 * those things.
 */
export class ExecutionGateway {
  readonly inner: ApolloGateway;
  private readonly dataSources: Record<string, GraphQLDataSource> = Object.create(null) as Record<
    string,
    GraphQLDataSource
  >;
  private readonly dataSourceUrls: Record<string, string | undefined> = Object.create(
    null,
  ) as Record<string, string | undefined>;
  private readonly prepared: LruCache<string, PreparedEntry>;
  private planning: Planning | undefined;
  private planningSdl: string | undefined;
  private readonly callerOf: ExecutionGatewayOptions['callerOf'];
  private readonly fetchCache: ExecutionGatewayOptions['fetchCache'];
  /** Results of operations all of whose fetches were cached, by operation and variables. */
  private readonly results = new LruCache<
    string,
    { readonly result: GatewayExecutionResult; readonly stamp: string; readonly expiresAt: number }
  >(CACHED_RESULTS_KEPT);
  /** Queries executing now, by caller, document, operation and variables. */
  private readonly inFlight = new Map<
    string,
    { readonly result: Promise<GatewayExecutionResult>; readonly leader: GatewayRequestContext }
  >();

  constructor(options: ExecutionGatewayOptions) {
    this.prepared = new LruCache(options.maxPlannedOperations ?? PLANNED_OPERATIONS_KEPT);
    this.callerOf = options.callerOf;
    this.fetchCache = options.fetchCache;
    keepApolloTelemetryOff();
    this.inner = new ApolloGateway({
      supergraphSdl: options.supergraphSdl,
      buildService: ({ name, url }) => {
        // As Apollo's gateway keeps them: one per name, made again when the URL changes.
        if (!(name in this.dataSources) || this.dataSourceUrls[name] !== url) {
          this.dataSources[name] = options.buildService(name, url);
          this.dataSourceUrls[name] = url;
        }
        return this.dataSources[name];
      },
      logger: options.logger,
    });
    // Whenever Apollo's gateway (re)loads a supergraph, plans made for another one go.
    this.inner.onSchemaLoadOrUpdate(({ coreSupergraphSdl }) => {
      if (coreSupergraphSdl === this.planningSdl) return;
      this.planning = undefined;
      this.planningSdl = coreSupergraphSdl;
      this.prepared.clear();
      this.results.clear();
    });
  }

  /** The API schema clients see, once loaded. */
  get schema(): GraphQLSchema | undefined {
    return this.inner.schema;
  }

  // Apollo Server's GatewayInterface: loading, schema updates and stopping are Apollo's.
  async load(options: Parameters<ApolloGateway['load']>[0]) {
    const loaded = await this.inner.load(options);
    // Now rather than on the first request: building the planner takes a while.
    this.currentPlanning();
    const apolloExecutor = loaded.executor;
    const executor = (requestContext: GatewayRequestContext): Promise<GatewayExecutionResult> => {
      const { request, metrics, operation } = requestContext;
      if (
        operation.operation === OperationTypeNode.SUBSCRIPTION ||
        metrics?.captureTraces ||
        request.http?.headers.get(SHOW_PLAN_HEADER)
      ) {
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
  executeShared(requestContext: GatewayRequestContext): Promise<GatewayExecutionResult> {
    const caller = this.callerOf?.(requestContext.context);
    if (caller === undefined || requestContext.operation.operation !== OperationTypeNode.QUERY) {
      return this.execute(requestContext);
    }
    const { request } = requestContext;
    const key =
      `${caller}\n${requestContext.queryHash}\n${request.operationName ?? ''}\n` +
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
    const result = this.execute(requestContext).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, { result, leader: requestContext });
    return result;
  }

  /** Apollo's `executor` for an operation, from its prepared plan (made on first use). */
  private async execute(requestContext: GatewayRequestContext): Promise<GatewayExecutionResult> {
    const { request, document, queryHash } = requestContext;
    const key = `${queryHash}\n${request.operationName ?? ''}`;
    let entry = this.prepared.get(key);
    if (!entry) {
      entry = {
        operationContext: buildOperationContext({
          schema: requestContext.schema,
          operationDocument: document,
          operationName: request.operationName,
        }),
      };
      this.prepared.set(key, entry);
    }
    const { operationContext } = entry;
    const definitions = operationContext.operation.variableDefinitions;
    if (definitions) {
      const { errors } = getVariableValues(
        operationContext.schema,
        definitions,
        request.variables || {},
      );
      if (errors) return { errors };
    }
    if (entry.failure) return { errors: [entry.failure] };
    const planning = this.currentPlanning();
    if (!entry.planned) {
      // Planning errors are thrown, as Apollo's executor throws them, and not kept.
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
        entry.failure = error;
        return { errors: [error] };
      }
      entry.planned = {
        plan,
        operationContext,
        operation,
        shaper: compileResultShaper(operation),
      };
    }
    const cache = this.fetchCache?.usableFor(requestContext.context)
      ? this.fetchCache.cache
      : undefined;
    const stamp = cache?.stamp() ?? null;
    if (!cache || stamp === null) {
      return executePlan(
        entry.planned,
        this.dataSources,
        requestContext,
        planning.supergraphSchema,
        cache,
      );
    }
    return this.executeCached(entry.planned, requestContext, planning, cache, stamp);
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
    planning: Planning,
    cache: FetchCache,
    stamp: string,
  ): Promise<GatewayExecutionResult> {
    const { request, queryHash } = requestContext;
    const key = `${queryHash}\n${request.operationName ?? ''}\n${JSON.stringify(request.variables ?? {})}`;
    const now = Date.now();
    const kept = this.results.get(key);
    if (kept && kept.stamp === stamp && kept.expiresAt > now) {
      const policy = requestContext.overallCachePolicy as CachePolicy | undefined;
      policy?.restrict?.({ maxAge: Math.floor((kept.expiresAt - now) / 1000), scope: 'PUBLIC' });
      cache.countResultHit();
      return kept.result;
    }
    const track: CacheTrack = { complete: true, expiresAt: Infinity, size: 0 };
    const result = await executePlan(
      planned,
      this.dataSources,
      requestContext,
      planning.supergraphSchema,
      cache,
      track,
    );
    if (
      track.complete &&
      Number.isFinite(track.expiresAt) &&
      track.size <= MAX_CACHED_RESULT_CHARS &&
      !result.errors &&
      !result.extensions &&
      cache.stamp() === stamp
    ) {
      this.results.set(key, { result, stamp, expiresAt: track.expiresAt });
    }
    return result;
  }

  private currentPlanning(): Planning {
    if (!this.planning) {
      if (!this.planningSdl) throw new Error('The supergraph is not loaded yet');
      const supergraph = Supergraph.build(this.planningSdl);
      this.planning = {
        apiSchema: supergraph.apiSchema(),
        supergraphSchema: supergraph.schema.toGraphQLJSSchema(),
        planner: new QueryPlanner(supergraph),
      };
    }
    return this.planning;
  }
}
