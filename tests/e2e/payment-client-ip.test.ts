import { randomUUID } from 'node:crypto';
import { IDENTITY_HEADER, signIdentity } from '../../runtime/identity';
import { verifyParams } from '../../subgraphs/bookings/src/payment/vnpay/vnpay-signing';
import { contractOperation } from '../support/contract';
import { TEST_SERVER_IP } from '../support/test-config';
import { TestConnection, webSocketUrl } from '../support/ws-client';
import { postGraphQL, startTestStack, type TestStack } from '../support/test-stack';
import { createBooking, holdSeats, ok, scheduleShowtime } from './booking-kit';

/**
 * VNPay's `vnp_IpAddr` is the customer's address (VNPay's fraud checks use it): StartPayment
 * through the gateway carries the client's address, as the gateway resolves it (a proxy of
 * our own networks is believed, from the right of X-Forwarded-For), signed with the caller's
 * identity to the bookings subgraph, into the pay URL and the attempt's row.
 */
describe("StartPayment sends VNPay the client's address", () => {
  let t: TestStack;
  let user: string;
  let bookingId: string;

  beforeAll(async () => {
    t = await startTestStack();
    user = `user_ip_${randomUUID().slice(0, 8)}`;
    ok(await t.query(contractOperation('Me'), {}, { token: t.token(user) }));
    const show = await scheduleShowtime(t, { minutesAhead: 3 * 24 * 60, price: 95_000 });
    const seatIds = show.seats.slice(0, 1).map((s) => s.seatId);
    await holdSeats(t, user, show.showtimeId, seatIds);
    bookingId = (
      ok(await createBooking(t, user, { showtimeId: show.showtimeId, seatIds })).data!
        .createBooking as { id: string }
    ).id;
  }, 120_000);

  afterAll(async () => {
    await t?.stop();
  });

  /** StartPayment as a client behind the given X-Forwarded-For; the pay URL's parameters. */
  async function payUrlParams(forwardedFor: string): Promise<URLSearchParams> {
    const res = ok(
      await t.query(
        contractOperation('StartPayment'),
        { bookingId },
        { token: t.token(user), headers: { 'X-Forwarded-For': forwardedFor } },
      ),
    );
    const { paymentUrl, transactionId } = res.data!.startPayment as {
      paymentUrl: string;
      transactionId: string;
    };
    const params = new URL(paymentUrl).searchParams;
    // Still a URL VNPay accepts: the address is part of what is signed.
    expect(verifyParams(Object.fromEntries(params), t.config.vnpay.hashSecret)).toBe(true);
    const [row] = await t.stack.subgraphs.bookings.dataSource.query<{ ip_addr: string }[]>(
      'SELECT ip_addr FROM payments WHERE txn_ref = $1',
      [transactionId],
    );
    expect(row.ip_addr).toBe(params.get('vnp_IpAddr'));
    return params;
  }

  it('is the address our proxy (here: loopback) forwarded, IPv4 or IPv6', async () => {
    expect((await payUrlParams('203.0.113.7')).get('vnp_IpAddr')).toBe('203.0.113.7');
    expect((await payUrlParams('2001:db8::7')).get('vnp_IpAddr')).toBe('2001:db8::7');
  });

  it('is the one our proxies appended, never what the client wrote to the left', async () => {
    // A client claiming 198.51.100.1 through a proxy that saw it as 203.0.113.9, then a
    // second proxy of ours (a private address).
    const params = await payUrlParams('198.51.100.1, 203.0.113.9, 10.0.0.2');
    expect(params.get('vnp_IpAddr')).toBe('203.0.113.9');
  });

  it('cannot be set by a caller that reaches the bookings subgraph without the gateway', async () => {
    // A header signed without the address (the only kind a caller without the secret can
    // replay), plus every header a client could try: the server's default is used.
    const bookings = t.stack.subgraphs.bookings.url;
    const identity = { userId: user, role: 'CUSTOMER' as const, email: null };
    const res = ok(
      await postGraphQL(
        bookings,
        'mutation($id: ID!) { startPayment(bookingId: $id) { paymentUrl } }',
        { id: bookingId },
        {
          headers: {
            [IDENTITY_HEADER]: signIdentity(identity, t.config.internalSecret, 'bookings'),
            'X-Forwarded-For': '198.51.100.66',
            'X-Real-IP': '198.51.100.66',
          },
        },
      ),
    );
    const paymentUrl = (res.data!.startPayment as { paymentUrl: string }).paymentUrl;
    expect(new URL(paymentUrl).searchParams.get('vnp_IpAddr')).toBe(TEST_SERVER_IP);
  });

  it('is carried over the gateway WebSocket too', async () => {
    const conn = new TestConnection(webSocketUrl(t.gatewayUrl), {
      token: t.token(user),
      headers: { 'X-Forwarded-For': '203.0.113.21' },
    });
    try {
      const answer = await conn.subscribe(contractOperation('StartPayment'), { bookingId }).next();
      expect(answer.errors).toBeUndefined();
      const { paymentUrl } = answer.data!.startPayment as { paymentUrl: string };
      expect(new URL(paymentUrl).searchParams.get('vnp_IpAddr')).toBe('203.0.113.21');
    } finally {
      await conn.close();
    }
  });
});
