import type { ServiceMap } from '@apollo/gateway';
import {
  getOperationAST,
  getVariableValues,
  OperationTypeNode,
  validate,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLError,
  type GraphQLSchema,
} from 'graphql';
import {
  eventRequestContext,
  executeEvent,
  executeForViewers,
  SharedEventResults,
  withFetchCache,
  type SubscriberExecution,
} from './event-execution';
import type { FetchCache } from '../execution/plan-executor';
import type { GatewayLogger, UpstreamEvent } from './gateway-types';
import {
  DEFAULT_MAX_BUFFERED_EVENTS,
  LocalSubscription,
  type ResultSink,
} from './local-subscription';
import { SharedUpstream } from './shared-upstream';
import {
  errorResult,
  supergraphChangedErrors,
  upstreamErrors,
  withCode,
  withPaths,
} from './subscription-errors';
import { SubscriptionPlanCache, type PreparedSubscription } from './subscription-plan-cache';
import { supergraphSchemas, type SupergraphSchemas } from './supergraph-schemas';
import { UpstreamConnections, type ClientLease } from './upstream-connections';
import { stableStringify, upstreamRequest, type UpstreamRequest } from './upstream-request';
import {
  personalise,
  shareableAcrossViewers,
  viewerFieldMap,
  type SharedViewerResult,
  type ViewerFieldMap,
} from './viewer-fields';

/** Options of {@link FederatedSubscriptions}. */
export interface FederatedSubscriptionsOptions<TContext extends object> {
  /** The composed supergraph SDL the gateway runs (the same text, so plans agree). */
  readonly supergraphSdl: string;
  /**
   * The data sources the gateway itself uses (for example its `RemoteGraphQLDataSource`
   * subclasses), by subgraph name. Entity fetches of each event go through them, so per-caller
   * behaviour such as signed identity headers is the same as for queries.
   */
  readonly serviceMap: ServiceMap;
  /** The graphql-ws (`graphql-transport-ws`) endpoint of a subgraph, e.g. `ws://host:4002/graphql`. */
  subscriptionUrl(serviceName: string): string;
  /**
   * Headers for the upstream WebSocket: sent on the HTTP upgrade request and repeated as
   * `connection_init` payload `{ headers }`, so the subgraph can authenticate either way. Called
   * on every (re)connection with the context of the subscriber that opened the connection,
   * so short-lived signatures stay fresh.
   */
  upstreamHeaders?(context: TContext, serviceName: string): Record<string, string>;
  /**
   * The per-subscriber part of the sharing key (default: `''`, i.e. no per-subscriber part).
   *
   * Subscribers whose operation needs the same upstream subscription (same subgraph, same
   * primary fetch once normalised: aliases, field order, fragments and variable names do not
   * count; same variable values) AND whose `shareKey` is equal share one upstream
   * graphql-ws subscription, opened with the {@link upstreamHeaders} of the first of them
   * (subscriptions to one subgraph with equal `shareKey` also share one WebSocket).
   * Everything the subscription's own subgraph computes is therefore computed once, for that
   * first subscriber's identity. Fields resolved by *other* subgraphs are always fetched per
   * subscriber, with the subscriber's own context.
   *
   * So: if the subscription's subgraph resolves anything from the caller (a `heldByMe`, an
   * authorization check, a filter), return something that identifies the caller here, e.g.
   * the user id; return `''` only when that subgraph's answer is the same for everyone.
   */
  shareKey?(context: TContext): string;
  /**
   * When given and not null: subscribers with the same key, operation and variables receive
   * the same result per event, and the fields of other subgraphs are fetched once for all of
   * them instead of once each. Only for callers whose other-subgraph fields cannot differ
   * between subscribers with equal keys (e.g. the key identifies the user, or is '' for all
   * anonymous ones). Default: a separate execution per subscriber.
   */
  resultShareKey?(context: TContext): string | null;
  /**
   * Fields the gateway computes per subscriber (see `viewer-fields.ts`), so that subscribers
   * share upstreams and executions whoever they are. When a subscription's plan allows it
   * (`shareableAcrossViewers`), `shareKey`, `resultShareKey` and `upstreamHeaders`' caller
   * are replaced for it by one shared caller: one upstream subscription per distinct
   * request, opened as `context()`, one execution per event and selection, run as
   * `context()`; then each subscriber's viewer fields are set from its `key`. Otherwise
   * the subscription is served per caller as configured above.
   */
  readonly viewerFields?: ViewerFieldsOptions<TContext>;
  /**
   * The gateway's cache of subgraph answers, for the fetches an event's plan makes after its
   * primary, when `usableFor` the context the event runs as (see `withFetchCache`).
   */
  readonly fetchCache?: {
    readonly cache: Pick<FetchCache, 'lookup'>;
    usableFor(context: TContext): boolean;
  };
  /**
   * Reconnection attempts for an upstream connection that drops (default 0). While it
   * reconnects, its subscribers get a result with a `SERVICE_UNAVAILABLE` error (events may be
   * missed: they should fetch the current state again) and stay subscribed; the upstream
   * subscriptions are resubscribed on the new connection. When the attempts are spent (or
   * with 0), the subscribers get a last `SERVICE_UNAVAILABLE` result and end. Events are
   * never replayed.
   */
  readonly retryAttempts?: number;
  /**
   * Waits before reconnection attempt `retries` (0, 1, …); default graphql-ws's randomised
   * exponential backoff (1 s, 2 s, 4 s… plus 0.3–3 s).
   */
  readonly retryWait?: (retries: number) => Promise<void>;
  /**
   * Upstream ping interval in ms (default 0: no pings). A ping unanswered for as long, and an
   * opening handshake or `connection_ack` slower than that, count as a dropped connection,
   * so a silently dead peer (a cut network path, a frozen process) is noticed.
   */
  readonly keepAlive?: number;
  /**
   * Events buffered for a subscriber that does not pull them (default 1000). Beyond that the
   * subscriber gets an error result (`SUBSCRIPTION_BUFFER_OVERFLOW`) and is detached, so a
   * stalled client cannot grow the gateway's memory without bound.
   */
  readonly maxBufferedEvents?: number;
  /** Where per-event execution problems are logged (default: `console`). */
  readonly logger?: GatewayLogger;
  /**
   * When a new supergraph ends subscriptions (their operation is no longer valid against it,
   * or can no longer be planned), their endings are spread over this many ms (default
   * 3000), so that their clients do not all resubscribe in the same instant.
   */
  readonly endSpreadMs?: number;
}

