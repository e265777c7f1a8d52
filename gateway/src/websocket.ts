import type { ApolloServer } from '@apollo/server';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import { BlockList, isIP } from 'node:net';
import {
  getOperationAST,
  GraphQLError,
  OperationTypeNode,
  validate,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLFormattedError,
  type GraphQLSchema,
} from 'graphql';
import { CloseCode, type FormattedExecutionResult } from 'graphql-ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { AppConfig } from '../../runtime/config';
import type { LoadGate } from '../../runtime/load-shedding';
import { serveGraphqlWs } from '../../runtime/graphql-ws-server';
import { formatError } from '../../runtime/errors';
import { ANONYMOUS, IDENTITY_HEADER, signIdentity } from '../../runtime/identity';
import { REQUEST_ID_HEADER, type Logger } from '../../runtime/logger';
import { subgraphFetchMetrics, type ServiceMetrics } from '../../runtime/metrics';
import {
  checkOperationLimits,
  checkTextArguments,
  describeBytes,
  parseWithLimits,
} from '../../runtime/query-limits';
import { seatHolderTags } from '../../runtime/seat-holder';
import type { Authentication, Authenticator } from './authenticate';
import type { Composition, LiveSupergraph } from './live-supergraph';
import { SubgraphClient, type GatewayContext } from './subgraph-client';
import {
  FederatedSubscriptions,
  type FederatedSubscriptionsOptions,
  type ResultSink,
} from './subscriptions';
import { frameWriter } from './text-frames';

/** The subgraph's graphql-ws endpoint: the same URL as its HTTP one, on ws(s). */
const wsUrl = (httpUrl: string) => httpUrl.replace(/^http/, 'ws');

/**
 * Upstream (gateway → subgraph) keep-alive: a ping every 10 s, and a connection whose ping is
 * not answered within another 10 s is dead. Then up to 3 reconnections with graphql-ws's
 * backoff (about 1–4 s, 2–5 s, 4–7 s) before the subscribers are ended.
 */
const UPSTREAM_KEEP_ALIVE_MS = 10_000;
const UPSTREAM_RETRY_ATTEMPTS = 3;

/** Distinct operation texts kept parsed and validated, and the longest text kept. */
const DOCUMENTS_KEPT = 500;
const DOCUMENT_KEPT_MAX_LENGTH = 16 * 1024;

/** `}`, the end of a `next` message around its payload. */
const CLOSING_BRACE = Buffer.from('}');

/** setTimeout's longest delay (about 24.8 days); longer waits are re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const TOKEN_EXPIRED = 'Forbidden: the session token has expired; reconnect with a fresh one';

/** What the gateway keeps per socket, beside graphql-ws's own `socket` and `request`. */
type SocketState = {
  auth: Authentication;
  /** Ids of the subscriptions running on this socket (queries and mutations not counted). */
  subscriptions: Set<string>;
  /**
   * The queries and mutations admitted on this socket and not yet executed, by id, with what
   * tells the load gate each is done.
   */
  operations: Map<string, () => void>;
  /** The client's address, as the per-address limit reads it (a signed-in caller's mutations carry it, as over HTTP). */
  clientIp: string;
};

/** The load gate's refusal as an operation's error: what HTTP answers with its 503. */
function overloaded(refusal: { message: string; retryAfter: number }): GraphQLError {
  return new GraphQLError(refusal.message, {
    extensions: { code: 'SERVICE_UNAVAILABLE', retryAfter: refusal.retryAfter },
  });
}

/**
 * Queries and mutations one socket may have running at once: a client sends the next when
 * it has an answer (HTTP has the load gate; a socket must not carry more than a browser's
 * handful of requests at once).
 */
export const MAX_OPERATIONS_PER_SOCKET = 8;

/**
 * A proxy in front of the gateway (load balancer, ingress) connects from one of these: only
 * from them is `X-Forwarded-For` believed. From anywhere else the header is the client's own
 * claim, and believing it would let one client pose as any number of addresses.
 */
