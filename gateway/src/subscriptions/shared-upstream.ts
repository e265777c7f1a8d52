import type { GraphQLError } from 'graphql';
import type { GatewayLogger } from './gateway-types';
import type { LocalSubscription } from './local-subscription';
import { connectionLostErrors, upstreamErrors } from './subscription-errors';
import type { ClientLease, LeaseHolder } from './upstream-connections';

/** The subscribe payload sent upstream. */
export interface UpstreamPayload {
  readonly query: string;
  readonly variables: Record<string, unknown>;
}

/**
 * One upstream graphql-ws subscription fanned out to its local subscribers. It holds one
 * reference to its connection's lease and gives it back (`onGone`) exactly once: when the
 * upstream ends, or when its last subscriber leaves (then it completes the subscription
 * upstream).
 */
export class SharedUpstream implements LeaseHolder {
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

  start(payload: UpstreamPayload): void {
    this.unsubscribe = this.lease.client.subscribe<Record<string, unknown>>(payload, {
      next: (event) => {
        const item = { kind: 'event', event } as const;
        for (const subscriber of this.subscribers) subscriber.deliver(item);
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
    const errors = connectionLostErrors(this.serviceName);
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
