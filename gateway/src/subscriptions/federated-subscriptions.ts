import {
  buildOperationContext,
  executeQueryPlan,
  type GraphQLDataSource,
  type ServiceMap,
} from '@apollo/gateway';
import { operationFromDocument, Supergraph, type Schema } from '@apollo/federation-internals';
import { QueryPlanner, type FetchNode, type PlanNode, type QueryPlan } from '@apollo/query-planner';
import {
  getOperationAST,
  getVariableValues,
  GraphQLError,
  parse,
  print,
  validate,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { createClient, type Client, type FormattedExecutionResult } from 'graphql-ws';
import { createHash } from 'node:crypto';
import WebSocket from 'ws';
import { stableStringify, upstreamRequest, type UpstreamRequest } from './upstream-request';

/** The request context `executeQueryPlan` expects, named without importing its private package. */
type GatewayRequestContext = Parameters<typeof executeQueryPlan>[2];
type GatewayLogger = GatewayRequestContext['logger'];
type UpstreamEvent = FormattedExecutionResult<Record<string, unknown>, unknown>;

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
}

/** One call of {@link FederatedSubscriptions.subscribe}. */
export interface FederatedSubscribeArgs<TContext extends object> {
  readonly document: DocumentNode;
  readonly operationName?: string | null;
  readonly variables?: Record<string, unknown> | null;
  /** The caller's gateway context: passed to the data sources, `upstreamHeaders` and `shareKey`. */
  readonly context: TContext;
}

/** What planning a subscription operation produced: computed once per document. */
interface PreparedSubscription {
  readonly operation: OperationDefinitionNode;
  readonly source: string;
  readonly queryHash: string;
  readonly primary: FetchNode;
  /** `primary.operation` parsed: normalised per subscriber into its upstream request. */
  readonly primaryDocument: DocumentNode;
  /** The plan run per event: the primary fetch (answered from the event), then the rest. */
  readonly perEventPlan: QueryPlan;
  readonly operationContext: ReturnType<typeof buildOperationContext>;
}

const DEFAULT_MAX_BUFFERED_EVENTS = 1000;
const PLAN_CACHE_SIZE = 100;
const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });
const NO_CACHE: GatewayRequestContext['cache'] = {
  get: async () => undefined,
  set: async () => undefined,
  delete: async () => true,
};

function errorResult(message: string, code: string, originalError?: unknown): ExecutionResult {
  return {
    errors: [
      new GraphQLError(message, {
        extensions: { code },
        originalError: originalError instanceof Error ? originalError : undefined,
      }),
    ],
  };
}

function withCode(errors: readonly GraphQLError[], code: string): ExecutionResult {
  return {
    errors: errors.map(
      (error) =>
        new GraphQLError(error.message, {
          nodes: error.nodes,
          source: error.source,
          positions: error.positions,
          path: error.path,
          originalError: error,
          extensions: { ...error.extensions, code },
        }),
    ),
  };
}

/**
 * Turns whatever graphql-ws hands to `sink.error` into GraphQL errors naming the subgraph.
 * A transport failure says which service and what kind of failure, nothing more: socket
 * messages and close reasons name internal hosts and ports, so they go to the log only.
 */
function upstreamErrors(
  serviceName: string,
  reason: unknown,
  logger: GatewayLogger,
): GraphQLError[] {
  if (Array.isArray(reason)) {
    // The subgraph answered the subscribe message with GraphQL errors.
    return (reason as GraphQLFormattedError[]).map(
      (error) =>
        new GraphQLError(error.message || `Subscription to service "${serviceName}" failed`, {
          path: error.path,
          extensions: {
            ...error.extensions,
            code: error.extensions?.code ?? 'DOWNSTREAM_SERVICE_ERROR',
            serviceName,
          },
        }),
    );
  }
  const extensions = { code: 'SERVICE_UNAVAILABLE', serviceName };
  if (reason !== null && typeof reason === 'object') {
    const r = reason as { code?: unknown; reason?: unknown; message?: unknown };
    if (typeof r.code === 'number') {
      // A CloseEvent: the socket failed to open or was closed under the subscription.
      logger.warn(
        `Subscription to service "${serviceName}" closed (code ${r.code}: ${String(r.reason ?? '')})`,
      );
      return [
        new GraphQLError(`Subscription to service "${serviceName}" closed (code ${r.code})`, {
          extensions,
        }),
      ];
    }
    if (typeof r.message === 'string' && r.message) {
      logger.warn(`Subscription to service "${serviceName}" failed: ${r.message}`);
    }
  }
  return [new GraphQLError(`Subscription to service "${serviceName}" failed`, { extensions })];
}

