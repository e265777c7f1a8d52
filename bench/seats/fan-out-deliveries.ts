/**
 * The fan-out's deliveries: waiting for them, then tallying every subscriber's events against
 * the changes that made them (matched by version).
 */
import { sleep } from '../common/pool';
import type { TimedSubscriber } from './timed-subscriber';

/**
 * Waits until `arrived()` reaches `expected`, or has not moved for 20 s; progress on stderr
 * every 5 s.
 */
export async function waitForDeliveries(expected: number, arrived: () => number): Promise<void> {
  let lastCount = -1;
  let lastProgress = performance.now();
  let lastReport = performance.now();
  while (true) {
    const got = arrived();
    if (got >= expected) break;
    if (got !== lastCount) {
      lastCount = got;
      lastProgress = performance.now();
    } else if (performance.now() - lastProgress > 20_000) {
      break;
    }
    if (performance.now() - lastReport > 5000) {
      process.stderr.write(` ${got}/${expected}`);
      lastReport = performance.now();
    }
    await sleep(50);
  }
}

/**
 * Every delivery of a measured version, timed from its change's send time
 * (`sentAtByVersion`), and what went wrong: duplicates, events out of order, versions no
 * measured change made (above `base`), subscribers that missed some of the `effective`
 * changes, subscriptions that ended, results with errors.
 */
export function tallyDeliveries(
  subscribers: TimedSubscriber[],
  sentAtByVersion: Map<number, number>,
  base: number,
  effective: number,
) {
  const all: number[] = [];
  const anonymous: number[] = [];
  const signedIn: number[] = [];
  /** Per change: when its last subscriber got it, and its first (from the change's send). */
  const perEventLast = new Map<number, number>();
  const perEventFirst = new Map<number, number>();
  let received = 0;
  let duplicates = 0;
  let outOfOrder = 0;
  let unexpectedVersions = 0;
  let subscribersMissing = 0;
  let subscribersEnded = 0;
  const endReasons = new Map<string, number>();
  const badPayloads = new Map<string, number>();
  subscribers.forEach((sub) => {
    const seen = new Set<number>();
    let prev = -Infinity;
    let mine = 0;
    for (let j = 0; j < sub.versions.length; j++) {
      const v = sub.versions[j];
      if (v < prev) outOfOrder += 1;
      prev = v;
      const sentAt = sentAtByVersion.get(v);
      if (sentAt === undefined) {
        if (v > base) unexpectedVersions += 1;
        continue;
      }
      if (seen.has(v)) {
        duplicates += 1;
        continue;
      }
      seen.add(v);
      mine += 1;
      received += 1;
      const ms = sub.times[j] - sentAt;
      all.push(ms);
      (sub.token ? signedIn : anonymous).push(ms);
      if (ms > (perEventLast.get(v) ?? -Infinity)) perEventLast.set(v, ms);
      if (ms < (perEventFirst.get(v) ?? Infinity)) perEventFirst.set(v, ms);
    }
    if (mine < effective && !sub.connectError) subscribersMissing += 1;
    if (sub.ended) {
      subscribersEnded += 1;
      endReasons.set(sub.ended, (endReasons.get(sub.ended) ?? 0) + 1);
    }
    for (const b of sub.bad) badPayloads.set(b, (badPayloads.get(b) ?? 0) + 1);
  });
  const errorResults = subscribers.reduce((a, sub) => a + sub.errorOnly, 0);
  return {
    all,
    anonymous,
    signedIn,
    perEventLast,
    /** Per change: from its first subscriber to its last, the fan-out alone. */
    perEventSpread: [...perEventLast].map(([v, last]) => last - perEventFirst.get(v)!),
    received,
    duplicates,
    outOfOrder,
    unexpectedVersions,
    subscribersMissing,
    subscribersEnded,
    endReasons,
    badPayloads,
    errorResults,
  };
}
