/**
 * The fan-out's measured changes: one user holds and releases one seat, each mutation awaited
 * before the next, each successful one making the showtime's next version.
 */
import { sleep } from '../common/pool';
import {
  describeErrors,
  seatMap,
  type GraphQLReply,
  type HoldData,
  type ReleaseData,
} from './seat-client';

/** How many changes, and the pause between them. */
export interface ChangeOptions {
  changes: number;
  intervalMs: number;
}

/**
 * The measured changes, one after another: hold when the seat is free, release when held,
 * so that every successful mutation makes one event, whose version is the next one. Records
 * when the change that made each version was sent, and the status its event must show.
 */
export async function makeChanges(input: {
  gatewayUrl: string;
  showtimeId: string;
  seatId: string;
  mutatorToken: string;
  hold: () => Promise<GraphQLReply<HoldData>>;
  release: () => Promise<GraphQLReply<ReleaseData>>;
  base: number;
  expectedStatus: Map<number, string>;
  options: ChangeOptions;
}) {
  const { gatewayUrl, showtimeId, seatId, mutatorToken, hold, release, expectedStatus } = input;
  /** When the change that made each version was sent (performance.now()). */
  const sentAtByVersion = new Map<number, number>();
  const mutationMs: number[] = [];
  const mutationErrors: string[] = [];
  let version = input.base;
  let heldNow: boolean = false;
  let effective = 0;
  let appliedDespiteError = 0;
  let unexplainedVersions = 0;
  for (let k = 0; k < input.options.changes; k++) {
    const isHold: boolean = !heldNow;
    const status = isHold ? 'HELD' : 'AVAILABLE';
    expectedStatus.set(version + 1, status);
    const t0 = performance.now();
    const reply = isHold ? await hold() : await release();
    mutationMs.push(performance.now() - t0);
    let changed = false;
    if (reply.errors?.length) {
      mutationErrors.push(
        `#${k} ${isHold ? 'hold' : 'release'}: ${describeErrors(reply)} ${JSON.stringify(reply.errors[0].extensions ?? {})}`,
      );
    } else {
      const seats = isHold
        ? (reply.data as HoldData).holdSeats.seats
        : (reply.data as ReleaseData).releaseSeats.seats;
      changed = seats.some((s) => s.seatId === seatId);
      if (!changed) mutationErrors.push(`#${k} ${isHold ? 'hold' : 'release'}: changed nothing`);
    }
    if (changed) {
      version += 1;
      sentAtByVersion.set(version, t0);
      heldNow = isHold;
      effective += 1;
    } else {
      // Find out what happened: the mutation may have been applied all the same.
      const view = await seatMap(gatewayUrl, showtimeId, mutatorToken);
      const mine = view.seatMap.seats.some((s) => s.seatId === seatId && s.heldByMe);
      if (view.seatMap.version === version + 1 && mine === isHold) {
        version += 1;
        sentAtByVersion.set(version, t0);
        effective += 1;
        appliedDespiteError += 1;
      } else if (view.seatMap.version !== version) {
        unexplainedVersions += view.seatMap.version - version;
        version = view.seatMap.version;
      }
      expectedStatus.delete(version + 1);
      heldNow = mine;
    }
    if (input.options.intervalMs > 0) await sleep(input.options.intervalMs);
  }
  return {
    sentAtByVersion,
    mutationMs,
    mutationErrors,
    version,
    effective,
    appliedDespiteError,
    unexplainedVersions,
  };
}