/** The same errors with their paths in one subscriber's response keys. */
function withPaths(errors: readonly GraphQLError[], request: UpstreamRequest): GraphQLError[] {
  return errors.map((error) =>
    error.path
      ? new GraphQLError(error.message, {
          path: request.toSubscriberPath(error.path),
          originalError: error.originalError ?? undefined,
          extensions: error.extensions,
        })
      : error,
  );
}

type QueueItem =
  | { readonly kind: 'event'; readonly event: UpstreamEvent }
  /** A result with errors that does not end the subscription (the upstream is reconnecting). */
  | { readonly kind: 'notice'; readonly errors: readonly GraphQLError[] }
  | { readonly kind: 'end'; readonly errors?: readonly GraphQLError[] };

/**
 * One subscriber's iterator. Upstream events are queued raw and turned into a federated
 * result when pulled, in order, so a slow consumer costs a bounded queue, not parallel work.
 */
class LocalSubscription implements AsyncIterableIterator<ExecutionResult> {
  private readonly queue: QueueItem[] = [];
  private wake: (() => void) | undefined;
  private closed = false;
  private tail: Promise<unknown> = Promise.resolve();
  detach: () => void = () => undefined;

  constructor(
    private readonly execute: (event: UpstreamEvent) => Promise<ExecutionResult>,
    private readonly maxBufferedEvents: number,
    /** Upstream errors (shared by every subscriber) in this subscriber's response keys. */
    private readonly ownErrors: (errors: readonly GraphQLError[]) => GraphQLError[],
  ) {}

  /** Called by the shared upstream. */
  deliver(item: QueueItem): void {
    if (this.closed) return;
    if (item.kind !== 'end' && this.queue.length >= this.maxBufferedEvents) {
      this.queue.length = 0;
      this.queue.push({
        kind: 'end',
        errors: errorResult(
          'Subscription dropped: the client did not keep up with its events',
          'SUBSCRIPTION_BUFFER_OVERFLOW',
        ).errors,
      });
      this.detach();
    } else {
      this.queue.push(item);
    }
    this.signal();
  }

  next(): Promise<IteratorResult<ExecutionResult>> {
    // Concurrent next() calls are answered in order.
    const result = this.tail.then(() => this.pull());
    this.tail = result.catch(() => undefined);
    return result;
  }

  async return(): Promise<IteratorResult<ExecutionResult>> {
    this.close();
    return DONE;
  }