/** Default of {@link FederatedSubscriptionsOptions.endSpreadMs}. */
export const DEFAULT_END_SPREAD_MS = 3_000;

/** One supergraph as subscriptions are planned and executed against it. */
interface Generation {
  readonly schemas: SupergraphSchemas;
  readonly plans: SubscriptionPlanCache;
  readonly serviceMap: ServiceMap;
  /** `validate` once per document object and schema. */
  readonly validations: WeakMap<DocumentNode, readonly GraphQLError[]>;
}

/** What a subscriber is, whatever supergraph it runs on: enough to plan it again. */
interface Subscriber<TContext extends object> {
  readonly args: FederatedSubscribeArgs<TContext>;
  /** The upstream it is fed by. */
  upstreamKey: string;
  /** Ending (a new supergraph cannot serve it): left alone by later reloads. */
  ending: boolean;
}

/** A subscription planned against one supergraph: what it runs and which upstream feeds it. */
interface Binding<TContext extends object> {
  readonly key: string;
  readonly serviceName: string;
  readonly shareKey: string | null;
  readonly runAs: TContext;
  readonly request: UpstreamRequest;
  readonly execute: (event: UpstreamEvent) => Promise<ExecutionResult>;
  readonly ownErrors: (errors: readonly GraphQLError[]) => GraphQLError[];
}

/** What switching to a new supergraph did to the running subscriptions. */
export interface SupergraphSwitch {
  /** Still on the upstream they had, now executed with the new plan. */
  readonly kept: number;
  /** Moved to another upstream request (the new plan asks the subgraph something else). */
  readonly moved: number;
  /** Ending with `SUPERGRAPH_CHANGED`, spread over `endSpreadMs`. */
  readonly ending: number;
}

