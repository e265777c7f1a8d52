import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  REFUND_REQUEST_FIELDS,
  REFUND_RESPONSE_FIELDS,
  VnpayApi,
  VnpayUnavailableError,
  buildPayUrl,
  pipeValues,
  type PayUrlRequest,
  type RefundRequest,
} from '../../subgraphs/bookings/src/payment/vnpay/vnpay-protocol';
import {
  parseVnpDate,
  signParams,
  signPipe,
  verifyParams,
  vnpDate,
  vnpSignData,
} from '../../subgraphs/bookings/src/payment/vnpay/vnpay-signing';
import { parseSimulatorArgs } from './main';
import { startVnpaySimulator, VnpayPayPageError, type VnpaySimulator } from './vnpay-simulator';

const tmnCode = 'CINE0001';
const hashSecret = 'MOVIEHUBTESTSECRET0123456789ABCD';
const RETURN_URL = 'http://localhost:5200/payment/return';

type Query = Record<string, string>;

/** The merchant's IPN endpoint: records every call; answers as the current test says. */
function ipnReceiver() {
  const calls: Query[] = [];
  let reply: (query: Query) => { status: number; body: string } = () => ({
    status: 200,
    body: JSON.stringify({ RspCode: '00', Message: 'Confirm Success' }),
  });
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://receiver');
    const query = Object.fromEntries(url.searchParams);
    calls.push(query);
    const { status, body } = reply(query);
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(body);
  });
  return {
    calls,
    server,
    answer(next: typeof reply) {
      reply = next;
    },
  };
}

