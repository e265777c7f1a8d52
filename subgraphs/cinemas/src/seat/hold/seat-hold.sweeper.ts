import type { Logger } from '../../../../../runtime/logger';
import type { SeatHoldStore } from './seat-hold.store';

export interface SeatHoldSweeperOptions {
  /**
   * Pause between the end of one sweep and the start of the next. The default keeps expiry
   * broadcasts well inside the 2 s that DESIGN.md invariant 3 allows.
   */
  intervalMs?: number;
  log?: Pick<Logger, 'warn' | 'info' | 'debug'>;
  /**
   * What a run is called in the log (default `seat-hold sweep`), for other periodic releases
   * that reuse this loop (the seat-reservation safety net).
   */
  label?: string;
}

export interface SeatHoldSweeper {
  /** No sweep starts after this; resolves once the one in flight (if any) has finished. */
  stop(): Promise<void>;
}

/**
 * Runs `store.sweep()` over and over, so expired windows are freed and broadcast even when
 * nobody touches the showtime again; Redis keyspace notifications alone would not survive a
 * restart or a missed message. Each instance of the service may run one: the store releases
 * each window exactly once however many sweep at the same time.
 *
 * The next sweep is scheduled only after the previous one settled (a chain of timeouts, not
 * an interval), so a slow Redis can never stack up overlapping sweeps. A failed sweep (Redis
 * down) is retried at the next tick: the windows stay in the index until one succeeds. It is
 * logged once when sweeps start failing and once when they work again, not four times a
 * second for the length of an outage.
 */
export function startSweeper(
  store: Pick<SeatHoldStore, 'sweep'>,
  { intervalMs = 250, log, label = 'seat-hold sweep' }: SeatHoldSweeperOptions = {},
): SeatHoldSweeper {
  if (!Number.isFinite(intervalMs) || intervalMs < 1) {
    throw new Error('intervalMs must be a positive number of milliseconds');
  }
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let failingSince: number | undefined;

  const run = async (): Promise<void> => {
    try {
      const released = await store.sweep();
      if (released > 0) log?.debug({ released }, `${label}: released`);
      if (failingSince !== undefined) {
        log?.info({ failedForMs: Date.now() - failingSince }, `${label}s work again`);
        failingSince = undefined;
      }
    } catch (err) {
      if (failingSince !== undefined) return;
      failingSince = Date.now();
      log?.warn({ err }, `${label} failed; retrying at every tick until one succeeds`);
    }
  };

  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      timer = undefined;
      running = run().finally(() => {
        running = undefined;
        schedule();
      });
    }, intervalMs);
  };

  schedule();
  return {
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await running;
    },
  };
}
