import { MemorySeatHoldStore } from './memory-seat-hold.store';
import type { SeatEvent } from './seat-hold.store';
import { startSweeper } from './seat-hold.sweeper';

/** A sweep the test finishes by hand, to hold a run open as long as it likes. */
function manualSweeps() {
  const pending: Array<{ resolve: (n: number) => void; reject: (e: Error) => void }> = [];
  return {
    pending,
    sweep: jest.fn(
      () => new Promise<number>((resolve, reject) => pending.push({ resolve, reject })),
    ),
  };
}

describe('startSweeper', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_700_000_000_000 }));
  afterEach(() => jest.useRealTimers());

  it('never overlaps runs: the next starts an interval after the previous settled', async () => {
    const store = manualSweeps();
    const sweeper = startSweeper(store, { intervalMs: 100 });
    expect(store.sweep).not.toHaveBeenCalled();
    await jest.advanceTimersByTimeAsync(100);
    expect(store.sweep).toHaveBeenCalledTimes(1);

    await jest.advanceTimersByTimeAsync(1000); // the first run is still going
    expect(store.sweep).toHaveBeenCalledTimes(1);

    store.pending[0].resolve(3);
    await jest.advanceTimersByTimeAsync(99);
    expect(store.sweep).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(store.sweep).toHaveBeenCalledTimes(2);

    store.pending[1].resolve(0);
    await sweeper.stop();
  });

  it('logs once when sweeps start failing, carries on, and logs once when they work again', async () => {
    const store = manualSweeps();
    const log = { warn: jest.fn(), info: jest.fn(), debug: jest.fn() };
    const sweeper = startSweeper(store, { intervalMs: 50, log });
    for (let i = 0; i < 5; i++) {
      await jest.advanceTimersByTimeAsync(50);
      store.pending[i].reject(new Error('redis down'));
    }
    await jest.advanceTimersByTimeAsync(50);
    expect(log.warn).toHaveBeenCalledTimes(1);
    expect(store.sweep).toHaveBeenCalledTimes(6);
    store.pending[5].resolve(2);
    await jest.advanceTimersByTimeAsync(0);
    expect(log.debug).toHaveBeenCalledWith({ released: 2 }, expect.any(String));
    expect(log.info).toHaveBeenCalledTimes(1);
    expect(log.info).toHaveBeenCalledWith({ failedForMs: 250 }, 'seat-hold sweeps work again');
    await sweeper.stop();
  });

  it('stop() waits for the run in flight and leaves no timer behind', async () => {
    const store = manualSweeps();
    const sweeper = startSweeper(store, { intervalMs: 10 });
    await jest.advanceTimersByTimeAsync(10);
    let stopped = false;
    const stopping = sweeper.stop().then(() => (stopped = true));
    await jest.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false);
    store.pending[0].resolve(0);
    await stopping;
    expect(jest.getTimerCount()).toBe(0);
    await jest.advanceTimersByTimeAsync(1000);
    expect(store.sweep).toHaveBeenCalledTimes(1);
    await sweeper.stop(); // twice is fine
  });

  it('stop() before the first tick leaves no timer behind', async () => {
    const sweeper = startSweeper(manualSweeps(), { intervalMs: 10 });
    expect(jest.getTimerCount()).toBe(1);
    await sweeper.stop();
    expect(jest.getTimerCount()).toBe(0);
  });

  it('broadcasts an expired window by itself, within one interval of its end', async () => {
    const events: SeatEvent[] = [];
    const store = new MemorySeatHoldStore({
      ttlSeconds: 600,
      maxSeatsPerHolder: 8,
      cooldownSeconds: 120,
      maxShowtimesPerHolder: 3,
      ratePerMinute: 30,
      publish: (_id, event) => events.push(event),
    });
    const sweeper = startSweeper(store); // the store reads the faked Date.now()
    await store.hold({ id: 's1', endsAt: Date.now() + 3_600_000 }, 'h', ['A1', 'A2']);
    await jest.advanceTimersByTimeAsync(600_000 - 1);
    expect(events).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(250);
    expect(events[1]).toEqual({
      showtimeId: 's1',
      version: 2,
      seats: [
        { seatId: 'A1', status: 'AVAILABLE', holder: null },
        { seatId: 'A2', status: 'AVAILABLE', holder: null },
      ],
    });
    await sweeper.stop();
    await store.close();
  });
});
