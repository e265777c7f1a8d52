import { createLoaders, sharedReads } from './loaders';
import type { CinemasApp } from './context.types';

/**
 * The loaders of concurrent requests share the reads of one turn of the event loop
 * (`sharedReads`), and only those: each request still gets what it asked for, one caller's
 * failure stays its own, and nothing read before a load answers it.
 */
describe('cinemas loaders across requests', () => {
  const A = '00000000-0000-4000-8000-00000000000a';
  const B = '00000000-0000-4000-8000-00000000000b';

  function fakeApp() {
    const calls = { showtimes: [] as string[][], snapshots: [] as string[] };
    let version = 1;
    const parts = {
      showtimes: {
        byIds: (ids: readonly string[]) => {
          calls.showtimes.push([...ids]);
          return Promise.resolve(
            ids.map((id) => (id === A || id === B ? ({ id, version } as never) : null)),
          );
        },
      },
      cinemas: {
        hallsByIds: (ids: readonly string[]) => Promise.resolve(ids.map(() => null)),
        cinemasByIds: (ids: readonly string[]) => Promise.resolve(ids.map(() => null)),
      },
      seats: {
        liveReservations: (ids: readonly string[]) =>
          Promise.resolve(
            new Map(ids.map((id) => [id, { booked: new Set<string>(), pending: new Map() }])),
          ),
        snapshot: (id: string) => {
          calls.snapshots.push(id);
          if (id === B) return Promise.reject(new Error('the store refused B'));
          return Promise.resolve({ version, holds: new Map<string, string>() });
        },
      },
    };
    const app = { ...parts, reads: sharedReads(parts as never) } as unknown as CinemasApp;
    return { app, calls, bump: () => void (version += 1) };
  }

  it('reads once for the requests of one turn, each answered for its own keys', async () => {
    const { app, calls } = fakeApp();
    const [one, two, three] = [createLoaders(app), createLoaders(app), createLoaders(app)];
    const [a1, a2, b] = await Promise.all([
      one.showtimeById.load(A),
      two.showtimeById.load(A),
      three.showtimeById.load(B),
    ]);
    expect(calls.showtimes).toHaveLength(1);
    expect((a1 as unknown as { id: string }).id).toBe(A);
    expect((a2 as unknown as { id: string }).id).toBe(A);
    expect((b as unknown as { id: string }).id).toBe(B);
  });

  it("keeps one caller's failure from its batch-mates", async () => {
    const { app, calls } = fakeApp();
    const [one, two] = [createLoaders(app), createLoaders(app)];
    const [ok, refused] = await Promise.allSettled([
      one.holdSnapshot.load(A),
      two.holdSnapshot.load(B),
    ]);
    expect(calls.snapshots.sort()).toEqual([A, B]);
    expect(ok).toEqual({ status: 'fulfilled', value: { version: 1, holds: new Map() } });
    expect(refused).toMatchObject({
      status: 'rejected',
      reason: { message: 'the store refused B' },
    });
  });

  it('answers a load with a read that started after it, never an earlier one', async () => {
    const { app, calls, bump } = fakeApp();
    const first = createLoaders(app).showtimeById.load(A);
    await first;
    bump(); // a write that finished before the next request asked
    const second = await createLoaders(app).showtimeById.load(A);
    expect(calls.showtimes).toHaveLength(2);
    expect((second as unknown as { version: number }).version).toBe(2);
  });
});