/**
 * Upstream requests and shared executions kept per plan (one per showtime, say): bounded
 * against clients sending ever new variables; beyond it they are made again.
 */
const PER_PLAN_ENTRIES = 1000;

/** Options of {@link FederatedSubscriptionsOptions.viewerFields}. */
export interface ViewerFieldsOptions<TContext extends object> {
  /**
   * `'Type.field': 'sourceField'`: the field is answered per subscriber, `true` exactly where
   * the subgraph's `sourceField` of the same object (a string, hidden from clients) equals
   * the subscriber's `key`. E.g. `{ 'SeatState.heldByMe': 'holderTag' }`.
   */
  readonly fields: Readonly<Record<string, string>>;
  /** The subscriber's key (e.g. its seat-holder tag); null: no viewer field is ever true. */
  key(context: TContext): string | null;
  /** The caller shared upstreams and executions run as: nobody in particular. */
  context(): TContext;
  /**
   * Subgraphs whose answers, viewer fields aside, are the same for every caller: a plan is
   * shared across subscribers only if every fetch of it goes to one of these.
   */
  readonly publicServices: readonly string[];
}

/** One call of {@link FederatedSubscriptions.subscribe}. */
export interface FederatedSubscribeArgs<TContext extends object> {
  readonly document: DocumentNode;
  readonly operationName?: string | null;
  readonly variables?: Record<string, unknown> | null;
  /** The caller's gateway context: passed to the data sources, `upstreamHeaders` and `shareKey`. */
  readonly context: TContext;
  /**
   * Where results may be written straight to the client while its consumer of the iterator
   * waits (see `ResultSink` in `local-subscription.ts`): what a graphql-ws server passes to
   * skip its per-result work. Without it, every result goes through the iterator.
   */
  readonly sink?: ResultSink;
}

/**
 * Executes federated subscriptions, which `@apollo/gateway` refuses ("Execution of
 * subscriptions not supported by gateway") although its query planner plans them.
 *
 * The planner splits a subscription into a `primary` fetch, a subscription to the subgraph
 * that owns the root field, and the `rest`, the entity fetches that complete each event with
 * fields of other subgraphs. This class opens the primary as an upstream graphql-ws
 * subscription and, for every upstream event, runs the gateway's own `executeQueryPlan` on
 * `Sequence [primary, rest]`, where the primary's data source answers the primary operation
 * with the event instead of calling the subgraph. Results are thus shaped, merged and
 * error-handled exactly as the gateway does for queries.
 *
 * Identical upstream subscriptions are shared within one instance (see
 * {@link FederatedSubscriptionsOptions.shareKey} for what "identical" means and why it
 * matters for per-caller fields); the rest of the plan runs per subscriber with its own
 * context. One instance per supergraph: build a new one when the supergraph changes.
 */
export class FederatedSubscriptions<TContext extends object = Record<string, unknown>> {
  private generation: Generation;
  private readonly connections: UpstreamConnections<TContext>;
  private readonly upstreams = new Map<string, SharedUpstream>();
  private readonly eventResults = new SharedEventResults();
  private readonly viewerResults = new SharedEventResults<SharedViewerResult>();
  private readonly viewerFields: ViewerFieldMap | undefined;
  private readonly publicServices: ReadonlySet<string>;
  private readonly subscribers = new WeakMap<LocalSubscription, Subscriber<TContext>>();
  /** Endings scheduled by a supergraph switch, cleared on dispose. */
  private readonly endings = new Set<NodeJS.Timeout>();
  /** Per plan: whether its subscribers share across viewers (computed once). */
  private readonly shareable = new WeakMap<PreparedSubscription, boolean>();
  /** Per plan: upstream requests by variables, and shared executions by selection. */
  private readonly requests = new WeakMap<PreparedSubscription, Map<string, UpstreamRequest>>();
  private readonly executions = new WeakMap<
    PreparedSubscription,
    Map<string, SubscriberExecution>
  >();
  private readonly logger: GatewayLogger;
  private disposed = false;

