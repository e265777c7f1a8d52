/**
 * Open-loop HoldSeats: requests leave at a fixed rate whatever the answers do (as users
 * arrive), each timed from the moment it was due, so a server that falls behind shows it in
 * the latency instead of slowing the load down (no coordinated omission).
 */
import { createPrivateKey } from 'node:crypto';
import { mintToken } from '../../scripts/dev-token';
import { sleep } from '../common/pool';
import { codeOf, OPS, post, type HoldData } from '../seats/seat-client';
import type { PlannedHold } from './hold-plan';

/**
 * Tokens for many users: `mintToken` hands its key to crypto's `sign`, which takes a parsed
 * key as well as a PEM, so the PEM is parsed once rather than per token.
 */
export function tokenMinter(privateKeyPem: string): (userId: string) => string {
  const key = createPrivateKey(privateKeyPem);
  return (userId) => mintToken(key as unknown as string, { userId, expiresIn: 3 * 3600 });
}

export interface OpenLoopRun {
  rate: number;
  sent: number;
  /** Per outcome: `ok`, or the first error's code. */
  outcomes: Map<string, number>;
  firstError: string | undefined;
  /** From the moment each request was due to its answer, ms (successful ones). */
  latencyMs: number[];
  /** How late requests left after their due time, ms (the load generator's own lag). */
  sendLagMs: number[];
  /** From the first due time to the last answer, s. */
  elapsedSeconds: number;
}

/**
 * Sends `holds[i]` as user `tokens[i]`'s HoldSeats at `rate` per second through `url`, and
 * waits for every answer.
 */
export async function openLoop(
  url: string,
  holds: readonly PlannedHold[],
  tokens: readonly string[],
  rate: number,
): Promise<OpenLoopRun> {
  const run: OpenLoopRun = {
    rate,
    sent: 0,
    outcomes: new Map(),
    firstError: undefined,
    latencyMs: [],
    sendLagMs: [],
    elapsedSeconds: 0,
  };
  const count = (outcome: string) =>
    run.outcomes.set(outcome, (run.outcomes.get(outcome) ?? 0) + 1);
  const answers: Promise<void>[] = [];
  const interval = 1000 / rate;
  const start = performance.now();
  const fire = (i: number) => {
    const due = start + i * interval;
    run.sendLagMs.push(performance.now() - due);
    run.sent += 1;
    const { showtimeId, seatId } = holds[i];
    answers.push(
      post<HoldData>(url, OPS.hold, { showtimeId, seatIds: [seatId] }, tokens[i]).then(
        (reply) => {
          const code = codeOf(reply);
          if (code || !reply.data?.holdSeats) {
            count(code ?? 'NO_DATA');
            run.firstError ??= `${code}: ${reply.errors?.[0]?.message ?? 'no data'}`;
          } else {
            count('ok');
            run.latencyMs.push(performance.now() - due);
          }
        },
        (err: Error) => {
          // The error's code (a reset, a refused or timed-out connect, no free port) is what
          // tells a server that stopped accepting from a client that gave up.
          const cause = causeOf(err);
          count(cause ? `FETCH_FAILED ${cause}` : 'FETCH_FAILED');
          run.firstError ??= cause ? `${err.message} (${cause})` : err.message;
        },
      ),
    );
  };
  for (let i = 0; i < holds.length;) {
    const now = performance.now();
    while (i < holds.length && start + i * interval <= now) fire(i++);
    if (i < holds.length) await sleep(Math.max(0, start + i * interval - performance.now()));
  }
  await Promise.all(answers);
  run.elapsedSeconds = (performance.now() - start) / 1000;
  return run;
}

/** The code or name of what made a request fail (`ECONNRESET`, `ECONNREFUSED`, ...). */
function causeOf(err: Error): string | undefined {
  const direct = (err as { code?: unknown }).code;
  if (typeof direct === 'string') return direct;
  const cause = (err as { cause?: { code?: unknown; name?: unknown } }).cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.name === 'string') return cause.name;
  return undefined;
}
