import { buildDemoPlan } from '../../scripts/seed/demo-plan';
import { contractOperation } from '../support/contract';
import { startTestStack, type TestStack } from '../support/test-stack';
import { waitFor } from '../support/wait-for';
import { TestConnection, webSocketUrl, type ConnectOptions } from '../support/ws-client';

/**
 * Issue 8 item 8: a `connection_init` payload other than `{ authorization: string }` is
 * refused like a bad token (4401), and a socket is closed (4403) when its token expires plus
 * WS_TOKEN_EXPIRY_GRACE_SECONDS (0 here), its subscriptions ended.
 */
const plan = buildDemoPlan();
const upcoming = plan.showtimes.filter((s) => s.startsAt.getTime() > Date.now() + 86_400_000);

describe('WebSocket authentication', () => {
  let t: TestStack;
  const connections: TestConnection[] = [];
  const connect = (options: ConnectOptions) => {
    const connection = new TestConnection(webSocketUrl(t.gatewayUrl), options);
    connections.push(connection);
    return connection;
  };
  /** How the connection attempt ended: acknowledged, or the close code. */
  const outcome = (connection: TestConnection) =>
    Promise.race([
      connection.connected.then(() => 'connected' as const),
      connection.closed.then(({ code }) => code),
    ]);

  beforeAll(async () => {
    t = await startTestStack({ env: { WS_TOKEN_EXPIRY_GRACE_SECONDS: '0' } });
  });
  afterAll(async () => {
    await Promise.all(connections.map((c) => c.close()));
    await t?.stop();
  });

  it('refuses a connection_init with an unknown or non-string auth field like a bad token', async () => {
    const token = t.token('user_payload');
    const malformed: Record<string, unknown>[] = [
      { authorization: 123 },
      { authorization: null },
      { authorization: [`Bearer ${token}`] },
      { Authorization: `Bearer ${token}` },
      { token },
      { headers: { authorization: `Bearer ${token}` } },
      { authorization: `Bearer ${token}`, role: 'ADMIN' },
    ];
    for (const connectionParams of malformed) {
      expect([connectionParams, await outcome(connect({ connectionParams }))]).toEqual([
        connectionParams,
        4401,
      ]);
    }
    // No payload, or an empty one, is anonymous; a good token is accepted.
    expect(await outcome(connect({ connectionParams: null }))).toBe('connected');
    expect(await outcome(connect({ connectionParams: {} }))).toBe('connected');
    expect(await outcome(connect({ token }))).toBe('connected');
  });

  it('closes a socket with 4403 when its token expires, ending its subscriptions', async () => {
    const showtime = upcoming[0];
    const connection = connect({ token: t.token('user_brief', 'CUSTOMER', { expiresIn: 2 }) });
    const sub = connection.subscribe(contractOperation('SeatUpdates'), {
      showtimeId: showtime.id,
    });
    await connection.connected;
    await waitFor(
      async () => ((await t.redisSubscribers(showtime.id)) >= 1 ? true : undefined),
      'the upstream subscription',
    );

    expect((await connection.closed).code).toBe(4403);
    await sub.done;
    expect(sub.ended).toBe(true);
    // The gateway let go of what the socket had open.
    await waitFor(
      async () => ((await t.redisSubscribers(showtime.id)) === 0 ? true : undefined),
      'the upstream subscription released',
    );
  });

  it('closes a socket at once with 4403 when its token is past expiry and grace', async () => {
    // Within the verifier's clock-skew allowance, so only the socket's own rule refuses it.
    const connection = connect({ token: t.token('user_late', 'CUSTOMER', { expiresIn: -2 }) });
    expect(await outcome(connection)).toBe(4403);
  });
});
