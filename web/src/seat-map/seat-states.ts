/**
 * The seat states of one showtime as the page knows them, and the version they are at.
 * Pure (no DOM, no network): the live seat map feeds it the snapshot it fetched, the events
 * it receives and the answers to its own holds, and it says when the page must refetch.
 *
 * Versions (the SeatMap contract): a snapshot has a version; every event carries the next
 * one. An event at or below the current version is old news (already in the snapshot); one
 * more than a step ahead means events were missed, so the states are no longer to be
 * trusted until a new snapshot comes.
 */

export type SeatStatus = 'AVAILABLE' | 'HELD' | 'BOOKED' | 'BLOCKED';

export interface SeatState {
  readonly seatId: string;
  readonly status: SeatStatus;
  readonly heldByMe: boolean;
}

export interface SeatEvent {
  readonly version: number;
  readonly seats: readonly SeatState[];
}

export type EventOutcome = 'applied' | 'old' | 'gap';

export class SeatStates {
  private states = new Map<string, SeatState>();
  /** The version at which each seat last changed, for answers that race with events. */
  private changedAt = new Map<string, number>();
  private current = -1;

  /** The snapshot's version; -1 before the first snapshot. */
  get version(): number {
    return this.current;
  }

  get(seatId: string): SeatState | undefined {
    return this.states.get(seatId);
  }

  all(): IterableIterator<SeatState> {
    return this.states.values();
  }

  /** The seats the viewer holds. */
  mine(): SeatState[] {
    return [...this.states.values()].filter((s) => s.status === 'HELD' && s.heldByMe);
  }

  /** Takes a fetched snapshot; returns the seats whose state differs from before. */
  reset(version: number, seats: readonly SeatState[]): string[] {
    const changed = seats
      .filter((s) => !sameState(this.states.get(s.seatId), s))
      .map((s) => s.seatId);
    this.states = new Map(seats.map((s) => [s.seatId, s]));
    this.changedAt = new Map(seats.map((s) => [s.seatId, version]));
    this.current = version;
    return changed;
  }

  /**
   * Applies one event: `applied` (the states moved one version on), `old` (nothing to do)
   * or `gap` (events were missed: refetch; the states stay as they were).
   */
  apply(event: SeatEvent): EventOutcome {
    if (event.version <= this.current) return 'old';
    if (this.current < 0 || event.version > this.current + 1) return 'gap';
    for (const seat of event.seats) {
      this.states.set(seat.seatId, seat);
      this.changedAt.set(seat.seatId, event.version);
    }
    this.current = event.version;
    return 'applied';
  }

  /**
   * The states in the answer to the viewer's own hold or release, sent when the page was at
   * `sentAt`. The answer carries no version, and an event may have overtaken it: a seat that
   * changed by an event after `sentAt` keeps the event's (newer) state. Returns the seats
   * that changed.
   */
  patch(sentAt: number, seats: readonly SeatState[]): string[] {
    const changed: string[] = [];
    for (const seat of seats) {
      if ((this.changedAt.get(seat.seatId) ?? -1) > sentAt) continue;
      if (!this.states.has(seat.seatId) || sameState(this.states.get(seat.seatId), seat)) continue;
      this.states.set(seat.seatId, seat);
      changed.push(seat.seatId);
    }
    return changed;
  }
}

const sameState = (a: SeatState | undefined, b: SeatState): boolean =>
  a !== undefined && a.status === b.status && a.heldByMe === b.heldByMe;
