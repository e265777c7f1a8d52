import type { Request, RequestHandler, Response } from 'express';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { Logger } from './logger';
import type { ServiceMetrics } from './metrics';

/** How loaded the process is, as the gate reads it. */
export interface LoadSignal {
  /** Recent event-loop delay, ms: how long a ready callback waits for its turn. */
  eventLoopDelayMs(): number;
  /** Stops measuring. */
  stop(): void;
}

export interface LoadSheddingOptions {
  /**
   * Event-loop delay (ms, sustained: {@link eventLoopDelaySignal}) above which new requests
   * are refused.
   * A request waits this long at each of its turns (parse, authenticate, plan, each upstream
   * answer, send), so 100 ms is already a second or so of added latency.
   */
  readonly maxEventLoopDelayMs?: number;
  /**
   * A request answered within this long (ms, from the end of its body to the end of its
   * answer) did not wait in a queue. When none has been for `maxQueueingIntervalMs` while
   * at least `minInFlight` are in flight, and within that interval some were answered
   * slower, a queue stands (in the event loop or before a slow upstream) and new requests
   * are refused (CoDel's rule: a queue that never empties, not one that fills for a
   * moment). Slow answers are the proof: with none answered at all there is nothing to
   * measure (requests held long on purpose, or stalled), and refusing would only latch.
   */
  readonly queueingTargetMs?: number;
  /** See `queueingTargetMs`, ms. */
  readonly maxQueueingIntervalMs?: number;
  /**
   * Below this many requests in flight (counted once their body has arrived, see
   * {@link createLoadGate}) neither the delay nor slow answers shed: a GC pause
   * or a few slow queries with a handful of requests is not overload, and refusing them
   * helps nothing. A burst that arrives at once is admitted whole: the first
   * `minInFlight` of it restart the interval.
   */
  readonly minInFlight?: number;
  /**
   * Requests in flight (exempt paths aside) above which new ones are refused, whatever the
   * delay: the queue can also build up outside the event loop (waiting for an upstream
   * socket, a slow subgraph), where the delay does not show it.
   */
  readonly maxInFlight?: number;
  /** `Retry-After` (and `extensions.retryAfter`), s. */
  readonly retryAfterSeconds?: number;
  /**
   * Paths never refused (as Express matches them: any case, a trailing slash allowed):
   * health, readiness and metrics answer whatever the load, so that an orchestrator does
   * not restart a service for being busy and the overload can be watched.
   */
  readonly exempt?: readonly string[];
  /** The load signal, for tests; by default the process's event-loop delay. */
  readonly signal?: LoadSignal;
  /** The clock (ms, monotonic), for tests. */
  readonly now?: () => number;
}

export const LOAD_SHEDDING_DEFAULTS = {
  maxEventLoopDelayMs: 100,
  queueingTargetMs: 1000,
  maxQueueingIntervalMs: 2000,
  minInFlight: 64,
  maxInFlight: 2048,
  retryAfterSeconds: 1,
  exempt: ['/health', '/ready', '/metrics'],
} as const;

/** How often the event-loop delay is read (and its histogram started again), ms. */
const SAMPLE_INTERVAL_MS = 500;
/** The delay histogram's own timer, ms; subtracted from what it measures. */
const RESOLUTION_MS = 10;

/**
 * The process's event-loop delay: how late a {@link RESOLUTION_MS} timer fired, on average
 * (Node's histogram, read and reset every {@link SAMPLE_INTERVAL_MS} on a timer that does
 * not keep the process alive), the lower of the last two readings. The mean, not the max:
 * one GC pause is not overload. Two readings: a burst that arrives at once (a seat rush)
 * is admitted whole and served, while a load the loop is late for over a whole second,
 * more than it can serve, is shed.
 */
export function eventLoopDelaySignal(): LoadSignal {
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();
  let previousMs = 0;
  let latestMs = 0;
  const timer = setInterval(() => {
    const mean = histogram.mean;
    previousMs = latestMs;
    latestMs = Number.isFinite(mean) ? Math.max(0, mean / 1e6 - RESOLUTION_MS) : 0;
    histogram.reset();
  }, SAMPLE_INTERVAL_MS);
  timer.unref();
  return {
    eventLoopDelayMs: () => Math.min(previousMs, latestMs),
    stop: () => {
      clearInterval(timer);
      histogram.disable();
    },
  };
}

/** What `LoadGate.admit` answers: refused (with when to retry), or admitted until `done`. */
export type Admission =
  | { readonly refused: true; readonly message: string; readonly retryAfter: number }
  | { readonly refused: false; readonly done: () => void };

