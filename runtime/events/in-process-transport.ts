import { createLogger, type Logger } from '../logger';
import { deliverOnce } from './delivery';
import { assertStreamName, parseEvent, serializeEvent, type DomainEvent } from './event';
import { DEFAULT_STREAM_MAX_LENGTH, resolveSubscribeOptions } from './subscribe-options';
import type {
  EventTransport,
  ResolvedSubscribeOptions,
  SubscribeOptions,
  Subscription,
} from './transport';

export interface InProcessTransportOptions {
  log?: Logger;
  /**
   * Entries kept per stream before the oldest are dropped, read or not: a memory bound.
   * Unlike Redis streams, which drop only what every group acknowledged, this transport keeps
   * finished entries too, up to the bound: its groups are created one by one as the
   * subgraphs of the process start, and one created late still reads what came before.
   */
  maxLength?: number;
}

/** An event given to a consumer and not acknowledged yet (Redis: the group's PEL). */
interface PendingEntry {
  readonly json: string;
  deliveries: number;
  /** When it was last delivered or last failed: it is due again `retryAfterMs` later. */
  idleSince: number;
  /** Being handled right now: no other consumer may take it. */
  inFlight: boolean;
  lastError?: Error;
}

interface GroupState {
  /** Absolute index of the next entry no consumer of the group has seen. */
  next: number;
  readonly pending: Map<number, PendingEntry>;
  readonly waiters: Set<() => void>;
}

interface StreamState {
  /** Serialised events; `entries[0]` has the absolute index `base`. */
  entries: string[];
  base: number;
  readonly groups: Map<string, GroupState>;
}

/** Deliveries handled in a row before yielding to the event loop, so I/O is never starved. */
const YIELD_EVERY = 100;

/**
 * The embedded local mode's event transport: Redis Streams consumer-group semantics in memory
 * (every group reads from the start of the stream, instances of a group share its events,
 * retries after `retryAfterMs`, dead letters after `maxAttempts`), so that the code running
 * on it is the code that runs on Redis. Events go through JSON as they would on the wire.
 * Nothing survives the process: an event the relay has published but no consumer has
 * finished yet is lost if the process dies (acceptable for the embedded development mode,
 * not for production, which runs on Redis). One instance must be shared by every subgraph
 * of the process, since it is their only way to reach each other.
 */
export class InProcessTransport implements EventTransport {
  private readonly streams = new Map<string, StreamState>();
  private readonly subscriptions = new Set<InProcessSubscription>();
  private readonly log: Logger;
  private readonly maxLength: number;
  private closed = false;

  constructor(options: InProcessTransportOptions = {}) {
    this.log = options.log ?? createLogger('events', 'info');
    this.maxLength = options.maxLength ?? DEFAULT_STREAM_MAX_LENGTH;
  }

  publish(stream: string, events: DomainEvent[]): Promise<void> {
    // The executor turns a refusal (closed transport, bad stream name) into a rejection.
    return new Promise((resolve) => {
      this.append(stream, events);
      resolve();
    });
  }

  private append(stream: string, events: DomainEvent[]): void {
    this.assertOpen();
    assertStreamName(stream);
    if (events.length === 0) return;
    const state = this.stream(stream);
    for (const event of events) state.entries.push(serializeEvent(event));
    const excess = state.entries.length - this.maxLength;
    if (excess > 0) {
      state.entries.splice(0, excess);
      state.base += excess;
    }
    for (const group of state.groups.values()) wakeAll(group);
  }

  subscribe(options: SubscribeOptions): Subscription {
    this.assertOpen();
    assertStreamName(options.stream);
    const resolved = resolveSubscribeOptions(options);
    const state = this.stream(resolved.stream);
    let group = state.groups.get(resolved.group);
    if (!group) {
      group = { next: state.base, pending: new Map(), waiters: new Set() };
      state.groups.set(resolved.group, group);
    }
    const subscription = new InProcessSubscription(state, group, resolved, this.log, () =>
      this.subscriptions.delete(subscription),
    );
    this.subscriptions.add(subscription);
    return subscription;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.subscriptions].map((s) => s.stop()));
    this.streams.clear();
  }

  private stream(name: string): StreamState {
    let state = this.streams.get(name);
    if (!state) {
      state = { entries: [], base: 0, groups: new Map() };
      this.streams.set(name, state);
    }
    return state;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('The event transport is closed');
  }
}