  constructor(private readonly options: FederatedSubscriptionsOptions<TContext>) {
    this.viewerFields = options.viewerFields
      ? viewerFieldMap(options.viewerFields.fields)
      : undefined;
    this.publicServices = new Set(options.viewerFields?.publicServices ?? []);
    this.generation = this.newGeneration(
      supergraphSchemas(options.supergraphSdl),
      options.serviceMap,
    );
    this.connections = new UpstreamConnections<TContext>({
      url: (serviceName) => options.subscriptionUrl(serviceName),
      headers: (context, serviceName) => options.upstreamHeaders?.(context, serviceName) ?? {},
      retryAttempts: options.retryAttempts,
      retryWait: options.retryWait,
      keepAlive: options.keepAlive,
    });
    this.logger = options.logger ?? console;
  }

  /** The API schema clients see (what a graphql-ws server validates operations against). */
  get schema(): GraphQLSchema {
    return this.generation.schemas.schema;
  }

  private newGeneration(schemas: SupergraphSchemas, serviceMap: ServiceMap): Generation {
    return {
      schemas,
      plans: new SubscriptionPlanCache(schemas),
      serviceMap,
      validations: new WeakMap(),
    };
  }

  /**
   * Builds the schemas and planner of a new supergraph (throws, changing nothing, when it is
   * not a valid one); the returned function switches to it. New subscriptions are planned
   * against it; every running one is planned again: one whose operation is still valid keeps
   * running, on the upstream it had when the new plan asks its subgraph the same thing (most
   * changes), else moved to the new upstream request; one that is no longer valid or cannot
   * be planned ends with a `SUPERGRAPH_CHANGED` error, the endings spread over `endSpreadMs`.
   * Events already queued for a subscriber still run with the plan they arrived under.
   *
   * @param serviceMap the data sources of the new supergraph's subgraphs (default: as before).
   */
  prepareUpdate(supergraphSdl: string, serviceMap?: ServiceMap): () => SupergraphSwitch {
    const generation = this.newGeneration(
      supergraphSchemas(supergraphSdl),
      serviceMap ?? this.generation.serviceMap,
    );
    return () => this.switchTo(generation);
  }

  private switchTo(generation: Generation): SupergraphSwitch {
    this.generation = generation;
    let kept = 0;
    let moved = 0;
    const ending: Array<{ local: LocalSubscription; errors: readonly GraphQLError[] }> = [];
    for (const upstream of [...this.upstreams.values()]) {
      for (const local of [...upstream.subscribers]) {
        const subscriber = this.subscribers.get(local);
        if (!subscriber || subscriber.ending || !local.open) continue;
        const bound = this.bind(subscriber.args, generation);
        if (!('key' in bound)) {
          subscriber.ending = true;
          ending.push({ local, errors: supergraphChangedErrors(bound.errors ?? []) });
          continue;
        }
        local.rebind(bound.execute, bound.ownErrors);
        if (bound.key === subscriber.upstreamKey) {
          kept += 1;
          continue;
        }
        // Joined to the new request before the old one is left: no moment without either.
        const previous = local.detach;
        const failure = this.attach(local, subscriber, bound);
        previous();
        if (failure) local.end(failure.errors ?? []);
        else moved += 1;
      }
    }
    this.scheduleEndings(ending);
    return { kept, moved, ending: ending.length };
  }

  /** Ends each at its own moment within `endSpreadMs`, in random order. */
  private scheduleEndings(
    ending: Array<{ local: LocalSubscription; errors: readonly GraphQLError[] }>,
  ): void {
    if (ending.length === 0) return;
    const spread = this.options.endSpreadMs ?? DEFAULT_END_SPREAD_MS;
    const slot = spread / ending.length;
    for (let i = ending.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [ending[i], ending[j]] = [ending[j], ending[i]];
    }
    ending.forEach(({ local, errors }, i) => {
      const timer = setTimeout(
        () => {
          this.endings.delete(timer);
          local.end(errors);
        },
        Math.floor((i + Math.random()) * slot),
      );
      // An ending never keeps the process alive: dispose ends everything anyway.
      timer.unref();
      this.endings.add(timer);
    });
  }