/** The gate's middleware, and what stops it. */
export interface LoadGate {
  readonly middleware: RequestHandler;
  /**
   * The same door for work that does not come as an HTTP request (an operation over a
   * WebSocket): refused while a new request would be; otherwise counted in flight, and timed
   * as a request, until `done` (called once; later calls do nothing). `counted: false`
   * checks only (a subscription starting: it lives for hours, it is not a request in flight).
   */
  admit(options?: { counted?: boolean }): Admission;
  /** Requests in flight now, exempt paths aside. */
  inFlight(): number;
  stop(): void;
}

type ShedReason = 'event_loop_delay' | 'queueing' | 'in_flight';

/** An admitted request: its body still coming, counted in flight (since when), or done. */
interface GateEntry {
  state: typeof BODY | typeof COUNTED | typeof DONE;
  since: number;
}
const BODY = 0;
const COUNTED = 1;
const DONE = 2;
const GATE = Symbol('loadGate');
type Gated = { [GATE]?: GateEntry };

/**
 * Sheds load at the door: while the service is saturated (with at least `minInFlight`
 * requests in flight, its event loop late by more than `maxEventLoopDelayMs`, or requests
 * answered slower than `queueingTargetMs` and none quicker for `maxQueueingIntervalMs`; or
 * more than `maxInFlight` in flight), a new request is answered at once with `503`,
 * `Retry-After` and
 * a GraphQL error coded `SERVICE_UNAVAILABLE`, before its body is read, its token verified
 * or its operation planned. A refused request did nothing, so a client may send it again,
 * mutations included. Without the gate a saturated server accepts everything, every request
 * slows down together, and clients time out on the connection instead of getting an
 * answer. Requests already admitted always finish; the exempt paths (`/health`, `/ready`,
 * `/metrics`) are never refused.
 *
 * The refusal is decided when the headers arrive, but an admitted request counts as in
 * flight only from the end of its body (at once when it announces none) until its answer is
 * ended: a client that sends headers and then stalls its body (or never reads the answer)
 * waits for nothing of ours, and counting it let a few dozen such connections hold the gate
 * shut for as long as they stayed open. Stalled bodies are cut by the server's
 * `requestTimeout` (`runtime/http-service.ts`).
 */