function wakeAll(group: GroupState): void {
  for (const wake of [...group.waiters]) wake();
}

class InProcessSubscription implements Subscription {
  private running = true;
  private wakeSelf: (() => void) | undefined;
  private readonly done: Promise<void>;

  constructor(
    private readonly stream: StreamState,
    private readonly group: GroupState,
    private readonly options: ResolvedSubscribeOptions,
    private readonly log: Logger,
    private readonly onStopped: () => void,
  ) {
    // Deferred: no handler may run before subscribe() has returned.
    this.done = Promise.resolve().then(() => this.run());
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wakeSelf?.();
    await this.done;
  }

  private async run(): Promise<void> {
    let handled = 0;
    try {
      while (this.running) {
        const job = this.take();
        if (!job) {
          await this.waitForWork();
          continue;
        }
        await this.process(job.index, job.entry);
        if (++handled % YIELD_EVERY === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    } catch (err) {
      // Only a bug gets here (deliverOnce catches handler and dead-letter failures).
      this.log.error({ err, stream: this.options.stream }, 'in-process subscription failed');
    } finally {
      this.onStopped();
    }
  }

  /** The next due retry of the group, else the next new entry; claims it for this consumer. */
  private take(): { index: number; entry: PendingEntry } | undefined {
    const now = Date.now();
    for (const [index, entry] of this.group.pending) {
      if (!entry.inFlight && now - entry.idleSince >= this.options.retryAfterMs) {
        entry.inFlight = true;
        entry.deliveries += 1;
        entry.idleSince = now;
        return { index, entry };
      }
    }
    // Entries dropped by the memory bound before this group read them are gone.
    if (this.group.next < this.stream.base) this.group.next = this.stream.base;
    const offset = this.group.next - this.stream.base;
    if (offset >= this.stream.entries.length) return undefined;
    const index = this.group.next;
    this.group.next += 1;
    const entry: PendingEntry = {
      json: this.stream.entries[offset],
      deliveries: 1,
      idleSince: now,
      inFlight: true,
    };
    this.group.pending.set(index, entry);
    return { index, entry };
  }

  private async process(index: number, entry: PendingEntry): Promise<void> {
    let event: DomainEvent;
    try {
      event = parseEvent(entry.json);
    } catch (err) {
      this.log.error({ err, stream: this.options.stream }, 'dropped a malformed event');
      this.group.pending.delete(index);
      return;
    }
    const outcome = await deliverOnce(
      event,
      entry.deliveries,
      entry.lastError,
      this.options,
      this.log,
    );
    if (outcome.settled) {
      this.group.pending.delete(index);
      return;
    }
    entry.inFlight = false;
    entry.idleSince = Date.now();
    entry.lastError = outcome.error;
    // Other consumers of the group may be idle with no timer: let them see the new retry.
    wakeAll(this.group);
  }

  /** Sleeps until something is published, a retry falls due, or `stop()` is called. */
  private waitForWork(): Promise<void> {
    if (!this.running) return Promise.resolve();
    const delay = this.nextRetryDelay();
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const wake = () => {
        if (timer) clearTimeout(timer);
        this.group.waiters.delete(wake);
        this.wakeSelf = undefined;
        resolve();
      };
      this.group.waiters.add(wake);
      this.wakeSelf = wake;
      if (delay !== undefined) timer = setTimeout(wake, delay);
    });
  }

  private nextRetryDelay(): number | undefined {
    let earliest: number | undefined;
    for (const entry of this.group.pending.values()) {
      if (entry.inFlight) continue;
      const due = entry.idleSince + this.options.retryAfterMs;
      if (earliest === undefined || due < earliest) earliest = due;
    }
    return earliest === undefined ? undefined : Math.max(0, earliest - Date.now());
  }
}
