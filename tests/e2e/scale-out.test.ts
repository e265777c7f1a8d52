import { startGateway } from '../../gateway/src/gateway';
import { withOverrides } from '../../runtime/config';
import type { RunningService } from '../../runtime/lifecycle';
import { startSubgraph, type RunningSubgraph } from '../../runtime/subgraph-server';
import { buildDemoPlan } from '../../scripts/seed/demo-plan';
import { cinemasSubgraph } from '../../subgraphs/cinemas/src/schema';
import { contractOperation } from '../support/contract';
import { postGraphQL, startTestStack, type TestStack } from '../support/test-stack';
import { waitFor } from '../support/wait-for';
import { subscribe, type TestSubscription } from '../support/ws-client';

const plan = buildDemoPlan();

describe('two gateways and two cinemas instances on one Redis', () => {
  let t: TestStack;
  let cinemas2: RunningSubgraph;
  let gateway2: RunningService;
  let sub: TestSubscription | undefined;

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
    await sub?.close();
    await gateway2?.stop();
    await cinemas2?.stop();
    await t?.stop();
  });

  it('a hold through gateway 1 reaches a subscriber on gateway 2', async () => {
    const showtime = plan.showtimes.filter(
      (s) => s.startsAt.getTime() > Date.now() + 86_400_000,
    )[11];
    const seat = plan.seats.find((s) => s.hallId === showtime.hallId && !s.blocked)!;
    const gateway2Url = `http://127.0.0.1:${gateway2.port}/graphql`;
    sub = subscribe(gateway2Url, contractOperation('SeatUpdates'), { showtimeId: showtime.id });
    await sub.connected;
    await waitFor(
      async () => ((await t.redisSubscribers(showtime.id)) >= 1 ? true : undefined),
      'the second cinemas instance subscribed',
    );

    const held = await t.query(
      contractOperation('HoldSeats'),
      { showtimeId: showtime.id, seatIds: [seat.id] },
      { token: t.token('user_far') },
    );
    expect(held.errors).toBeUndefined();
    const event = (await sub.next()).data!.seatUpdates;
    expect(event).toMatchObject({
      showtimeId: showtime.id,
      version: 1,
      seats: [{ seatId: seat.id, status: 'HELD', heldByMe: false }],
      showtime: { id: showtime.id, movie: { title: expect.any(String) } },
    });

    // And both gateways agree on the seat map, whichever cinemas instance answers.
    const viaTwo = await postGraphQL(gateway2Url, contractOperation('SeatMap'), {
      showtimeId: showtime.id,
    });
    const seatState = viaTwo.data!.showtime.seatMap.seats.find((s: any) => s.seatId === seat.id);
    expect(seatState).toMatchObject({ status: 'HELD' });
    expect(viaTwo.data!.showtime.seatMap.version).toBe(1);
  });
});