export function createLoadGate(
  options: LoadSheddingOptions,
  context: { log: Logger; metrics?: ServiceMetrics },
): LoadGate {
  const maxDelay = options.maxEventLoopDelayMs ?? LOAD_SHEDDING_DEFAULTS.maxEventLoopDelayMs;
  const minInFlight = options.minInFlight ?? LOAD_SHEDDING_DEFAULTS.minInFlight;
  const target = options.queueingTargetMs ?? LOAD_SHEDDING_DEFAULTS.queueingTargetMs;
  const interval = options.maxQueueingIntervalMs ?? LOAD_SHEDDING_DEFAULTS.maxQueueingIntervalMs;
  const now = options.now ?? (() => performance.now());
  const maxInFlight = options.maxInFlight ?? LOAD_SHEDDING_DEFAULTS.maxInFlight;
  const retryAfter = options.retryAfterSeconds ?? LOAD_SHEDDING_DEFAULTS.retryAfterSeconds;
  const exempt = new Set(
    (options.exempt ?? LOAD_SHEDDING_DEFAULTS.exempt).map((path) => normalize(path)),
  );
  const signal = options.signal ?? eventLoopDelaySignal();
  const shed = context.metrics?.counter(
    'moviehub_http_requests_shed_total',
    'Requests refused with 503 SERVICE_UNAVAILABLE because the service was saturated, by reason',
    ['reason'],
  );
  // What the gate counts now: HTTP requests (from the end of their body) and admitted
  // WebSocket operations, until answered.
  const unsample = context.metrics
    ?.sampled(
      'moviehub_http_requests_in_flight',
      'Requests (and WebSocket queries and mutations) admitted by the load gate and not yet answered',
    )
    .add(() => inFlight);
  const shedCounts = {
    event_loop_delay: shed?.bind('event_loop_delay'),
    queueing: shed?.bind('queueing'),
    in_flight: shed?.bind('in_flight'),
  };
  const message = `The service is overloaded; retry in ${retryAfter} s`;
  const body = JSON.stringify({
    errors: [{ message, extensions: { code: 'SERVICE_UNAVAILABLE', retryAfter } }],
  });
  let inFlight = 0;
  let shedding: ShedReason | undefined;
  /** The last moment no queue stood: a quick answer, or fewer than minInFlight in flight. */
  let lastUnqueued = now();
  /**
   * The last answer slower than the target: the proof that a queue stands. Refusals never
   * move it (nor `lastUnqueued`), so once it is older than the interval the gate opens again
   * and the next admitted requests measure the queue afresh.
   */
  let lastSlow = -Infinity;

  const reasonToShed = (at: number): ShedReason | undefined => {
    if (inFlight >= maxInFlight) return 'in_flight';
    if (inFlight < minInFlight) {
      lastUnqueued = at;
      return undefined;
    }
    if (signal.eventLoopDelayMs() > maxDelay) return 'event_loop_delay';
    if (at - lastUnqueued > interval && at - lastSlow <= interval) return 'queueing';
    return undefined;
  };

  /** Counts a refusal, and says so when shedding starts. */
  const shedNow = (reason: ShedReason) => {
    shedCounts[reason]?.inc();
    if (shedding === undefined) {
      context.log.warn(
        { reason, inFlight, eventLoopDelayMs: Math.round(signal.eventLoopDelayMs()) },
        'overloaded: refusing new requests with 503 until the load drops',
      );
    }
    shedding = reason;
  };
  /** Says so when shedding stops. */
  const admitNow = () => {
    if (shedding !== undefined) {
      context.log.info({ inFlight }, 'load back under the bounds: admitting requests again');
      shedding = undefined;
    }
  };
  /** One answered request (or admitted operation) counted since `since` is done. */
  const answered = (since: number) => {
    inFlight -= 1;
    const at = now();
    if (at - since <= target) lastUnqueued = at;
    else lastSlow = at;
  };

  const refuse = (res: Response, reason: ShedReason) => {
    shedNow(reason);
    res.statusCode = 503;
    res.setHeader('retry-after', String(retryAfter));
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.setHeader('content-length', Buffer.byteLength(body));
    res.setHeader('cache-control', 'no-store');
    res.end(body);
  };

  /** Whether a path is exempt (`normalize` is linear in the path: nothing worth keeping). */
  const isExempt = (path: string): boolean => exempt.has(normalize(path));

  // Shared listeners (none made per request): each finds its request's entry on `this`.
  function count(this: Request) {
    const entry = (this as Gated)[GATE];
    if (entry === undefined || entry.state !== BODY) return;
    entry.state = COUNTED;
    inFlight += 1;
    entry.since = now();
  }
  function finish(this: Response) {
    const entry = (this as Gated)[GATE];
    if (entry === undefined) return;
    if (entry.state === COUNTED) answered(entry.since);
    entry.state = DONE;
  }

  const middleware: RequestHandler = (req, res, next) => {
    if (isExempt(req.path)) return next();
    const arrived = now();
    const reason = reasonToShed(arrived);
    if (reason) return refuse(res, reason);
    admitNow();
    const entry: GateEntry = { state: BODY, since: 0 };
    (req as Gated)[GATE] = entry;
    (res as Gated)[GATE] = entry;
    // 'prefinish' comes when the handler ends the answer (before a client that does not read
    // has taken it), 'close' when the client goes first: either way the request no longer
    // waits for anything of ours. Each comes once.
    res.on('prefinish', finish);
    res.on('close', finish);
    // 'end' comes once the body has been read whole (by the body parser); a request whose
    // handler answers without reading it is never counted, and it waited for nothing.
    if (announcesBody(req)) req.on('end', count);
    else count.call(req);
    next();
  };

  const admit = (options: { counted?: boolean } = {}): Admission => {
    const since = now();
    const reason = reasonToShed(since);
    if (reason) {
      shedNow(reason);
      return { refused: true, message, retryAfter };
    }
    admitNow();
    if (options.counted === false) return { refused: false, done: () => {} };
    inFlight += 1;
    let open = true;
    return {
      refused: false,
      done: () => {
        if (!open) return;
        open = false;
        answered(since);
      },
    };
  };

  return {
    middleware,
    admit,
    inFlight: () => inFlight,
    stop: () => {
      unsample?.();
      signal.stop();
    },
  };
}

/**
 * Whether a request has a body to wait for: Node's rule, a Transfer-Encoding or a
 * Content-Length above 0.
 */
function announcesBody(req: Request): boolean {
  return (
    req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length']) > 0
  );
}

/**
 * A path as Express routes it by default: case-insensitive, a trailing slash ignored. The
 * slashes are trimmed by a loop: `/\/+$/` takes time quadratic in a run of slashes that does
 * not end the path (16,000 of them, which fit in a request line: about 100 ms a request).
 */
export function normalize(path: string): string {
  let end = path.length;
  while (end > 0 && path.charCodeAt(end - 1) === SLASH) end -= 1;
  return end === 0 ? '/' : path.slice(0, end).toLowerCase();
}
const SLASH = 0x2f;