  /**
   * Starts a subscription. Resolves to an iterator of results (one per upstream event, ending
   * when the upstream ends; an upstream failure arrives as a last result with `errors`), or to
   * a single `{ errors }` result when the operation cannot start. Error codes:
   * `GRAPHQL_VALIDATION_FAILED` (invalid against the API schema), `OPERATION_RESOLUTION_FAILURE`
   * (no such operation), `BAD_USER_INPUT` (variables), `BAD_REQUEST` (not a subscription),
   * `QUERY_PLANNING_FAILED`, `SERVICE_UNAVAILABLE` (upstream unreachable or closed).
   *
   * Call `return()` on the iterator when the client goes away: it detaches at once and, for the
   * last subscriber of an upstream subscription, completes it upstream.
   */
  subscribe(
    args: FederatedSubscribeArgs<TContext>,
  ): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
    // The executor turns anything start() throws into a rejection, as before.
    return new Promise((resolve) => resolve(this.start(args)));
  }

  private start(
    args: FederatedSubscribeArgs<TContext>,
  ): AsyncIterableIterator<ExecutionResult> | ExecutionResult {
    if (this.disposed) return errorResult('Subscriptions are shutting down', 'SERVICE_UNAVAILABLE');
    const bound = this.bind(args, this.generation);
    if (!('key' in bound)) return bound;
    const local = new LocalSubscription(
      bound.execute,
      this.options.maxBufferedEvents ?? DEFAULT_MAX_BUFFERED_EVENTS,
      bound.ownErrors,
      args.sink,
    );
    const subscriber: Subscriber<TContext> = { args, upstreamKey: bound.key, ending: false };
    this.subscribers.set(local, subscriber);
    return this.attach(local, subscriber, bound) ?? local;
  }

  /**
   * Plans a subscription against one supergraph: what each event runs, and which upstream
   * request feeds it. A result with errors when the operation cannot run there.
   */
  private bind(
    args: FederatedSubscribeArgs<TContext>,
    generation: Generation,
  ): Binding<TContext> | ExecutionResult {
    const { document, context } = args;
    const operationName = args.operationName ?? undefined;
    const variables = args.variables ?? {};
    const { schemas, serviceMap } = generation;
    const { schema } = schemas;

    const validationErrors = this.validationOf(generation, document);
    if (validationErrors.length > 0) return withCode(validationErrors, 'GRAPHQL_VALIDATION_FAILED');
    const operation = getOperationAST(document, operationName);
    if (!operation) {
      return errorResult(
        operationName
          ? `Unknown operation named "${operationName}"`
          : 'Must provide operation name if query contains multiple operations',
        'OPERATION_RESOLUTION_FAILURE',
      );
    }
    if (operation.operation !== OperationTypeNode.SUBSCRIPTION) {
      return errorResult(
        `Only subscriptions are executed here; got a ${operation.operation}`,
        'BAD_REQUEST',
      );
    }
    const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables);
    if (coerced.errors) return withCode(coerced.errors, 'BAD_USER_INPUT');

    let prepared: PreparedSubscription;
    try {
      prepared = generation.plans.prepare(document, operation, operationName);
    } catch (error) {
      return errorResult(
        `Could not plan the subscription: ${error instanceof Error ? error.message : String(error)}`,
        'QUERY_PLANNING_FAILED',
        error,
      );
    }

    const { primary } = prepared;
    if (!serviceMap[primary.serviceName]) {
      return errorResult(
        `No data source for service "${primary.serviceName}"`,
        'QUERY_PLANNING_FAILED',
      );
    }
    const upstreamVariables: Record<string, unknown> = {};
    for (const name of primary.variableUsages ?? []) {
      if (Object.hasOwn(variables, name) && variables[name] !== undefined) {
        upstreamVariables[name] = variables[name];
      }
    }
    const viewer = this.viewerOptionsFor(generation, prepared);
    // Equal upstream requests whatever the aliases, so one client cannot multiply upstreams
    // by renaming what it asks for.
    let request = this.requestFor(generation, prepared, upstreamVariables, viewer !== undefined);
    let shared = viewer !== undefined;
    if (shared && !request.viewerFieldsReplaced) {
      // Sent as written, the subgraph would answer the viewer fields for the shared caller.
      shared = false;
      request = this.requestFor(generation, prepared, upstreamVariables, false);
    }
    // Shared: one caller for everyone (null cannot collide with any per-caller key).
    const shareKey = shared ? null : (this.options.shareKey?.(context) ?? '');
    // The supergraph too: results of one event under two plans are not the same result.
    const selection = [schemas.schemaHash, prepared.queryHash, operationName ?? null, variables];
    const fetchCache = this.options.fetchCache;
    const newExecution = (runAs: TContext): SubscriberExecution => ({
      schemas,
      prepared,
      request,
      serviceMap: fetchCache?.usableFor(runAs)
        ? withFetchCache(serviceMap, prepared, schemas.supergraphSchema, fetchCache.cache)
        : serviceMap,
      requestContext: eventRequestContext({
        schemas,
        prepared,
        document,
        operation,
        operationName,
        variables,
        context: runAs,
        logger: this.logger,
      }),
      logger: this.logger,
    });
    // Shared: the subscribers of one selection run one execution per event, as the shared
    // caller, so they need only one description of it.
    const execution = shared
      ? this.sharedExecution(prepared, JSON.stringify(selection), () =>
          newExecution(viewer!.context()),
        )
      : newExecution(context);
    return {
      key: JSON.stringify([
        primary.serviceName,
        request.query,
        stableStringify(request.variables),
        shareKey,
      ]),
      serviceName: primary.serviceName,
      shareKey,
      runAs: execution.requestContext.context as TContext,
      request,
      execute: shared
        ? this.viewerExecution(execution, viewer!.key(context), selection)
        : this.callerExecution(execution, context, selection),
      ownErrors: (errors) => withPaths(errors, request),
    };
  }

  /**
   * Feeds `local` from the upstream of its binding, opened when none is: undefined, or the
   * result with errors when the upstream cannot be reached.
   */
  private attach(
    local: LocalSubscription,
    subscriber: Subscriber<TContext>,
    bound: Binding<TContext>,
  ): ExecutionResult | undefined {
    const { key, serviceName, shareKey } = bound;
    subscriber.upstreamKey = key;
    const existing = this.upstreams.get(key);
    if (existing) {
      existing.add(local);
      return undefined;
    }
    let lease: ClientLease;
    try {
      lease = this.connections.acquire(serviceName, shareKey, bound.runAs);
    } catch (error) {
      return { errors: upstreamErrors(serviceName, error, this.logger) };
    }
    const upstream = new SharedUpstream(serviceName, lease, this.logger, () => {
      if (this.upstreams.get(key) === upstream) this.upstreams.delete(key);
      this.connections.release(serviceName, shareKey);
    });
    this.upstreams.set(key, upstream);
    upstream.add(local);
    upstream.start({ query: bound.request.query, variables: bound.request.variables });
    return undefined;
  }

  /**
   * The upstream request of a plan with these variables, made once: every subscriber of the
   * same selection and showtime gets the same object (it holds nothing of the subscriber).
   */
  private requestFor(
    generation: Generation,
    prepared: PreparedSubscription,
    variables: Record<string, unknown>,
    withViewerFields: boolean,
  ): UpstreamRequest {
    const key = `${withViewerFields ? 'v' : 'c'}${stableStringify(variables)}`;
    return this.perPlan(this.requests, prepared, key, () =>
      upstreamRequest(
        generation.schemas.supergraphSchema,
        prepared.primaryDocument,
        variables,
        withViewerFields ? this.viewerFields : undefined,
      ),
    );
  }

  /** The execution shared by the subscribers of one selection across viewers. */
  private sharedExecution(
    prepared: PreparedSubscription,
    selection: string,
    make: () => SubscriberExecution,
  ): SubscriberExecution {
    return this.perPlan(this.executions, prepared, selection, make);
  }

  /** A value per (plan, key), made once; at most `PER_PLAN_ENTRIES` kept per plan. */
  private perPlan<V>(
    cache: WeakMap<PreparedSubscription, Map<string, V>>,
    prepared: PreparedSubscription,
    key: string,
    make: () => V,
  ): V {
    let values = cache.get(prepared);
    if (!values) {
      values = new Map();
      cache.set(prepared, values);
    }
    let value = values.get(key);
    if (value === undefined) {
      value = make();
      if (values.size >= PER_PLAN_ENTRIES) values.clear();
      values.set(key, value);
    }
    return value;
  }

  /**
   * `validate` once per document object: a server that parses each distinct operation text
   * once (as `serveWebSockets` does) hands thousands of subscribers the same document.
   */
  private validationOf(generation: Generation, document: DocumentNode): readonly GraphQLError[] {
    let errors = generation.validations.get(document);
    if (!errors) {
      errors = validate(generation.schemas.schema, document);
      generation.validations.set(document, errors);
    }
    return errors;
  }

  /** The viewer-field options when this plan's subscribers may share across viewers. */
  private viewerOptionsFor(
    generation: Generation,
    prepared: PreparedSubscription,
  ): ViewerFieldsOptions<TContext> | undefined {
    const viewer = this.options.viewerFields;
    if (!viewer || !this.viewerFields) return undefined;
    let shareable = this.shareable.get(prepared);
    if (shareable === undefined) {
      shareable = shareableAcrossViewers(
        generation.schemas.supergraphSchema,
        prepared,
        this.viewerFields,
        this.publicServices,
      );
      this.shareable.set(prepared, shareable);
    }
    return shareable ? viewer : undefined;
  }

  /**
   * Per caller: subscribers whose fields from other subgraphs cannot differ (same
   * resultShareKey, same operation and variables) get one result per event, computed once.
   */
  private callerExecution(
    execution: SubscriberExecution,
    context: TContext,
    selection: unknown[],
  ): (event: UpstreamEvent) => Promise<ExecutionResult> {
    const resultShare = this.options.resultShareKey?.(context);
    const execute = (event: UpstreamEvent) => executeEvent(execution, event);
    if (resultShare == null) return execute;
    const resultKey = JSON.stringify([resultShare, ...selection]);
    return (event) => this.eventResults.once(resultKey, event, () => execute(event));
  }

  /**
   * Across viewers: one execution per event and selection for everyone, then this
   * subscriber's viewer fields (a copy only when the event names its key).
   */
  private viewerExecution(
    execution: SubscriberExecution,
    viewerKey: string | null,
    selection: unknown[],
  ): (event: UpstreamEvent) => Promise<ExecutionResult> {
    const resultKey = JSON.stringify(selection);
    // Run per subscriber and event: one promise, no async frame.
    const own = (shared: SharedViewerResult) => personalise(shared, viewerKey);
    return (event) =>
      this.viewerResults
        .once(resultKey, event, () => executeForViewers(execution, event))
        .then(own);
  }

  /** How many upstream graphql-ws subscriptions are open (shared ones count once). */
  activeUpstreamCount(): number {
    return this.upstreams.size;
  }

  /** How many client subscriptions the upstream ones feed (the gateway's metrics). */
  subscriberCount(): number {
    let count = 0;
    for (const upstream of this.upstreams.values()) count += upstream.subscribers.size;
    return count;
  }

  /** How many upstream graphql-ws connections are open or opening (the gateway's metrics). */
  upstreamConnectionCount(): number {
    return this.connections.size;
  }

  /**
   * Ends every subscription (their iterators complete after what they have queued), closes
   * every upstream connection and refuses later subscriptions: for gateway shutdown.
   */
  async dispose(): Promise<void> {
    this.disposed = true;
    for (const timer of this.endings) clearTimeout(timer);
    this.endings.clear();
    for (const upstream of [...this.upstreams.values()]) upstream.end(undefined, true);
    await this.connections.dispose();
  }
}
