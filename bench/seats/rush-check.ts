/**
 * The seat rush's outcome checked against the seat map afterwards: every HELD seat granted
 * to exactly one successful request, no granted seat left un-HELD, no successful request
 * missing a seat, each user's `heldByMe` exactly their grant, every seat a
 * `SEAT_UNAVAILABLE` names actually held, one version per success.
 */
import { pool } from '../common/pool';
import { seatMap, type ShowtimeView } from './seat-client';

/** One user's request of the rush and how it ended. */
export interface RushRequest {
  userId: string;
  seatIds: string[];
  latencyMs: number;
  outcome: 'ok' | 'SEAT_UNAVAILABLE' | 'HOLD_LIMIT_EXCEEDED' | 'other';
  code?: string;
  message?: string;
  granted: string[];
  unavailable: string[];
}

/**
 * Reads the seat map (anonymously, then as each user with `tokens[i]`) and compares it with
 * what the requests were told; `lines` are the report's lines about it.
 */
export async function checkRush(
  gatewayUrl: string,
  showtimeId: string,
  before: ShowtimeView,
  requests: RushRequest[],
  tokens: string[],
) {
  const ok = requests.filter((r) => r.outcome === 'ok');
  const after = await seatMap(gatewayUrl, showtimeId);
  const held = new Set(after.seatMap.seats.filter((s) => s.status === 'HELD').map((s) => s.seatId));
  const grantedTo = new Map<string, string[]>();
  for (const r of ok) {
    for (const seatId of r.granted)
      grantedTo.set(seatId, [...(grantedTo.get(seatId) ?? []), r.userId]);
  }
  const doubleHolds = [...grantedTo].filter(([, users]) => users.length > 1);
  const heldWithoutGrant = [...held].filter((s) => !grantedTo.has(s));
  const grantedNotHeld = [...grantedTo.keys()].filter((s) => !held.has(s));
  const missingSeats = ok.filter(
    (r) => r.granted.length !== r.seatIds.length || r.seatIds.some((s) => !r.granted.includes(s)),
  );
  // No releases happen during the rush: a seat named unavailable must be held at the end.
  const falseUnavailable = requests.filter(
    (r) => r.outcome === 'SEAT_UNAVAILABLE' && r.unavailable.some((s) => !held.has(s)),
  );
  const unavailableWithoutSeats = requests.filter(
    (r) => r.outcome === 'SEAT_UNAVAILABLE' && r.unavailable.length === 0,
  );
  // Each user's own view: heldByMe exactly on the seats granted to them (none for failures).
  const heldByMeMismatch: Array<{ userId: string; expected: string[]; heldByMe: string[] }> = [];
  let viewErrors = 0;
  await pool(requests.length, 25, async (i) => {
    const r = requests[i];
    try {
      const view = await seatMap(gatewayUrl, showtimeId, tokens[i]);
      const mine = view.seatMap.seats
        .filter((s) => s.heldByMe)
        .map((s) => s.seatId)
        .sort();
      const expected = [...r.granted].sort();
      if (mine.join() !== expected.join()) {
        heldByMeMismatch.push({ userId: r.userId, expected, heldByMe: mine });
      }
    } catch {
      viewErrors += 1;
    }
  });
  const versionDelta = after.seatMap.version - before.seatMap.version;
  const violations = {
    doubleHolds: doubleHolds.map(([seatId, users]) => ({ seatId, users })),
    heldWithoutGrant,
    grantedNotHeld,
    successfulMissingSeats: missingSeats.map((r) => ({
      userId: r.userId,
      asked: r.seatIds,
      granted: r.granted,
    })),
    heldByMeMismatch,
    falseSeatUnavailable: falseUnavailable.map((r) => ({
      userId: r.userId,
      named: r.unavailable.filter((s) => !held.has(s)),
    })),
    seatUnavailableWithoutSeatIds: unavailableWithoutSeats.length,
    seatMapViewErrors: viewErrors,
    versionDeltaVsSuccesses: versionDelta === ok.length ? 0 : versionDelta - ok.length,
  };
  const violationCount =
    doubleHolds.length +
    heldWithoutGrant.length +
    grantedNotHeld.length +
    missingSeats.length +
    heldByMeMismatch.length +
    falseUnavailable.length;

  const lines = [
    `  double holds: ${doubleHolds.length}` +
      (doubleHolds.length
        ? `  ${doubleHolds
            .slice(0, 5)
            .map(([s, u]) => `${s}: ${u.join(', ')}`)
            .join('; ')}`
        : ''),
    `  held but granted to no successful request: ${heldWithoutGrant.length}` +
      (heldWithoutGrant.length ? ` (${heldWithoutGrant.slice(0, 5).join(', ')})` : ''),
    `  granted but not HELD afterwards: ${grantedNotHeld.length}` +
      (grantedNotHeld.length ? ` (${grantedNotHeld.slice(0, 5).join(', ')})` : ''),
    `  successful requests missing a seat: ${missingSeats.length}`,
    `  users whose heldByMe differs from their grant: ${heldByMeMismatch.length}` +
      (viewErrors ? ` (${viewErrors} SeatMap reads failed)` : ''),
    `  SEAT_UNAVAILABLE naming a seat not held: ${falseUnavailable.length}` +
      (unavailableWithoutSeats.length
        ? ` (${unavailableWithoutSeats.length} without extensions.seatIds)`
        : ''),
  ];
  return { after, held, versionDelta, violations, violationCount, lines };
}
