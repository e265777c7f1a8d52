import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../runtime/paths';
import { buildDemoPlan } from '../../scripts/seed/demo-plan';
import { contractOperation } from '../support/contract';
import { startTestStack, type TestStack } from '../support/test-stack';
import { waitFor } from '../support/wait-for';
import { TestConnection, webSocketUrl, type TestSubscription } from '../support/ws-client';

const plan = buildDemoPlan();
const HOUR = 3_600_000;

const committed = readFileSync(join(projectRoot(), 'schema', 'supergraph.graphql'), 'utf8');
/** Text edits of the committed composition that stay valid supergraphs. */
const edit = (sdl: string, from: string, to: string) => {
  if (!sdl.includes(from)) throw new Error(`the supergraph no longer contains ${from}`);
  return sdl.replace(from, to);
};
// 1: a field the cinemas subgraph always resolves, hidden by @inaccessible until now.
const withHolderTag = edit(committed, 'holderTag: String @inaccessible', 'holderTag: String');
// 2: that, and SeatState.row gone (a field some subscriptions select).
const withoutSeatRow = edit(
  withHolderTag,
  `  holderTag: String

  """Row label: A, B, ..."""
  row: String!
`,
  `  holderTag: String
`,
);

const SEAT_UPDATES = contractOperation('SeatUpdates');
/** The subscriptions a composition without SeatState.row cannot serve. */
const ROW_UPDATES = `subscription RowUpdates($showtimeId: ID!) {
  seatUpdates(showtimeId: $showtimeId) { version seats { seatId row status } }
}`;
const SOCKETS = 5;
const PER_SOCKET = 20;
const ROW_PER_SOCKET = 2;