const PROXY_NETWORKS = (() => {
  const list = new BlockList();
  list.addSubnet('127.0.0.0', 8, 'ipv4');
  list.addSubnet('10.0.0.0', 8, 'ipv4');
  list.addSubnet('172.16.0.0', 12, 'ipv4');
  list.addSubnet('192.168.0.0', 16, 'ipv4');
  list.addSubnet('169.254.0.0', 16, 'ipv4');
  list.addAddress('::1', 'ipv6');
  list.addSubnet('fc00::', 7, 'ipv6');
  list.addSubnet('fe80::', 10, 'ipv6');
  return list;
})();

const normaliseAddress = (address: string): string => {
  const trimmed = address.trim();
  return trimmed.startsWith('::ffff:') && isIP(trimmed.slice(7)) === 4 ? trimmed.slice(7) : trimmed;
};

const isProxyAddress = (address: string): boolean => {
  const version = isIP(address);
  return version !== 0 && PROXY_NETWORKS.check(address, version === 4 ? 'ipv4' : 'ipv6');
};

/**
 * The client address a socket counts against: the peer's address, or, while that is a proxy
 * of our own networks, the address that proxy appended to `X-Forwarded-For` (read from the
 * right, as proxies append). Entries a client writes itself sit to the left of what our
 * proxies add, so forging the header moves nothing.
 */
function clientAddress(request: IncomingMessage): string {
  let address = normaliseAddress(request.socket.remoteAddress ?? '');
  const header = request.headers['x-forwarded-for'];
  const hops = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map(normaliseAddress)
    .filter(Boolean);
  while (isProxyAddress(address) && hops.length > 0) {
    const hop = hops.pop()!;
    if (isIP(hop) === 0) break;
    address = hop;
  }
  return address;
}

/**
 * The `authorization` a `connection_init` payload carries (`undefined`: anonymous), or `null`
 * when the payload is not what clients are told to send: any other field, or an
 * `authorization` that is not a string. Those are refused like a bad token rather than read
 * as anonymous, so a client that misspells the field learns at once.
 */
function authorizationOf(
  params: Readonly<Record<string, unknown>> | undefined,
): string | undefined | null {
  if (params === undefined) return undefined;
  if (Array.isArray(params)) return null;
  if (Object.keys(params).some((key) => key !== 'authorization')) return null;
  if (!Object.hasOwn(params, 'authorization')) return undefined;
  return typeof params.authorization === 'string' ? params.authorization : null;
}

const coded = (message: string, code: string) =>
  new GraphQLError(message, { extensions: { code } });

/**
 * An error as it leaves over the socket: plain, without `extensions.http` (the status an
 * HTTP response would have had; Apollo drops it there too), then the same `formatError` as
 * HTTP responses (masked in production).
 */
function formatSocketError(
  error: GraphQLError | GraphQLFormattedError,
  isProduction: boolean,
): GraphQLFormattedError {
  const formatted = error instanceof GraphQLError ? error.toJSON() : error;
  if (formatted.extensions && 'http' in formatted.extensions) {
    const { http: _http, ...extensions } = formatted.extensions;
    return formatError({ ...formatted, extensions }, isProduction);
  }
  return formatError(formatted, isProduction);
}

/**
 * graphql-transport-ws on the gateway's `/graphql`, beside HTTP: subscriptions are planned by
 * the gateway's query planner and executed by {@link FederatedSubscriptions} (root field from
 * its subgraph, other subgraphs' fields per event); queries and mutations sent over the socket
 * go through Apollo Server as over HTTP.
 *
 * Every operation is parsed with the token limit, validated and checked against the same
 * limits as HTTP (`runtime/query-limits.ts`) before anything runs, and every error and result
 * the socket sends goes through the same `formatError` (masked in production). Per socket: at
 * most `limits.maxSubscriptionsPerSocket` subscriptions (`TOO_MANY_SUBSCRIPTIONS`, the socket
 * stays open); per client address: at most `limits.maxSocketsPerAddress` sockets (the upgrade
 * is answered HTTP 429). The Clerk token is checked at `connection_init`
 * (`payload.authorization`, nothing else): none is anonymous; a bad one, or a payload with
 * another field, closes the socket with 4401; the socket closes with 4403 when the token
 * expires (plus `limits.tokenExpiryGraceSeconds`), ending its subscriptions.
 */
