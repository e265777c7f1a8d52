import { SeatStatesDocument, SeatUpdatesDocument } from '../__generated__/graphql';
import { onLiveState, request, subscribe, type ApiError } from '../api';
import { SeatStates, type SeatEvent, type SeatState } from './seat-states';

export interface LiveSeatMapOptions {
  readonly showtimeId: string;
  /** Seats whose state changed: redraw them. */
  onChange(seatIds: readonly string[]): void;
  /** Something the viewer should know (a refetch failed, live updates are interrupted). */
  onError(error: ApiError): void;
}

/** Waits before subscribing again after the server ended the subscription, doubling to 30 s. */
const RESUBSCRIBE_MS = [1000, 2000, 4000, 8000, 16000, 30000];
/** Refusals that pass: the subscription is asked for again (`retryAfter` when given). */
const RETRY_AFTER = new Set(['SERVICE_UNAVAILABLE', 'RATE_LIMITED']);
/** Waits before fetching the snapshot again after a failed fetch. */
const REFETCH_RETRY_MS = 3000;

/**
 * One showtime's seat states kept live: subscribed to SeatUpdates from the start, with the
 * snapshot (the page's first query, then SeatStates whenever needed) taken while events are
 * kept aside and replayed over it. The snapshot is fetched again, with events kept aside
 * meanwhile, whenever the states may have missed something:
 * - an event skips a version (the contract: refetch on a gap);
 * - the socket came back after a drop (graphql-ws resubscribes by itself);
 * - an error result (SERVICE_UNAVAILABLE: the gateway lost cinemas for a while);
 * - the server ended the subscription (it is opened again after a pause).
 * A subscription refused or ended because the showtime was cancelled (`SHOWTIME_CANCELLED`)
 * is told to `onError` and not asked for again.
 */
export class LiveSeatMap {
  readonly states = new SeatStates();
  /** Events that arrived while a snapshot was being fetched; null when none is. */
  private held: SeatEvent[] | null = [];
  private fetching = false;
  private again = false;
  private disposed = false;
  private unsubscribe: () => void = () => {};
  private readonly stopWatching: () => void;
  private resubscribes = 0;
  private resubscribeTimer: ReturnType<typeof setTimeout> | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly options: LiveSeatMapOptions) {
    this.open();
    let dropped = false;
    this.stopWatching = onLiveState((state) => {
      if (state === 'reconnecting') dropped = true;
      if (state === 'live' && dropped) {
        dropped = false;
        void this.refresh();
      }
    });
  }

  /**
   * The first snapshot (the page's own query): events received so far are replayed over it,
   * unless a refetch meanwhile brought newer states. Every seat is drawn.
   */
  start(version: number, seats: readonly SeatState[]): void {
    if (version > this.states.version) this.settle(version, seats);
    this.options.onChange(seats.map((s) => s.seatId));
  }

  /** Fetches the seat states again (events kept aside meanwhile, then replayed). */
  async refresh(): Promise<void> {
    if (this.disposed) return;
    if (this.fetching) {
      this.again = true;
      return;
    }
    this.fetching = true;
    this.held ??= [];
    try {
      const { showtime } = await request(SeatStatesDocument, {
        showtimeId: this.options.showtimeId,
      });
      if (showtime && !this.disposed) this.settle(showtime.seatMap.version, showtime.seatMap.seats);
    } catch (err) {
      // Events stay aside (the states cannot be trusted) until a snapshot comes.
      if (!this.disposed) {
        this.options.onError(err as ApiError);
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => void this.refresh(), REFETCH_RETRY_MS);
      }
    } finally {
      this.fetching = false;
    }
    if (this.again) {
      this.again = false;
      await this.refresh();
    }
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.resubscribeTimer);
    clearTimeout(this.retryTimer);
    this.stopWatching();
    this.unsubscribe();
  }

  private settle(version: number, seats: readonly SeatState[]): void {
    const changed = new Set(this.states.reset(version, seats));
    const held = this.held ?? [];
    this.held = null;
    for (const event of held) {
      const outcome = this.states.apply(event);
      if (outcome === 'gap') {
        this.options.onChange([...changed]);
        void this.refresh();
        return;
      }
      if (outcome === 'applied') for (const seat of event.seats) changed.add(seat.seatId);
    }
    this.options.onChange([...changed]);
  }

  private receive(event: SeatEvent): void {
    if (this.held) {
      this.held.push(event);
      return;
    }
    const outcome = this.states.apply(event);
    if (outcome === 'applied') this.options.onChange(event.seats.map((s) => s.seatId));
    else if (outcome === 'gap') void this.refresh();
  }

  private open(): void {
    this.unsubscribe = subscribe(
      SeatUpdatesDocument,
      { showtimeId: this.options.showtimeId },
      {
        next: ({ seatUpdates }) => {
          this.resubscribes = 0;
          this.receive(seatUpdates);
        },
        error: (error) => {
          this.options.onError(error);
          // The cinema cancelled the showtime: nothing will change any more. The states stay
          // as they are, to look at; nothing is asked for again.
          if (error.extensions.reason === 'SHOWTIME_CANCELLED') {
            this.dispose();
            return;
          }
          void this.refresh();
          // Refused for now (the gateway overloaded, too many calls): the seat map would
          // otherwise stay still for good. Asked again when the server says, or later.
          if (RETRY_AFTER.has(error.code)) {
            const retryAfter = Number(error.extensions.retryAfter);
            this.resubscribeSoon(Number.isFinite(retryAfter) ? retryAfter * 1000 : 0);
          }
        },
        complete: () => this.resubscribeSoon(0),
      },
    );
  }

  /** Subscribes again after a backoff (at least `atLeastMs`), and refetches the states. */
  private resubscribeSoon(atLeastMs: number): void {
    if (this.disposed) return;
    const backoff = RESUBSCRIBE_MS[Math.min(this.resubscribes, RESUBSCRIBE_MS.length - 1)];
    this.resubscribes += 1;
    clearTimeout(this.resubscribeTimer);
    this.resubscribeTimer = setTimeout(
      () => {
        if (this.disposed) return;
        // An error inside an event does not end a subscription: never two at once.
        this.unsubscribe();
        this.open();
        void this.refresh();
      },
      Math.max(backoff, atLeastMs),
    );
  }
}