  async throw(error?: unknown): Promise<IteratorResult<ExecutionResult>> {
    this.close();
    throw error;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private close(): void {
    this.closed = true;
    this.queue.length = 0;
    this.detach();
    this.signal();
  }

  private signal(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private async pull(): Promise<IteratorResult<ExecutionResult>> {
    while (!this.closed && this.queue.length === 0) {
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    const item = this.queue.shift();
    if (this.closed || !item) return DONE;
    if (item.kind === 'end') {
      this.close();
      return item.errors?.length
        ? { done: false, value: { errors: this.ownErrors(item.errors) } }
        : DONE;
    }
    if (item.kind === 'notice')
      return { done: false, value: { errors: this.ownErrors(item.errors) } };
    return { done: false, value: await this.execute(item.event) };
  }
}

/** A graphql-ws client shared by the upstream subscriptions of one (subgraph, shareKey). */
interface ClientLease {
  readonly client: Client;
  refs: number;
  /** The upstream subscriptions on this client: told when its connection drops. */
  readonly upstreams: Set<SharedUpstream>;
  /** Acknowledged and not closed since: a close now is a drop the subscribers must hear of. */
  live: boolean;
}

/** One upstream graphql-ws subscription fanned out to its local subscribers. */
class SharedUpstream {
  readonly subscribers = new Set<LocalSubscription>();
  private unsubscribe: (() => void) | undefined;
  private ended = false;

  constructor(
    private readonly serviceName: string,
    private readonly lease: ClientLease,
    private readonly logger: GatewayLogger,
    private readonly onGone: () => void,
  ) {
    lease.upstreams.add(this);
  }

  start(payload: { query: string; variables: Record<string, unknown> }) {
    this.unsubscribe = this.lease.client.subscribe<Record<string, unknown>>(payload, {
      next: (event) => {
        for (const subscriber of this.subscribers) subscriber.deliver({ kind: 'event', event });
      },
      error: (reason) => this.end(upstreamErrors(this.serviceName, reason, this.logger)),
      complete: () => this.end(),
    });
  }

  add(subscriber: LocalSubscription): void {
    this.subscribers.add(subscriber);
    subscriber.detach = () => this.remove(subscriber);
  }

  /** The connection dropped and is being re-established: events may be missed meanwhile. */
  interrupted(): void {
    if (this.ended) return;
    const errors = [
      new GraphQLError(
        `The connection to service "${this.serviceName}" was lost and is being re-established; ` +
          'events may have been missed: fetch the current state again',
        { extensions: { code: 'SERVICE_UNAVAILABLE', serviceName: this.serviceName } },
      ),
    ];
    for (const subscriber of this.subscribers) subscriber.deliver({ kind: 'notice', errors });
  }

  /**
   * The upstream ended, or (`cancel`) the instance is disposed: end every subscriber after
   * what it has queued.
   */
  end(errors?: readonly GraphQLError[], cancel = false): void {
    if (this.ended) return;
    this.ended = true;
    this.lease.upstreams.delete(this);
    if (cancel) this.unsubscribe?.();
    this.onGone();
    const subscribers = [...this.subscribers];
    this.subscribers.clear();
    for (const subscriber of subscribers) subscriber.deliver({ kind: 'end', errors });
  }

  private remove(subscriber: LocalSubscription): void {
    if (!this.subscribers.delete(subscriber) || this.subscribers.size > 0 || this.ended) return;
    // The last local subscriber left: complete the upstream subscription.
    this.ended = true;
    this.lease.upstreams.delete(this);
    this.unsubscribe?.();
    this.onGone();
  }
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
  private readonly apiSchema: Schema;
  private readonly graphqlSchema: GraphQLSchema;
  private readonly supergraphSchema: GraphQLSchema;
  private readonly queryPlanner: QueryPlanner;
  private readonly schemaHash: GatewayRequestContext['schemaHash'];
  private readonly plans = new Map<string, PreparedSubscription>();
  private readonly upstreams = new Map<string, SharedUpstream>();
  private readonly clients = new Map<string, ClientLease>();
  private readonly logger: GatewayLogger;
  private disposed = false;

  constructor(private readonly options: FederatedSubscriptionsOptions<TContext>) {
    const supergraph = Supergraph.build(options.supergraphSdl);
    this.apiSchema = supergraph.apiSchema();
    this.graphqlSchema = this.apiSchema.toGraphQLJSSchema();
    this.supergraphSchema = supergraph.schema.toGraphQLJSSchema();
    this.queryPlanner = new QueryPlanner(supergraph);
    // Branded string in the gateway's types; only its identity matters.
    this.schemaHash = createHash('sha256')
      .update(options.supergraphSdl)
      .digest('hex') as GatewayRequestContext['schemaHash'];
    this.logger = options.logger ?? console;
  }

  /** The API schema clients see (what a graphql-ws server validates operations against). */
  get schema(): GraphQLSchema {
    return this.graphqlSchema;
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
  async subscribe(
    args: FederatedSubscribeArgs<TContext>,
  ): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
    const { document, context } = args;
    if (this.disposed) return errorResult('Subscriptions are shutting down', 'SERVICE_UNAVAILABLE');
    const operationName = args.operationName ?? undefined;
    const variables = args.variables ?? {};

    const validationErrors = validate(this.graphqlSchema, document);
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
    if (operation.operation !== 'subscription') {
      return errorResult(
        `Only subscriptions are executed here; got a ${operation.operation}`,
        'BAD_REQUEST',
      );
    }
    const coerced = getVariableValues(
      this.graphqlSchema,
      operation.variableDefinitions ?? [],
      variables,
    );
    if (coerced.errors) return withCode(coerced.errors, 'BAD_USER_INPUT');

    let prepared: PreparedSubscription;
    try {
      prepared = this.prepare(document, operation, operationName);
    } catch (error) {
      return errorResult(
        `Could not plan the subscription: ${error instanceof Error ? error.message : String(error)}`,
        'QUERY_PLANNING_FAILED',
        error,
      );
    }

    const { primary } = prepared;
    const primaryDataSource = this.options.serviceMap[primary.serviceName];
    if (!primaryDataSource) {
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
    const shareKey = this.options.shareKey?.(context) ?? '';
    // Equal upstream requests whatever the aliases, so one client cannot multiply upstreams
    // by renaming what it asks for.
    const request = upstreamRequest(
      this.supergraphSchema,
      prepared.primaryDocument,
      upstreamVariables,
    );

    const baseRequestContext: Omit<GatewayRequestContext, 'metrics'> = {
      request: { query: prepared.source, operationName, variables },
      logger: this.logger,
      schema: this.graphqlSchema,
      schemaHash: this.schemaHash,
      context,
      cache: NO_CACHE,
      queryHash: prepared.queryHash,
      document,
      source: prepared.source,
      operationName: operation.name?.value ?? null,
      operation,
      overallCachePolicy: undefined,
    };
    // Subscribers whose fields from other subgraphs cannot differ (same resultShareKey, same
    // operation and variables) get one result per event, computed once.
    const resultShare = this.options.resultShareKey?.(context);
    const resultKey =
      resultShare == null
        ? null
        : JSON.stringify([resultShare, prepared.queryHash, operationName ?? null, variables]);
    const execute = (event: UpstreamEvent) =>
      this.executeEvent(prepared, request, primaryDataSource, baseRequestContext, event);
    const local = new LocalSubscription(
      (event) =>
        resultKey === null
          ? execute(event)
          : this.executeOnce(resultKey, event, () => execute(event)),
      this.options.maxBufferedEvents ?? DEFAULT_MAX_BUFFERED_EVENTS,
      (errors) => withPaths(errors, request),
    );

    const key = JSON.stringify([
      primary.serviceName,
      request.query,
      stableStringify(request.variables),
      shareKey,
    ]);
    const existing = this.upstreams.get(key);
    if (existing) {
      existing.add(local);
      return local;
    }

    let lease: ClientLease;
    try {
      lease = this.acquireClient(primary.serviceName, shareKey, context);
    } catch (error) {
      return { errors: upstreamErrors(primary.serviceName, error, this.logger) };
    }
    const upstream = new SharedUpstream(primary.serviceName, lease, this.logger, () => {
      if (this.upstreams.get(key) === upstream) this.upstreams.delete(key);
      this.releaseClient(primary.serviceName, shareKey);
    });
    this.upstreams.set(key, upstream);
    upstream.add(local);
    upstream.start({ query: request.query, variables: request.variables });
    return local;
  }

  /** How many upstream graphql-ws subscriptions are open (shared ones count once). */
  activeUpstreamCount(): number {
    return this.upstreams.size;
  }

  /**
   * Ends every subscription (their iterators complete after what they have queued), closes
   * every upstream connection and refuses later subscriptions: for gateway shutdown.
   */
  async dispose(): Promise<void> {
    this.disposed = true;
    const leases = [...this.clients.values()];
    for (const upstream of [...this.upstreams.values()]) upstream.end(undefined, true);
    this.clients.clear();
    await Promise.all(leases.map(async (lease) => lease.client.dispose()));
  }

  private prepare(
    document: DocumentNode,
    operation: OperationDefinitionNode,
    operationName: string | undefined,
  ): PreparedSubscription {
    const source = print(document);
    const cacheKey = JSON.stringify([source, operationName ?? null]);
    const cached = this.plans.get(cacheKey);
    if (cached) return cached;

    const plan = this.queryPlanner.buildQueryPlan(
      operationFromDocument(this.apiSchema, document, { operationName }),
    );
    const node = plan.node;
    if (node?.kind !== 'Subscription') {
      throw new Error(`expected a Subscription plan, got ${node?.kind ?? 'an empty plan'}`);
    }
    // executeQueryPlan refuses a top-level Subscription node; a Sequence starting with the
    // primary fetch is an ordinary plan, and the primary's data source will be the event.
    const perEventNode: PlanNode = node.rest
      ? { kind: 'Sequence', nodes: [node.primary, node.rest] }
      : node.primary;
    const prepared: PreparedSubscription = {
      operation,
      source,
      queryHash: createHash('sha256').update(source).digest('hex'),
      primary: node.primary,
      primaryDocument: parse(node.primary.operation),
      perEventPlan: { kind: 'QueryPlan', node: perEventNode },
      operationContext: buildOperationContext({
        schema: this.graphqlSchema,
        operationDocument: document,
        operationName,
      }),
    };
    if (this.plans.size >= PLAN_CACHE_SIZE) {
      const oldest = this.plans.keys().next();
      if (!oldest.done) this.plans.delete(oldest.value);
    }
    this.plans.set(cacheKey, prepared);
    return prepared;
  }

  /** Per upstream event: results by operation, shared by the subscribers that asked alike. */
  private readonly eventResults = new WeakMap<
    UpstreamEvent,
    Map<string, Promise<ExecutionResult>>
  >();

  /**
   * Runs the per-event plan once per (event, operation, variables): a thousand anonymous
   * subscribers of one seat map cost one fetch of the fields other subgraphs own, not a
   * thousand.
   */
  private executeOnce(
    key: string,
    event: UpstreamEvent,
    execute: () => Promise<ExecutionResult>,
  ): Promise<ExecutionResult> {
    let results = this.eventResults.get(event);
    if (!results) {
      results = new Map();
      this.eventResults.set(event, results);
    }
    let result = results.get(key);
    if (!result) {
      result = execute();
      results.set(key, result);
    }
    return result;
  }

  private async executeEvent(
    prepared: PreparedSubscription,
    request: UpstreamRequest,
    primaryDataSource: GraphQLDataSource,
    baseRequestContext: Omit<GatewayRequestContext, 'metrics'>,
    event: UpstreamEvent,
  ): Promise<ExecutionResult> {
    const { primary } = prepared;
    const eventSource: GraphQLDataSource = {
      process: (options) => {
        if (options.request.query !== primary.operation) return primaryDataSource.process(options);
        // The event in this subscriber's shape, and a copy per subscriber: the executor merges
        // entity data into what it is given, and a shared event must not carry one
        // subscriber's fields into another's result.
        return Promise.resolve({
          data: event.data == null ? event.data : request.toSubscriberData(event.data),
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
        { ...this.options.serviceMap, [primary.serviceName]: eventSource },
        // Fresh metrics per event: the executor appends error paths to them.
        { ...baseRequestContext, metrics: {} },
        prepared.operationContext,
        this.supergraphSchema,
        this.apiSchema,
      );
    } catch (error) {
      this.logger.error(`Executing a subscription event failed: ${String(error)}`);
      return errorResult('Executing the subscription event failed', 'INTERNAL_SERVER_ERROR', error);
    }
  }

  private acquireClient(serviceName: string, shareKey: string, context: TContext): ClientLease {
    const key = JSON.stringify([serviceName, shareKey]);
    let lease = this.clients.get(key);
    if (!lease) {
      lease = this.createLease(serviceName, context);
      this.clients.set(key, lease);
    }
    lease.refs += 1;
    return lease;
  }

  private createLease(serviceName: string, context: TContext): ClientLease {
    const headers = () => this.options.upstreamHeaders?.(context, serviceName) ?? {};
    const keepAlive = this.options.keepAlive ?? 0;
    const handshake = keepAlive > 0 ? { handshakeTimeout: keepAlive } : {};
    // graphql-ws constructs `new impl(url, protocol)`; ws takes headers as a third argument.
    class WebSocketWithHeaders extends WebSocket {
      constructor(address: string | URL, protocols?: string | string[]) {
        super(address, protocols, { headers: headers(), ...handshake });
      }
    }
    // graphql-ws sends pings but never times them out: a ping still unanswered after
    // `keepAlive` terminates the connection (close 4499), which it then treats as a drop.
    let pongDeadline: NodeJS.Timeout | undefined;
    const stopWaiting = () => {
      clearTimeout(pongDeadline);
      pongDeadline = undefined;
    };
    const client: Client = createClient({
      url: this.options.subscriptionUrl(serviceName),
      webSocketImpl: WebSocketWithHeaders,
      lazy: true,
      connectionParams: () => ({ headers: headers() }),
      retryAttempts: this.options.retryAttempts ?? 0,
      ...(this.options.retryWait ? { retryWait: this.options.retryWait } : {}),
      keepAlive,
      connectionAckWaitTimeout: keepAlive,
      on: {
        connected: () => {
          lease.live = true;
        },
        ping: (received) => {
          if (received || keepAlive <= 0) return;
          stopWaiting();
          pongDeadline = setTimeout(() => client.terminate(), keepAlive);
        },
        pong: (received) => {
          if (received) stopWaiting();
        },
        closed: () => {
          stopWaiting();
          if (!lease.live) return;
          lease.live = false;
          // Subscribers hear of the drop now, not after the retries: whatever happens next,
          // what they saw may be stale. (A lease with no subscription left closes normally.)
          if (this.disposed || lease.refs === 0) return;
          for (const upstream of [...lease.upstreams]) upstream.interrupted();
        },
      },
    });
    const lease: ClientLease = { client, refs: 0, upstreams: new Set(), live: false };
    return lease;
  }

  private releaseClient(serviceName: string, shareKey: string): void {
    const key = JSON.stringify([serviceName, shareKey]);
    const lease = this.clients.get(key);
    if (!lease) return;
    lease.refs -= 1;
    if (lease.refs > 0) return;
    this.clients.delete(key);
    void Promise.resolve(lease.client.dispose()).catch(() => undefined);
  }
}
