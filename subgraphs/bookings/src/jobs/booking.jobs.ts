import type { Logger } from '../../../../runtime/logger';
import type { BookingLifecycle } from '../booking/booking-lifecycle.service';

/** How often each job looks for work, ms. */
export interface BookingJobIntervals {
  /** PENDING bookings past their expiry (their seats wait on this): often. */
  expiry: number;
  /** CONFIRMED bookings whose showtime ended: points may come a minute late. */
  completion: number;
  /** Points 12 months old. */
  pointsExpiry: number;
}

export const DEFAULT_JOB_INTERVALS: BookingJobIntervals = {
  expiry: 1_000,
  completion: 60_000,
  pointsExpiry: 10 * 60_000,
};

/**
 * Runs the booking engine's jobs in this instance: expiry of PENDING bookings, completion of
 * ended ones, expiry of points. Any number of instances may run them at once: each pass
 * takes its rows with `FOR UPDATE SKIP LOCKED` and moves each with a conditional update, so
 * a booking is moved once, by whichever instance gets it. Nothing is kept in memory between
 * passes: after a restart the next pass finds whatever is due, however long ago it fell due.
 *
 * A pass that filled its batch runs again at once (a backlog after downtime drains quickly);
 * a failing pass is logged and retried at the next interval. Returns how to stop them (waits
 * for the passes in progress).
 */
export function startBookingJobs(
  lifecycle: BookingLifecycle,
  log: Logger,
  intervals: BookingJobIntervals = DEFAULT_JOB_INTERVALS,
  batchSize = 100,
  /** More passes run the same way (refunds, payment reconciliation). */
  more: ReadonlyArray<{ name: string; intervalMs: number; pass: () => Promise<number> }> = [],
): () => Promise<void> {
  let stopped = false;
  const timers = new Set<NodeJS.Timeout>();
  const running = new Set<Promise<void>>();

  const loop = (name: string, intervalMs: number, pass: () => Promise<number>) => {
    const schedule = (delay: number) => {
      if (stopped) return;
      const timer = setTimeout(() => {
        timers.delete(timer);
        const run = (async () => {
          let moved = 0;
          try {
            moved = await pass();
            if (moved > 0) log.info({ job: name, moved }, 'booking job pass');
          } catch (err) {
            log.warn({ err, job: name }, 'booking job pass failed; will retry');
          }
          schedule(moved >= batchSize ? 0 : intervalMs);
        })();
        running.add(run);
        void run.finally(() => running.delete(run));
      }, delay);
      timer.unref();
      timers.add(timer);
    };
    // Instances started together spread their passes over the interval.
    schedule(Math.floor(Math.random() * intervalMs));
  };

  loop('expire-pending', intervals.expiry, () => lifecycle.expirePending(undefined, batchSize));
  loop('complete-ended', intervals.completion, () => lifecycle.completeEnded(undefined, batchSize));
  loop('expire-points', intervals.pointsExpiry, () => lifecycle.expirePoints(undefined, batchSize));
  for (const job of more) loop(job.name, job.intervalMs, job.pass);

  return async () => {
    stopped = true;
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
    await Promise.all([...running]);
  };
}