describe('VNPay simulator', () => {
  const receiver = ipnReceiver();
  let sim: VnpaySimulator;
  let api: VnpayApi;
  let seq = 0;

  beforeAll(async () => {
    await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
    const port = (receiver.server.address() as AddressInfo).port;
    sim = await startVnpaySimulator({
      tmnCode,
      hashSecret,
      ipnUrl: 'http://127.0.0.1:1/not-yet',
      ipnRetries: 3,
      ipnBackoffMs: 1,
    });
    // The gateway's address is known only once it listens, as in the test stack.
    sim.setIpnUrl(`http://127.0.0.1:${port}/payments/vnpay/ipn`);
    api = new VnpayApi({ apiUrl: sim.apiUrl, tmnCode, hashSecret });
  });

  afterAll(async () => {
    await sim.stop();
    receiver.server.closeAllConnections();
    await new Promise((resolve) => receiver.server.close(resolve));
  });

  beforeEach(() => {
    receiver.answer(() => ({ status: 200, body: '{"RspCode":"00","Message":"Confirm Success"}' }));
  });

  function payment(change: Partial<PayUrlRequest> = {}): PayUrlRequest {
    const createdAt = new Date();
    return {
      payUrl: sim.payUrl,
      tmnCode,
      hashSecret,
      amountVnd: 185_000,
      txnRef: `BK${Date.now()}N${seq++}`,
      orderInfo: 'Thanh toan ve xem phim',
      locale: 'vn',
      returnUrl: RETURN_URL,
      ipAddr: '127.0.0.1',
      createdAt,
      expiresAt: new Date(createdAt.getTime() + 10 * 60_000),
      ...change,
    };
  }

  /** A paid payment (through `pay`), with what refund and querydr need to name it. */
  async function paid(amountVnd = 185_000) {
    const request = payment({ amountVnd });
    await sim.pay(buildPayUrl(request), 'approve');
    const txn = sim.transaction(request.txnRef)!;
    return { request, txn };
  }

  function refundOf(
    p: { request: PayUrlRequest; txn: { transactionNo: string | null } },
    change: Partial<RefundRequest> = {},
  ): RefundRequest {
    return {
      requestId: `R${Date.now()}N${seq++}`,
      txnRef: p.request.txnRef,
      amountVnd: p.request.amountVnd,
      transactionType: '02',
      transactionNo: p.txn.transactionNo!,
      transactionDate: p.request.createdAt,
      createBy: 'staff-1',
      createDate: new Date(),
      ipAddr: '127.0.0.1',
      orderInfo: 'Hoan tien ve',
      ...change,
    };
  }

  const sessionIdIn = (html: string) => /name="id" value="([0-9a-f]+)"/.exec(html)?.[1];

  describe('pay page', () => {
    it('shows the amount in VND, the order and the booking reference', async () => {
      const request = payment();
      const res = await fetch(buildPayUrl(request), { redirect: 'manual' });
      const html = await res.text();
      expect(res.status).toBe(200);
      expect(html).toContain('185.000 VND');
      expect(html).toContain('Thanh toan ve xem phim');
      expect(html).toContain(request.txnRef);
      expect(html).toContain('action="/paymentv2/decide"');
      expect(sessionIdIn(html)).toBeDefined();
      expect(sim.transaction(request.txnRef)).toMatchObject({
        state: 'pending',
        transactionStatus: '01',
      });
    });

    it.each<[string, string, (url: string) => string]>([
      [
        'a tampered amount',
        '70',
        (url) => url.replace('vnp_Amount=18500000', 'vnp_Amount=1850000'),
      ],
      ['a tampered hash', '70', (url) => url.replace(/vnp_SecureHash=../, 'vnp_SecureHash=00')],
      ['a missing hash', '70', (url) => url.replace(/&vnp_SecureHash=.*$/, '')],
      [
        'another merchant',
        '72',
        (url) => url.replace('vnp_TmnCode=CINE0001', 'vnp_TmnCode=OTHER001'),
      ],
      ['a repeated parameter', '03', (url) => `${url}&vnp_Amount=18500000`],
    ])('shows VNPay error page for %s (code %s)', async (_what, code, tamper) => {
      const res = await fetch(tamper(buildPayUrl(payment())), { redirect: 'manual' });
      expect(res.status).toBe(302);
      const location = new URL(res.headers.get('location')!, sim.url);
      expect(location.pathname).toBe('/paymentv2/Payment/Error.html');
      expect(location.searchParams.get('code')).toBe(code);
      const page = await fetch(location);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain(`Error code ${code}`);
    });

    it('refuses an expired payment (15) and an amount VNPay does not take (32)', async () => {
      const past = new Date(Date.now() - 20 * 60_000);
      const expired = payment({ createdAt: past, expiresAt: new Date(past.getTime() + 60_000) });
      await expect(sim.pay(buildPayUrl(expired), 'approve')).rejects.toMatchObject({ code: '15' });
      // buildPayUrl refuses such an amount, so sign one by hand as a buggy merchant would.
      const params = Object.fromEntries(new URL(buildPayUrl(payment())).searchParams);
      delete params.vnp_SecureHash;
      params.vnp_Amount = '100000';
      const tiny = `${sim.payUrl}?${vnpSignData(params)}&vnp_SecureHash=${signParams(params, hashSecret)}`;
      const error = await sim.pay(tiny, 'approve').catch((err: unknown) => err);
      expect(error).toBeInstanceOf(VnpayPayPageError);
      expect(error).toMatchObject({ code: '32' });
    });
  });

  describe('decision, IPN and return URL', () => {
    it('approve: a signed IPN with VNPay fields, then a signed return URL', async () => {
      const request = payment();
      const before = receiver.calls.length;
      const result = await sim.pay(buildPayUrl(request), 'approve');
      expect(result.ipn).toEqual({ RspCode: '00', Message: 'Confirm Success' });
      expect(receiver.calls.length).toBe(before + 1);
      const ipn = receiver.calls.at(-1)!;
      expect(verifyParams(ipn, hashSecret)).toBe(true);
      expect(verifyParams({ ...ipn, vnp_ResponseCode: '00 ' }, hashSecret)).toBe(false);
      expect(Object.keys(ipn).sort()).toEqual(
        [
          'vnp_Amount',
          'vnp_BankCode',
          'vnp_BankTranNo',
          'vnp_CardType',
          'vnp_OrderInfo',
          'vnp_PayDate',
          'vnp_ResponseCode',
          'vnp_SecureHash',
          'vnp_TmnCode',
          'vnp_TransactionNo',
          'vnp_TransactionStatus',
          'vnp_TxnRef',
        ].sort(),
      );
      expect(ipn).toMatchObject({
        vnp_Amount: '18500000',
        vnp_BankCode: 'NCB',
        vnp_CardType: 'ATM',
        vnp_OrderInfo: 'Thanh toan ve xem phim',
        vnp_ResponseCode: '00',
        vnp_TmnCode: tmnCode,
        vnp_TransactionStatus: '00',
        vnp_TxnRef: request.txnRef,
      });
      expect(parseVnpDate(ipn.vnp_PayDate)).not.toBeNull();
      const back = new URL(result.returnUrl);
      expect(`${back.origin}${back.pathname}`).toBe(RETURN_URL);
      const returned = Object.fromEntries(back.searchParams);
      expect(verifyParams(returned, hashSecret)).toBe(true);
      expect(returned).toEqual(ipn);
      expect(sim.transaction(request.txnRef)).toMatchObject({
        state: 'paid',
        responseCode: '00',
        transactionStatus: '00',
        transactionNo: ipn.vnp_TransactionNo,
      });
    });

    it('decline: ResponseCode 24, TransactionStatus 02, signed', async () => {
      const request = payment();
      const result = await sim.pay(buildPayUrl(request), 'decline');
      const ipn = receiver.calls.at(-1)!;
      expect(verifyParams(ipn, hashSecret)).toBe(true);
      expect(ipn).toMatchObject({
        vnp_TxnRef: request.txnRef,
        vnp_ResponseCode: '24',
        vnp_TransactionStatus: '02',
        vnp_TransactionNo: '0',
      });
      expect(ipn.vnp_BankTranNo).toBeUndefined();
      expect(
        verifyParams(Object.fromEntries(new URL(result.returnUrl).searchParams), hashSecret),
      ).toBe(true);
      expect(sim.transaction(request.txnRef)?.state).toBe('failed');
    });

    it('through the browser form: IPN first, then a 302 to the return URL', async () => {
      const request = payment();
      const page = await fetch(buildPayUrl(request));
      const id = sessionIdIn(await page.text())!;
      const before = receiver.calls.length;
      const res = await fetch(`${sim.url}/paymentv2/decide`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ id, decision: 'approve' }).toString(),
        redirect: 'manual',
      });
      expect(res.status).toBe(302);
      expect(receiver.calls.length).toBe(before + 1);
      const location = new URL(res.headers.get('location')!);
      expect(location.href.startsWith(`${RETURN_URL}?`)).toBe(true);
      expect(verifyParams(Object.fromEntries(location.searchParams), hashSecret)).toBe(true);
      expect(location.searchParams.get('vnp_TxnRef')).toBe(request.txnRef);
      // The session is spent: a second click shows an error, not a second payment.
      const again = await fetch(`${sim.url}/paymentv2/decide`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ id, decision: 'decline' }).toString(),
        redirect: 'manual',
      });
      expect(again.headers.get('location')).toContain('code=99');
      expect(sim.transaction(request.txnRef)?.state).toBe('paid');
    });

    it('retries the IPN while the merchant does not answer 00 or 02', async () => {
      const answers = ['99', '97', '02'];
      receiver.answer(() => ({
        status: 200,
        body: JSON.stringify({ RspCode: answers.shift() ?? '00', Message: 'x' }),
      }));
      const request = payment();
      const result = await sim.pay(buildPayUrl(request), 'approve');
      expect(result.ipn?.RspCode).toBe('02');
      expect(sim.transaction(request.txnRef)?.ipnAttempts.map((a) => a.answer?.RspCode)).toEqual([
        '99',
        '97',
        '02',
      ]);
    });

    it('gives up after the retries when the merchant never answers JSON', async () => {
      receiver.answer(() => ({ status: 500, body: 'oops' }));
      const request = payment();
      const result = await sim.pay(buildPayUrl(request), 'approve');
      expect(result.ipn).toBeNull();
      expect(sim.transaction(request.txnRef)?.ipnAttempts).toHaveLength(4);
    });

    it('refuses a reference it has already seen decided (code 01)', async () => {
      const request = payment();
      await sim.pay(buildPayUrl(request), 'decline');
      await expect(sim.pay(buildPayUrl(request), 'approve')).rejects.toMatchObject({ code: '01' });
    });
  });

  describe('merchant API', () => {
    it('full refund: 00, signed, recorded; a second refund is refused (02)', async () => {
      const p = await paid();
      const answer = await api.refund(refundOf(p));
      expect(answer).toMatchObject({ responseCode: '00', amountVnd: 185_000 });
      expect(answer.raw.vnp_TransactionType).toBe('02');
      expect(sim.transaction(p.request.txnRef)).toMatchObject({
        refundedVnd: 185_000,
        refunds: [{ amountVnd: 185_000, transactionType: '02', createBy: 'staff-1' }],
      });
      const again = await api.refund(refundOf(p));
      expect(again.responseCode).toBe('02');
      expect(sim.transaction(p.request.txnRef)?.refunds).toHaveLength(1);
    });

    it('partial refunds add up to the payment and no further', async () => {
      const p = await paid(100_000);
      const partial = (amountVnd: number, transactionType: '02' | '03' = '03') =>
        api.refund(refundOf(p, { amountVnd, transactionType }));
      expect((await partial(40_000)).responseCode).toBe('00');
      expect((await partial(100_000, '02')).responseCode).toBe('04'); // full after partial
      expect((await partial(150_000)).responseCode).toBe('93'); // above the payment
      expect((await partial(70_000)).responseCode).toBe('02'); // above what is left
      expect((await partial(60_000)).responseCode).toBe('00');
      const txn = sim.transaction(p.request.txnRef)!;
      expect(txn.refunds.map((r) => r.amountVnd)).toEqual([40_000, 60_000]);
      expect(txn.refundedVnd).toBe(100_000);
    });

    it('refuses to refund a payment that did not succeed (95) or is unknown (91)', async () => {
      const request = payment();
      await sim.pay(buildPayUrl(request), 'decline');
      const declined = { request, txn: { transactionNo: '0' } };
      expect((await api.refund(refundOf(declined))).responseCode).toBe('95');
      const unknown = { request: payment(), txn: { transactionNo: '1' } };
      expect((await api.refund(refundOf(unknown))).responseCode).toBe('91');
    });

    it('finds a payment by reference and creation date only (91 otherwise)', async () => {
      const p = await paid();
      const wrongDate = new Date(p.request.createdAt.getTime() + 1000);
      const answer = await api.refund(refundOf(p, { transactionDate: wrongDate }));
      expect(answer.responseCode).toBe('91');
      const wrongNo = await api.refund(refundOf(p, { transactionNo: '999' }));
      expect(wrongNo.responseCode).toBe('91');
    });

    it('can lose a refund answer after carrying the refund out; querydr then shows the refund', async () => {
      const query = (request: PayUrlRequest) =>
        api.queryDr({
          requestId: `Q${Date.now()}N${seq++}`,
          txnRef: request.txnRef,
          transactionDate: request.createdAt,
          createDate: new Date(),
          ipAddr: '127.0.0.1',
          orderInfo: 'Kiem tra hoan tien',
        });
      const whole = await paid();
      sim.loseRefundAnswers(whole.request.txnRef);
      await expect(api.refund(refundOf(whole))).rejects.toBeInstanceOf(VnpayUnavailableError);
      expect(sim.transaction(whole.request.txnRef)).toMatchObject({ refundedVnd: 185_000 });
      expect((await query(whole.request)).raw).toMatchObject({
        vnp_ResponseCode: '00',
        vnp_TransactionType: '02',
        vnp_TransactionStatus: '05',
      });
      // Only the next answer was lost: asked again, VNPay refuses a second whole refund.
      expect((await api.refund(refundOf(whole))).responseCode).toBe('02');

      const partial = await paid(100_000);
      expect((await query(partial.request)).raw.vnp_TransactionType).toBe('01');
      sim.loseRefundAnswers(partial.request.txnRef);
      await expect(
        api.refund(refundOf(partial, { amountVnd: 40_000, transactionType: '03' })),
      ).rejects.toBeInstanceOf(VnpayUnavailableError);
      expect((await query(partial.request)).raw).toMatchObject({
        vnp_TransactionType: '03',
        vnp_TransactionStatus: '05',
      });
      expect(sim.transaction(partial.request.txnRef)?.refundedVnd).toBe(40_000);
    });

    it('querydr: paid 00, unfinished 01, failed 02, unknown 91', async () => {
      const query = (request: PayUrlRequest) =>
        api.queryDr({
          requestId: `Q${Date.now()}N${seq++}`,
          txnRef: request.txnRef,
          transactionDate: request.createdAt,
          createDate: new Date(),
          ipAddr: '127.0.0.1',
          orderInfo: 'Kiem tra thanh toan',
        });
      const p = await paid();
      const answer = await query(p.request);
      expect(answer).toMatchObject({
        responseCode: '00',
        transactionStatus: '00',
        transactionNo: p.txn.transactionNo,
        amountVnd: 185_000,
      });
      expect(answer.payDate && vnpDate(answer.payDate)).toBe(p.txn.payDate);

      const opened = payment();
      await fetch(buildPayUrl(opened));
      expect(await query(opened)).toMatchObject({ responseCode: '00', transactionStatus: '01' });

      const declined = payment();
      await sim.pay(buildPayUrl(declined), 'decline');
      expect((await query(declined)).transactionStatus).toBe('02');

      expect((await query(payment())).responseCode).toBe('91');
    });

    it('answers 97, signed, to a bad checksum; a caller with the wrong secret gets no answer', async () => {
      const p = await paid();
      const body: Record<string, string> = {
        vnp_RequestId: 'BADSUM1',
        vnp_Version: '2.1.0',
        vnp_Command: 'refund',
        vnp_TmnCode: tmnCode,
        vnp_TransactionType: '02',
        vnp_TxnRef: p.request.txnRef,
        vnp_Amount: '18500000',
        vnp_TransactionNo: p.txn.transactionNo!,
        vnp_TransactionDate: vnpDate(p.request.createdAt),
        vnp_CreateBy: 'staff-1',
        vnp_CreateDate: vnpDate(new Date()),
        vnp_IpAddr: '127.0.0.1',
        vnp_OrderInfo: 'Hoan tien',
      };
      body.vnp_SecureHash = signPipe(pipeValues(body, REFUND_REQUEST_FIELDS), 'wrong secret');
      const res = await fetch(sim.apiUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const answer = (await res.json()) as Record<string, string>;
      expect(answer.vnp_ResponseCode).toBe('97');
      expect(answer.vnp_SecureHash).toBe(
        signPipe(pipeValues(answer, REFUND_RESPONSE_FIELDS), hashSecret),
      );
      expect(sim.transaction(p.request.txnRef)?.refunds).toEqual([]);

      const wrong = new VnpayApi({ apiUrl: sim.apiUrl, tmnCode, hashSecret: 'wrong secret' });
      await expect(wrong.refund(refundOf(p))).rejects.toBeInstanceOf(VnpayUnavailableError);
      expect(sim.transaction(p.request.txnRef)?.refunds).toEqual([]);
    });

    it('answers 94 to a repeated request id, 02 to another merchant, 03 to garbage', async () => {
      const p = await paid(100_000);
      const first = refundOf(p, { amountVnd: 10_000, transactionType: '03' });
      expect((await api.refund(first)).responseCode).toBe('00');
      expect((await api.refund(first)).responseCode).toBe('94');
      expect(sim.transaction(p.request.txnRef)?.refundedVnd).toBe(10_000);

      const other = new VnpayApi({ apiUrl: sim.apiUrl, tmnCode: 'OTHER001', hashSecret });
      expect(
        (await other.refund(refundOf(p, { amountVnd: 1, transactionType: '03' }))).responseCode,
      ).toBe('02');

      for (const garbage of [
        'not json',
        '[1]',
        '{"vnp_Command":{"$ne":1}}',
        '{"vnp_Command":"pay"}',
      ]) {
        const res = await fetch(sim.apiUrl, { method: 'POST', body: garbage });
        expect(res.status).toBe(200);
        expect(((await res.json()) as Query).vnp_ResponseCode).toBe('03');
      }
      const huge = await fetch(sim.apiUrl, { method: 'POST', body: 'x'.repeat(100_000) });
      expect(huge.status).toBe(413);
    });
  });

  it('main.ts reads its options from flags only', () => {
    expect(
      parseSimulatorArgs([
        '--port',
        '5300',
        '--tmn-code',
        tmnCode,
        '--hash-secret',
        hashSecret,
        '--ipn-url',
        'http://localhost:4004/payments/vnpay/ipn',
      ]),
    ).toEqual({
      options: {
        port: 5300,
        host: '127.0.0.1',
        tmnCode,
        hashSecret,
        ipnUrl: 'http://localhost:4004/payments/vnpay/ipn',
      },
    });
    expect(parseSimulatorArgs(['--port', 'x'])).toHaveProperty('error');
    expect(parseSimulatorArgs(['--bogus'])).toHaveProperty('error');
  });
});