/** The live supergraph reload (issue 17): the gateway follows SUPERGRAPH_PATH while serving. */
describe('supergraph reload under load', () => {
  let t: TestStack;
  let dir: string;
  let path: string;
  const connections: TestConnection[] = [];
  /** Stopped however the test ends: its clients must not outlive the stack. */
  let stopStream: (() => Promise<unknown>) | undefined;

  const upcoming = plan.showtimes.filter((s) => s.startsAt.getTime() > Date.now() + 24 * HOUR);
  const showtime = upcoming[3];
  const seats = plan.seats.filter((s) => s.hallId === showtime.hallId && !s.blocked);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'moviehub-reload-'));
    path = join(dir, 'supergraph.graphql');
    writeFileSync(path, committed);
    t = await startTestStack({ env: { SUPERGRAPH_PATH: path } });
  });
  afterAll(async () => {
    await stopStream?.();
    await Promise.all(connections.map((c) => c.close()));
    await t?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A gateway metric's value (its /metrics is open outside production). */
  const metric = async (name: string, labels = ''): Promise<number> => {
    const text = await (await fetch(new URL('/metrics', t.gatewayUrl))).text();
    const line = text
      .split('\n')
      .find((l) => l.startsWith(`${name}{`) && l.includes(labels) && !l.startsWith('#'));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
  };

  /** Holds one more seat; every open subscription's next result is about it. */
  const user = 'reload-user';
  const hold = async (seatId: string) => {
    const res = await t.query(
      contractOperation('HoldSeats'),
      { showtimeId: showtime.id, seatIds: [seatId] },
      { token: t.token(user) },
    );
    expect(res.errors).toBeUndefined();
  };
  const expectSeatEvent = async (subs: TestSubscription[], seatId: string) => {
    const results = await Promise.all(subs.map((s) => s.next()));
    for (const result of results) {
      expect(result.errors).toBeUndefined();
      expect(result.data!.seatUpdates.seats).toContainEqual(
        expect.objectContaining({ seatId, status: 'HELD' }),
      );
    }
  };

  /** Queries sent back to back by a few clients until stopped: every one must succeed. */
  const startQueryStream = () => {
    let running = true;
    const failures: unknown[] = [];
    let answered = 0;
    const QUERIES: Array<[string, Record<string, unknown>]> = [
      [
        'query Map($id: ID!) { showtime(id: $id) { id seatMap { version seats { seatId status } } } }',
        { id: showtime.id },
      ],
      ['{ movies(first: 3) { totalCount edges { node { id title } } } }', {}],
    ];
    const worker = async (n: number) => {
      for (let i = n; running; i++) {
        const [query, variables] = QUERIES[i % QUERIES.length];
        try {
          const res = await t.query(query, variables);
          if (res.errors || !res.data) failures.push(res.errors ?? res);
        } catch (error) {
          failures.push(error);
        }
        answered += 1;
        // Failing already: no need to hammer a gateway that may be gone.
        if (failures.length >= 20) running = false;
      }
    };
    const workers = [0, 1, 2, 3].map(worker);
    const stop = async () => {
      running = false;
      await Promise.all(workers);
      return { failures, answered };
    };
    stopStream = stop;
    return { stop };
  };

  it('swaps compositions without failing a query or dropping a subscription that still fits', async () => {
    const all: TestSubscription[] = [];
    const rowSubs: TestSubscription[] = [];
    for (let c = 0; c < SOCKETS; c++) {
      const connection = new TestConnection(webSocketUrl(t.gatewayUrl));
      connections.push(connection);
      for (let i = 0; i < PER_SOCKET; i++) {
        const row = i < ROW_PER_SOCKET;
        const sub = connection.subscribe(row ? ROW_UPDATES : SEAT_UPDATES, {
          showtimeId: showtime.id,
        });
        all.push(sub);
        if (row) rowSubs.push(sub);
      }
    }
    const seatSubs = all.filter((s) => !rowSubs.includes(s));
    expect(all).toHaveLength(100);
    await waitFor(
      async () => (await metric('moviehub_gateway_subscriptions_open')) >= all.length,
      'every subscription running at the gateway',
    );
    await waitFor(
      async () => (await t.redisSubscribers(showtime.id)) >= 1,
      'the upstream subscription in cinemas',
    );
    await hold(seats[0].id);
    await expectSeatEvent(all, seats[0].id);

    const stream = startQueryStream();
    const tagQuery = `query Tags($id: ID!) { showtime(id: $id) { seatMap { seats { seatId holderTag } } } }`;
    const before = await t.query(tagQuery, { id: showtime.id });
    expect(before.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');

    // 1. A composition with one more field: served once written, nothing else changes.
    writeFileSync(path, withHolderTag);
    const tags = await waitFor(async () => {
      const res = await t.query(tagQuery, { id: showtime.id });
      return res.errors ? undefined : res.data!.showtime.seatMap.seats;
    }, 'the new field to be queryable');
    expect(tags).toContainEqual({ seatId: seats[0].id, holderTag: expect.any(String) });
    await hold(seats[1].id);
    await expectSeatEvent(all, seats[1].id);
    expect(all.filter((s) => s.ended)).toEqual([]);

    // 2. A composition without SeatState.row: exactly the subscriptions selecting it end,
    // with the coded error; the others keep receiving.
    writeFileSync(path, withoutSeatRow);
    await waitFor(async () => {
      const res = await t.query(
        `query Row($id: ID!) { showtime(id: $id) { seatMap { seats { row } } } }`,
        {
          id: showtime.id,
        },
      );
      return res.errors?.[0]?.extensions?.code === 'GRAPHQL_VALIDATION_FAILED';
    }, 'SeatState.row to be gone');
    for (const sub of rowSubs) {
      const last = await sub.next();
      expect(last.errors).toEqual([
        expect.objectContaining({ extensions: { code: 'SUPERGRAPH_CHANGED' } }),
      ]);
      expect(last.errors![0].message).toContain('row');
      await sub.done;
    }
    await hold(seats[2].id);
    await expectSeatEvent(seatSubs, seats[2].id);
    expect(seatSubs.filter((s) => s.ended)).toEqual([]);

    // 3. A text that is not a supergraph: rejected, the current one keeps serving.
    writeFileSync(path, 'type Query { nothing: String }');
    await waitFor(
      async () =>
        (await metric('moviehub_gateway_supergraph_reloads_total', 'outcome="rejected"')) >= 1,
      'the rejection',
    );
    expect((await t.query(tagQuery, { id: showtime.id })).errors).toBeUndefined();
    await hold(seats[3].id);
    await expectSeatEvent(seatSubs, seats[3].id);

    const { failures, answered } = await stream.stop();
    expect(failures).toEqual([]);
    expect(answered).toBeGreaterThan(0);
    expect(await metric('moviehub_gateway_supergraph_reloads_total', 'outcome="applied"')).toBe(2);
  });
});