export function serveWebSockets(options: {
  httpServer: Server;
  apollo: ApolloServer<GatewayContext>;
  /** The composition served: subscriptions follow it (see `FederatedSubscriptions.prepareUpdate`). */
  supergraph: LiveSupergraph;
  config: AppConfig;
  authenticate: Authenticator;
  log: Logger;
  /** The gateway's metrics: open sockets, subscriptions and upstreams; per-event fetches. */
  metrics?: ServiceMetrics;
  /** The catalog cache as queries use it, for the catalog fields of events (a movie's title). */
  fetchCache?: FederatedSubscriptionsOptions<GatewayContext>['fetchCache'];
  /**
   * HTTP's load gate: a query or mutation over a socket passes it too, and is counted in
   * flight until executed; a subscription starts only when a request would be admitted.
   */
  loadGate?: LoadGate;
}): { dispose(): Promise<void>; subscriptions: FederatedSubscriptions<GatewayContext> } {
  const { config, log, metrics } = options;
  const { limits, isProduction } = config;
  const holderTag = seatHolderTags(config.internalSecret);
  const { supergraph } = options;
  /**
   * The data sources of a composition's subgraphs (every one it has, ours or not), reusing
   * the client of a subgraph whose URL did not change (its keep-alive pool).
   */
  let clients = new Map<string, SubgraphClient>();
  const serviceMapOf = (composition: Composition) => {
    const next = new Map<string, SubgraphClient>();
    for (const [name, url] of composition.subgraphUrls) {
      const known = clients.get(name);
      next.set(
        name,
        known?.url === url
          ? known
          : new SubgraphClient(name, url, config.internalSecret, {
              metrics: metrics && subgraphFetchMetrics(metrics, name),
            }),
      );
    }
    clients = next;
    return Object.fromEntries(next);
  };
  const subscriptions = new FederatedSubscriptions<GatewayContext>({
    supergraphSdl: supergraph.current.sdl,
    serviceMap: serviceMapOf(supergraph.current),
    // Read on every (re)connection: an upstream opened after a reload goes where it says.
    subscriptionUrl: (name) => {
      const url = supergraph.current.subgraphUrls.get(name);
      if (!url) throw new Error(`The supergraph has no subgraph "${name}"`);
      return wsUrl(url);
    },
    upstreamHeaders: (ctx, serviceName) => ({
      [IDENTITY_HEADER]: signIdentity(ctx.identity, config.internalSecret, serviceName),
      [REQUEST_ID_HEADER]: ctx.requestId,
    }),
    // A subscription whose plan the viewer fields cannot share (a fetch to a subgraph with
    // per-user answers): subscribers who are the same user (or all anonymous ones) share an
    // upstream and a result per event, since the subgraphs answer for the caller.
    shareKey: (ctx) => ctx.identity.userId ?? '',
    resultShareKey: (ctx) => ctx.identity.userId ?? '',
    // Seat events carry each held seat's holder tag (`SeatState.holderTag`, @inaccessible:
    // no client can select it), and the gateway knows each subscriber's own tag: so every
    // subscriber of a showtime shares one upstream subscription (as nobody in particular)
    // and one execution per event, and only a holder named in an event gets a copy with
    // its `heldByMe` set. Cinemas and movies answer the same to everyone but for heldByMe.
    viewerFields: {
      fields: { 'SeatState.heldByMe': 'holderTag' },
      key: (ctx) => (ctx.identity.userId === null ? null : holderTag(ctx.identity.userId)),
      context: () => ({ requestId: randomUUID(), identity: ANONYMOUS }),
      publicServices: ['cinemas', 'movies'],
    },
    fetchCache: options.fetchCache,
    keepAlive: UPSTREAM_KEEP_ALIVE_MS,
    retryAttempts: UPSTREAM_RETRY_ATTEMPTS,
    logger: log,
  });
  const unfollow = supergraph.follow('subscriptions', (next) => {
    const commit = subscriptions.prepareUpdate(next.sdl, serviceMapOf(next));
    return () => {
      const change = commit();
      log.info(change, 'subscriptions moved to the new supergraph');
    };
  });

  /**
   * Parsed and validated operation texts, most recent last. Only valid ones of a modest size
   * are kept (those clients send again and again), so that no client can fill it with
   * anything large.
   */
  const documents = new Map<string, DocumentNode>();
  /** The schema the kept documents were validated against: another one empties them. */
  let documentsSchema: GraphQLSchema | undefined;
  const checkedDocument = (
    query: string,
    schema: GraphQLSchema,
  ): { document: DocumentNode } | { errors: GraphQLError[] } => {
    if (documentsSchema !== schema) {
      documents.clear();
      documentsSchema = schema;
    }
    const known = documents.get(query);
    if (known) return { document: known };
    let document: DocumentNode;
    try {
      document = parseWithLimits(query, limits.maxTokens);
    } catch (error) {
      return {
        errors: [
          error instanceof GraphQLError
            ? error
            : coded('The operation could not be parsed', 'GRAPHQL_PARSE_FAILED'),
        ],
      };
    }
    const invalid = validate(schema, document);
    if (invalid.length > 0) {
      return {
        errors: invalid.map(
          (error) =>
            new GraphQLError(error.message, {
              nodes: error.nodes,
              extensions: { ...error.extensions, code: 'GRAPHQL_VALIDATION_FAILED' },
            }),
        ),
      };
    }
    if (query.length <= DOCUMENT_KEPT_MAX_LENGTH) {
      if (documents.size >= DOCUMENTS_KEPT) documents.delete(documents.keys().next().value!);
      documents.set(query, document);
    }
    return { document };
  };

  // Sockets per client address. verifyClient answers synchronously, and ws then completes
  // the upgrade and emits 'connection' in the same tick, so the count cannot be overtaken.
  const socketsByAddress = new Map<string, number>();
  const addresses = new WeakMap<IncomingMessage, string>();
  const wss = new WebSocketServer({
    server: options.httpServer,
    path: '/graphql',
    // As HTTP bodies: no message a client needs is larger.
    maxPayload: 1024 * 1024,
    verifyClient: ({ req }, done) => {
      const max = limits.maxSocketsPerAddress;
      if (max === 0) return done(true);
      const address = clientAddress(req);
      addresses.set(req, address);
      if ((socketsByAddress.get(address) ?? 0) < max) return done(true);
      log.debug({ address }, 'WebSocket refused: too many sockets from one address');
      // Refused before the upgrade: nothing is allocated for it, and the status says why.
      const body = JSON.stringify({
        errors: [
          {
            message: `Too many WebSocket connections from this address (at most ${max}: WS_MAX_SOCKETS_PER_ADDRESS)`,
            extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' },
          },
        ],
      });
      done(false, 429, body, { 'Content-Type': 'application/json' });
    },
  });
  wss.on('connection', (socket, request) => {
    const address = addresses.get(request);
    if (address === undefined) return;
    socketsByAddress.set(address, (socketsByAddress.get(address) ?? 0) + 1);
    socket.once('close', () => {
      const left = (socketsByAddress.get(address) ?? 1) - 1;
      if (left > 0) socketsByAddress.set(address, left);
      else socketsByAddress.delete(address);
    });
  });

  /** Closes the socket with 4403 at `at` (epoch ms), unless it closed before. */
  const closeAt = (socket: WebSocket, at: number) => {
    let timer: NodeJS.Timeout;
    const arm = () => {
      const delay = at - Date.now();
      timer =
        delay > MAX_TIMER_MS
          ? setTimeout(arm, MAX_TIMER_MS)
          : setTimeout(() => socket.close(CloseCode.Forbidden, TOKEN_EXPIRED), Math.max(0, delay));
      // The socket keeps the process alive while it is open, not this timer.
      timer.unref();
    };
    arm();
    socket.once('close', () => clearTimeout(timer));
  };

  /** What a result looks like on the wire: errors formatted, the size capped. */
  const eventSizes = new WeakMap<object, number>();
  const formatResult = (result: ExecutionResult): FormattedExecutionResult => {
    const errors = result.errors?.map((e) => formatSocketError(e, isProduction));
    const formatted: FormattedExecutionResult = {
      ...('data' in result ? { data: result.data } : {}),
      ...(errors ? { errors } : {}),
    };
    if (limits.maxResponseBytes > 0) {
      // A result shared by many subscribers (one per event) is measured once.
      const shared = !errors && result.data ? result.data : null;
      let size = shared ? eventSizes.get(shared) : undefined;
      if (size === undefined) {
        size = Buffer.byteLength(JSON.stringify(formatted));
        if (shared) eventSizes.set(shared, size);
      }
      if (size > limits.maxResponseBytes) {
        return {
          errors: [
            formatSocketError(
              coded(
                `The result would be over the ${describeBytes(limits.maxResponseBytes)} limit ` +
                  '(RESPONSE_MAX_BYTES): ask for less (smaller pages, fewer fields)',
                'RESPONSE_TOO_LARGE',
              ),
              isProduction,
            ),
          ],
        };
      }
    }
    return formatted;
  };

  /**
   * A result's `next` payload as graphql-ws would send it after `formatResult`, in UTF-8, for
   * a result without errors (undefined: it goes the standard way). Encoded once per data
   * object: the subscribers of one selection get the same result per event, so the same text.
   */
  const payloads = new WeakMap<object, Buffer | null>();
  const directPayload = (result: ExecutionResult): Buffer | undefined => {
    const { data } = result;
    if (result.errors !== undefined || data === null || typeof data !== 'object') return undefined;
    let bytes = payloads.get(data);
    if (bytes === undefined) {
      // formatResult's `{ data }`, measured as it measures it; too large: the standard way
      // answers RESPONSE_TOO_LARGE.
      bytes = Buffer.from(JSON.stringify({ data }));
      if (limits.maxResponseBytes > 0 && bytes.length > limits.maxResponseBytes) bytes = null;
      payloads.set(data, bytes);
    }
    return bytes ?? undefined;
  };
  /**
   * The sink of subscription `id` on `socket`: writes the `next` message graphql-ws would
   * write (`stringifyMessage({ id, type: 'next', payload: onNext(result) })`, the same text:
   * JSON.stringify of an object is its keys' texts in order) straight to the socket, as a
   * text frame (`text-frames.ts`: one buffer, one write), so that a fan-out costs one copy and
   * one write per subscriber, not graphql-ws's per-result promises, hooks, serialisation and
   * encoding. `written` waits for the socket as graphql-ws's own send does, so a client that
   * does not read still fills the subscriber's bounded queue.
   */
  const sinkFor = (socket: WebSocket, id: string): ResultSink => {
    const head = Buffer.from(`{"id":${JSON.stringify(id)},"type":"next","payload":`);
    const frames = frameWriter(socket);
    return {
      write: (result, written) => {
        const payload = directPayload(result);
        if (payload === undefined) return false;
        // As graphql-ws: nothing is sent on a socket that is closing, and that is no error.
        if (!frames.write(head, payload, CLOSING_BRACE, written)) queueMicrotask(written);
        return true;
      },
    };
  };
  /** The socket and operation id of each operation's context (see `context`). */
  const origins = new WeakMap<
    GatewayContext,
    { socket: WebSocket; id: string; operations: Map<string, () => void> }
  >();

  const server = serveGraphqlWs<Record<string, unknown>, SocketState>(
    {
      // The current one: each operation is checked against the schema served when it arrives.
      schema: () => subscriptions.schema,
      onConnect: async (ctx) => {
        const { socket } = ctx.extra;
        const authorization = authorizationOf(ctx.connectionParams);
        let auth: Authentication;
        try {
          if (authorization === null) throw new Error('malformed connection_init payload');
          auth = await options.authenticate(authorization);
        } catch {
          socket.close(CloseCode.Unauthorized, 'Unauthorized');
          return false;
        }
        const expiresAt =
          auth.expiresAt == null ? null : (auth.expiresAt + limits.tokenExpiryGraceSeconds) * 1000;
        if (expiresAt !== null && expiresAt <= Date.now()) {
          socket.close(CloseCode.Forbidden, TOKEN_EXPIRED);
          return false;
        }
        ctx.extra.auth = auth;
        ctx.extra.subscriptions = new Set();
        ctx.extra.operations = new Map();
        ctx.extra.clientIp = clientAddress(ctx.extra.request);
        if (expiresAt !== null) closeAt(socket, expiresAt);
        return true;
      },
      onSubscribe: (ctx, id, payload) => {
        // Within the grace period the socket stays, but nothing new starts on it: a demoted
        // or signed-out user cannot act on an old socket.
        const expiresAt = ctx.extra.auth?.expiresAt;
        if (expiresAt != null && expiresAt * 1000 <= Date.now()) {
          return [
            coded('The session token has expired; reconnect with a fresh one', 'UNAUTHENTICATED'),
          ];
        }
        // As HTTP: parse within the token limit, validate, then the shape and cost limits,
        // all before anything is planned or sent to a subgraph. Parsing and validating depend
        // on the text alone: done once per distinct text, and the subscribers of a seat map
        // (thousands, the same operation) share one document.
        const schema = subscriptions.schema;
        const checked = checkedDocument(payload.query, schema);
        if (!('document' in checked)) return checked.errors;
        const { document } = checked;
        const operation = getOperationAST(document, payload.operationName);
        if (!operation) {
          return [
            coded(
              payload.operationName
                ? `Unknown operation named "${payload.operationName}"`
                : 'Must provide operation name if query contains multiple operations',
              'OPERATION_RESOLUTION_FAILURE',
            ),
          ];
        }
        const refused =
          checkOperationLimits(
            schema,
            document,
            payload.operationName,
            payload.variables,
            limits,
          ) ?? checkTextArguments(document, payload.operationName, payload.variables);
        if (refused) return [refused];
        const subscription = operation.operation === OperationTypeNode.SUBSCRIPTION;
        // Last, once the operation is known to be acceptable: admitted means counted.
        const admitGate = () => options.loadGate?.admit({ counted: !subscription });
        if (subscription) {
          const running = ctx.extra.subscriptions!;
          // graphql-ws forgets a completed id at once, onComplete runs a few ticks later: a
          // client that completes one and subscribes anew in one breath is within the cap.
          for (const active of running) if (!(active in ctx.subscriptions)) running.delete(active);
          if (running.size >= limits.maxSubscriptionsPerSocket) {
            return [
              coded(
                `At most ${limits.maxSubscriptionsPerSocket} subscriptions per connection (WS_MAX_SUBSCRIPTIONS_PER_SOCKET); complete one first`,
                'TOO_MANY_SUBSCRIPTIONS',
              ),
            ];
          }
          const admission = admitGate();
          if (admission?.refused) return [overloaded(admission)];
          // Counted from here; onComplete runs for every operation that got this far.
          running.add(id);
        } else {
          // Counted until executed (see `execute`): a client that completes a query it sent
          // does not stop its execution, so completing does not make room.
          const operations = ctx.extra.operations!;
          // graphql-ws forgets an id once the client completes it, while its execution goes
          // on: the same id again would share that execution's place (and its admission).
          if (operations.has(id)) {
            return [
              coded(
                `Operation ${id} is still running; send it again under another id`,
                'BAD_REQUEST',
              ),
            ];
          }
          if (operations.size >= MAX_OPERATIONS_PER_SOCKET) {
            return [
              new GraphQLError(
                `At most ${MAX_OPERATIONS_PER_SOCKET} queries and mutations at once per connection; wait for an answer first`,
                { extensions: { code: 'RATE_LIMITED', retryAfter: 1 } },
              ),
            ];
          }
          const admission = admitGate();
          if (admission?.refused) return [overloaded(admission)];
          operations.set(id, admission?.done ?? (() => {}));
        }
        return {
          schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
        };
      },
      onComplete: (ctx, id) => {
        ctx.extra.subscriptions?.delete(id);
      },
      // What a result without errors becomes here is also what `sinkFor` writes directly:
      // a change to one is a change to the other (wire-format.test.ts holds them together).
      onNext: (_ctx, _id, _payload, _args, result) => formatResult(result),
      onError: (_ctx, _id, _payload, errors) =>
        errors.map((error) => formatSocketError(error, isProduction)),
      context: (ctx, id): GatewayContext => {
        const context: GatewayContext = {
          requestId: randomUUID(),
          identity: ctx.extra.auth!.identity,
          clientIp: ctx.extra.clientIp,
        };
        origins.set(context, { socket: ctx.extra.socket, id, operations: ctx.extra.operations! });
        return context;
      },
      subscribe: async (args) => {
        const context = args.contextValue as GatewayContext;
        const origin = origins.get(context);
        const result = await subscriptions.subscribe({
          document: args.document,
          operationName: args.operationName ?? undefined,
          variables: args.variableValues ?? {},
          context,
          sink: origin && sinkFor(origin.socket, origin.id),
        });
        return result;
      },
      execute: async (args) => {
        const context = args.contextValue as GatewayContext;
        let response;
        try {
          response = await options.apollo.executeOperation(
            {
              query: args.document,
              variables: args.variableValues ?? {},
              operationName: args.operationName ?? undefined,
            },
            { contextValue: context },
          );
        } finally {
          const origin = origins.get(context);
          if (origin) {
            origin.operations.get(origin.id)?.();
            origin.operations.delete(origin.id);
          }
        }
        if (response.body.kind !== 'single') {
          return {
            errors: [coded('Incremental delivery is not supported here', 'BAD_REQUEST')],
          };
        }
        // Apollo's result: errors already formatted (plain objects); onNext formats them
        // again, which changes nothing.
        return response.body.singleResult as ExecutionResult;
      },
    },
    wss,
    {
      log,
      // Close reasons of internal failures say nothing in production.
      isProd: isProduction,
      // A client that lets more than one largest answer pile up unread is cut off.
      dropAtBufferedBytes: limits.maxResponseBytes + 1024 * 1024,
    },
  );
  const unsample = metrics ? sampleWebSockets(metrics, wss, subscriptions) : [];
  return {
    subscriptions,
    dispose: async () => {
      unfollow();
      for (const remove of unsample) remove();
      await server.dispose();
      await subscriptions.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

/**
 * The gateway's live WebSocket figures, read when scraped: client sockets, client
 * subscriptions, and the upstream subscriptions and connections to subgraphs that feed them
 * (shared ones count once). Returns how to stop reading them.
 */
function sampleWebSockets(
  metrics: ServiceMetrics,
  wss: WebSocketServer,
  subscriptions: FederatedSubscriptions<GatewayContext>,
): Array<() => void> {
  return [
    metrics
      .sampled('moviehub_gateway_websockets_open', 'Client WebSockets open at the gateway')
      .add(() => wss.clients.size),
    metrics
      .sampled(
        'moviehub_gateway_subscriptions_open',
        'Client subscriptions running at the gateway (fed by an upstream subscription)',
      )
      .add(() => subscriptions.subscriberCount()),
    metrics
      .sampled(
        'moviehub_gateway_upstream_subscriptions_open',
        'Subscriptions from the gateway to subgraphs (one per distinct selection, shared by its subscribers)',
      )
      .add(() => subscriptions.activeUpstreamCount()),
    metrics
      .sampled(
        'moviehub_gateway_upstream_connections_open',
        'graphql-ws connections from the gateway to subgraphs, open or opening',
      )
      .add(() => subscriptions.upstreamConnectionCount()),
  ];
}
