// DESIGN.md invariant 9 end to end: seat events carry holder tags between cinemas and the
// gateway (one upstream subscription per showtime, heldByMe computed at the gateway), and no
// client ever sees one, whatever it asks for and whoever it is.
import WebSocket from 'ws';
import { seatHolderTags } from '../../../../runtime/seat-holder';
import { buildDemoPlan } from '../../../../scripts/seed/demo-plan';
import { contractOperation } from '../../../../tests/support/contract';
import { startTestStack, type TestStack } from '../../../../tests/support/test-stack';
import { waitFor } from '../../../../tests/support/wait-for';
import { webSocketUrl } from '../../../../tests/support/ws-client';

const plan = buildDemoPlan();

/** A graphql-transport-ws subscriber that keeps every frame exactly as it arrived. */
class RawSubscriber {
  readonly frames: string[] = [];
  private readonly socket: WebSocket;
  private readonly waiters = new Set<() => void>();

  constructor(url: string, query: string, variables: Record<string, unknown>, token?: string) {
    this.socket = new WebSocket(url, 'graphql-transport-ws');
    this.socket.on('open', () =>
      this.socket.send(
        JSON.stringify({
          type: 'connection_init',
          payload: token ? { authorization: `Bearer ${token}` } : {},
        }),
      ),
    );
    this.socket.on('message', (raw: Buffer) => {
      const frame = raw.toString();
      this.frames.push(frame);
      if ((JSON.parse(frame) as { type: string }).type === 'connection_ack') {
        this.socket.send(
          JSON.stringify({ id: '1', type: 'subscribe', payload: { query, variables } }),
        );
      }
      for (const wake of [...this.waiters]) wake();
    });
  }

  /** The payloads of `next`/`error` frames so far. */
  get results(): Array<{ data?: any; errors?: any[] } | any[]> {
    return this.frames
      .map((f) => JSON.parse(f) as { type: string; payload?: any })
      .filter((m) => m.type === 'next' || m.type === 'error')
      .map((m) => m.payload);
  }

  /** Resolves once `count` results have arrived. */
  until(count: number): Promise<void> {
    if (this.results.length >= count) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        if (this.results.length < count) return;
        this.waiters.delete(wake);
        resolve();
      };
      this.waiters.add(wake);
    });
  }

  close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.close();
    });
  }
}

describe('holder tags never reach a client (invariant 9)', () => {
  let t: TestStack;
  const subscribers: RawSubscriber[] = [];
  const open = (query: string, variables: Record<string, unknown>, token?: string) => {
    const sub = new RawSubscriber(webSocketUrl(t.gatewayUrl), query, variables, token);
    subscribers.push(sub);
    return sub;
  };

  beforeAll(async () => {
    t = await startTestStack();
  });
  afterAll(async () => {
    await Promise.all(subscribers.map((s) => s.close()));
    await t?.stop();
  });

  const upcoming = () =>
    plan.showtimes.filter((s) => s.startsAt.getTime() > Date.now() + 86_400_000);

  it('refuses every operation that selects holderTag, over HTTP and WebSocket', async () => {
    const showtime = upcoming()[3];
    const seat = plan.seats.find((s) => s.hallId === showtime.hallId && !s.blocked)!;
    const asked = [
      [`query($id: ID!) { showtime(id: $id) { seatMap { seats { seatId holderTag } } } }`, {}],
      [
        `mutation($id: ID!, $seats: [ID!]!) { holdSeats(showtimeId: $id, seatIds: $seats) { seats { holderTag } } }`,
        { seats: [seat.id] },
      ],
    ] as const;
    for (const [query, extra] of asked) {
      const res = await t.query(
        query,
        { id: showtime.id, ...extra },
        { token: t.token('user_curious') },
      );
      expect(res.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(res.data ?? null).toBeNull();
    }

    const sub = open(
      'subscription($id: ID!) { seatUpdates(showtimeId: $id) { seats { seatId holderTag } } }',
      { id: showtime.id },
      t.token('user_curious'),
    );
    await sub.until(1);
    expect(sub.results[0]).toEqual([
      expect.objectContaining({ extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }),
    ]);
  });

  it('sends each subscriber heldByMe for its own seats only, and no frame names a holder', async () => {
    const showtime = upcoming()[4];
    const [a, b] = plan.seats.filter((s) => s.hallId === showtime.hallId && !s.blocked);
    const tagOf = seatHolderTags(t.config.internalSecret);
    const seatUpdates = contractOperation('SeatUpdates');
    const vars = { showtimeId: showtime.id };
    const asHolder = open(seatUpdates, vars, t.token('user_holder_a'));
    const asOther = open(seatUpdates, vars, t.token('user_holder_b'));
    const asNobody = open(seatUpdates, vars);
    // Every event, aliased, in one more shape.
    const aliased = open(
      `subscription($id: ID!) { s: seatUpdates(showtimeId: $id) { v: version seats { id: seatId mine: heldByMe } } }`,
      { id: showtime.id },
      t.token('user_holder_a'),
    );
    await waitFor(
      async () => ((await t.redisSubscribers(showtime.id)) >= 1 ? true : undefined),
      'the upstream subscription',
    );

    const held = await t.query(
      contractOperation('HoldSeats'),
      { showtimeId: showtime.id, seatIds: [a.id] },
      { token: t.token('user_holder_a') },
    );
    expect(held.errors).toBeUndefined();
    const heldB = await t.query(
      contractOperation('HoldSeats'),
      { showtimeId: showtime.id, seatIds: [b.id] },
      { token: t.token('user_holder_b') },
    );
    expect(heldB.errors).toBeUndefined();
    await Promise.all([asHolder, asOther, asNobody, aliased].map((s) => s.until(2)));

    const seatsOf = (sub: RawSubscriber) =>
      sub.results.map((r) => (r as { data: any }).data.seatUpdates.seats);
    expect(seatsOf(asHolder)).toEqual([
      [{ seatId: a.id, status: 'HELD', heldByMe: true }],
      [{ seatId: b.id, status: 'HELD', heldByMe: false }],
    ]);
    expect(seatsOf(asOther)).toEqual([
      [{ seatId: a.id, status: 'HELD', heldByMe: false }],
      [{ seatId: b.id, status: 'HELD', heldByMe: true }],
    ]);
    expect(seatsOf(asNobody)).toEqual([
      [{ seatId: a.id, status: 'HELD', heldByMe: false }],
      [{ seatId: b.id, status: 'HELD', heldByMe: false }],
    ]);
    expect(aliased.results.map((r) => (r as { data: any }).data.s.seats)).toEqual([
      [{ id: a.id, mine: true }],
      [{ id: b.id, mine: false }],
    ]);

    const secrets = [
      tagOf('user_holder_a'),
      tagOf('user_holder_b'),
      'user_holder_a',
      'user_holder_b',
      'holderTag',
      'holder',
    ];
    for (const sub of [asHolder, asOther, asNobody, aliased]) {
      for (const frame of sub.frames) {
        for (const secret of secrets) expect(frame).not.toContain(secret);
      }
    }
  });
});
