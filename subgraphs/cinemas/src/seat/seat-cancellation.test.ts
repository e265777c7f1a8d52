// A cancelled showtime takes no more holds on any cinemas instance, even one that keeps the
// showtime's facts in memory as still scheduled (the hold store closes it for all).
import { startGateway } from '../../../../gateway/src/gateway';
import { withOverrides } from '../../../../runtime/config';
import { closeRedis, createRedis } from '../../../../runtime/redis';
import type { RunningService } from '../../../../runtime/lifecycle';
import { startSubgraph, type RunningSubgraph } from '../../../../runtime/subgraph-server';
import { buildDemoPlan } from '../../../../scripts/seed/demo-plan';
import { contractOperation } from '../../../../tests/support/contract';
import { postGraphQL, startTestStack, type TestStack } from '../../../../tests/support/test-stack';
import { cinemasSubgraph } from '../schema';

const plan = buildDemoPlan();

describe('holds in a cancelled showtime', () => {
  let t: TestStack;
  let cinemas2: RunningSubgraph;
  let gateway2: RunningService;

  beforeAll(async () => {
    t = await startTestStack();
    const urls = Object.fromEntries(Object.values(t.stack.subgraphs).map((s) => [s.name, s.url]));
    cinemas2 = await startSubgraph(
      cinemasSubgraph,
      withOverrides(t.config, { http: { host: '127.0.0.1', port: 0 }, subgraphUrls: urls }),
    );
    gateway2 = await startGateway(
      withOverrides(t.config, {
        http: { host: '127.0.0.1', port: 0 },
        subgraphUrls: { ...urls, cinemas: cinemas2.url },
      }),
    );
  });
  afterAll(async () => {
    await gateway2?.stop();
    await cinemas2?.stop();
    await t?.stop();
  });

  it('are refused on every instance once it is cancelled; releases still work', async () => {
    const booked = new Set(plan.bookings.map((b) => b.showtimeId));
    const showtime = plan.showtimes.filter(
      (s) => s.startsAt.getTime() > Date.now() + 86_400_000 && !booked.has(s.id),
    )[21];
    const [a, b] = plan.seats.filter((s) => s.hallId === showtime.hallId && !s.blocked);
    const viaTwo = (query: string, variables: Record<string, unknown>, user: string) =>
      postGraphQL(`http://127.0.0.1:${gateway2.port}/graphql`, query, variables, {
        token: t.token(user),
      });
    const hold = contractOperation('HoldSeats');

    // Instance 2 now keeps the showtime as scheduled.
    const first = await viaTwo(hold, { showtimeId: showtime.id, seatIds: [a.id] }, 'user_early');
    expect(first.errors).toBeUndefined();

    const cancelled = await t.query(
      'mutation($id: ID!) { cancelShowtime(id: $id) { id } }',
      { id: showtime.id },
      { token: t.token('user_admin', 'ADMIN') },
    );
    expect(cancelled.errors).toBeUndefined();

    const cancelledError = {
      message: 'The showtime was cancelled',
      extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', field: 'showtimeId' }),
    };
    const late = await viaTwo(hold, { showtimeId: showtime.id, seatIds: [b.id] }, 'user_late');
    expect(late.errors?.[0]).toMatchObject(cancelledError);
    const lateOne = await t.query(
      hold,
      { showtimeId: showtime.id, seatIds: [b.id] },
      { token: t.token('user_late_too') },
    );
    expect(lateOne.errors?.[0]).toMatchObject(cancelledError);

    const released = await viaTwo(
      contractOperation('ReleaseSeats'),
      { showtimeId: showtime.id, seatIds: [a.id] },
      'user_early',
    );
    expect(released.data?.releaseSeats).toEqual({
      seats: [{ seatId: a.id, status: 'AVAILABLE', heldByMe: false }],
    });

    // Redis loses everything of the showtime (a restart, an eviction): its reservation record
    // closes it again, while instance 2 still keeps it as scheduled.
    const redis = createRedis(t.config.redis.url!);
    try {
      const base = `${t.config.redis.keyPrefix}seat:{${showtime.id}}`;
      const kinds = ['holds', 'windows', 'expiries', 'cooldowns', 'reserved', 'sold', 'facts'];
      expect(await redis.del(...kinds.map((k) => `${base}:${k}`))).toBeGreaterThan(0);
    } finally {
      await closeRedis(redis);
    }
    const afterLoss = await viaTwo(hold, { showtimeId: showtime.id, seatIds: [b.id] }, 'user_x');
    expect(afterLoss.errors?.[0]).toMatchObject(cancelledError);
  });
});
