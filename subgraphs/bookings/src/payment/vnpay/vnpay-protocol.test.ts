import { readFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { CONTRACT_DIR } from '../../../../../tests/support/contract';
import {
  QUERYDR_RESPONSE_FIELDS,
  REFUND_RESPONSE_FIELDS,
  VnpayApi,
  VnpayUnavailableError,
  buildPayUrl,
  pipeValues,
  readVnpQuery,
  vnpAmountToVnd,
  type PayUrlRequest,
  type QueryDrRequest,
  type RefundRequest,
} from './vnpay-protocol';
import { parseVnpDate, signPipe, verifyParams, vnpSignData, type VnpParams } from './vnpay-signing';

interface Vectors {
  params: { name: string; secret: string; params: VnpParams; hash: string }[];
  pipe: { name: string; secret: string; data: string; hash: string }[];
}
const vectors = JSON.parse(
  readFileSync(join(CONTRACT_DIR, '..', 'vnpay-vectors.json'), 'utf8'),
) as Vectors;
const pipeVector = (name: string) => vectors.pipe.find((v) => v.name === name)!;

describe('buildPayUrl', () => {
  const vector = vectors.params.find((v) => v.name === 'pay-url-booking-185000')!;
  const request: PayUrlRequest = {
    payUrl: 'https://sandbox.vnpayment.vn/paymentv2/vpcpay.html',
    tmnCode: 'CINE0001',
    hashSecret: vector.secret,
    amountVnd: 185_000,
    txnRef: 'BK20250101ABC123',
    orderInfo: 'Thanh toan ve xem phim BK20250101ABC123',
    locale: 'vn',
    returnUrl: 'http://localhost:5200/payment/return',
    ipAddr: '127.0.0.1',
    createdAt: new Date('2025-01-01T12:30:00Z'),
    expiresAt: new Date('2025-01-01T12:40:00Z'),
  };

  it('matches the known answer exactly: parameters, order, encoding and hash', () => {
    expect(buildPayUrl(request)).toBe(
      `${request.payUrl}?${vnpSignData(vector.params)}&vnp_SecureHash=${vector.hash}`,
    );
  });

  it('is a URL whose query verifies, without vnp_SecureHashType', () => {
    const url = new URL(buildPayUrl({ ...request, bankCode: 'NCB' }));
    const query = Object.fromEntries(url.searchParams);
    expect(query.vnp_SecureHashType).toBeUndefined();
    expect(query).toMatchObject({ vnp_Amount: '18500000', vnp_BankCode: 'NCB' });
    expect(verifyParams(query, vector.secret)).toBe(true);
  });

  it.each<[string, Partial<PayUrlRequest>]>([
    ['a zero amount', { amountVnd: 0 }],
    ['a fractional amount', { amountVnd: 185_000.5 }],
    ['an amount under VNPay minimum', { amountVnd: 4_999 }],
    ['an amount of a billion', { amountVnd: 1_000_000_000 }],
    ['Vietnamese diacritics', { orderInfo: 'Thanh toán vé' }],
    ['a pipe in the order info', { orderInfo: 'a|b' }],
    ['an apostrophe in the order info', { orderInfo: "Ve cua Lan's" }],
    ['an empty order info', { orderInfo: '' }],
    ['a reference with a space', { txnRef: 'BK 1' }],
    ['an unknown locale', { locale: 'fr' as 'vn' }],
    ['a non-http return URL', { returnUrl: 'javascript:alert(1)' }],
    ['an expiry before creation', { expiresAt: new Date('2025-01-01T12:29:59Z') }],
    ['an invalid date', { createdAt: new Date('nope') }],
    ['an odd bank code', { bankCode: 'N&B' }],
  ])('refuses %s', (_what, change) => {
    expect(() => buildPayUrl({ ...request, ...change })).toThrow(RangeError);
  });
});

describe('readVnpQuery', () => {
  it('keeps the vnp_ strings of an Express query and ignores other keys', () => {
    expect(readVnpQuery({ vnp_Amount: '100', vnp_TxnRef: 'A', page: ['1', '2'] })).toEqual({
      vnp_Amount: '100',
      vnp_TxnRef: 'A',
    });
  });

  it('is null for a repeated or nested vnp_ key, a control character, or a query that is not an object', () => {
    expect(readVnpQuery({ vnp_Amount: ['100', '200'] })).toBeNull();
    expect(readVnpQuery({ vnp_Amount: ['100'] })).toBeNull();
    expect(readVnpQuery({ vnp_Amount: { $gt: '' } })).toBeNull();
    expect(readVnpQuery({ vnp_Amount: '100', vnp_TxnRef: 'A\u0000' })).toBeNull();
    expect(readVnpQuery({ vnp_BankCode: 'NCB\n' })).toBeNull();
    for (const hostile of [null, undefined, 'vnp_Amount=1', 42, ['vnp_Amount']]) {
      expect(readVnpQuery(hostile)).toBeNull();
    }
  });

  it('reads vnp_Amount back into whole VND', () => {
    expect(vnpAmountToVnd('18500000')).toBe(185_000);
    for (const bad of ['18500001', '-100', '1e5', '', ' 100', undefined, '1'.repeat(16)]) {
      expect(vnpAmountToVnd(bad)).toBeNull();
    }
  });
});

/** A stand-in for VNPay's API: records each request and answers as the test says. */
function fakeVnpay() {
  const requests: Record<string, unknown>[] = [];
  let reply: (res: ServerResponse, body: Record<string, string>) => void = (res) => res.end('{}');
  const server: Server = createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => {
      const body = JSON.parse(text) as Record<string, string>;
      requests.push(body);
      reply(res, body);
    });
  });
  return {
    requests,
    server,
    answer(next: typeof reply) {
      reply = next;
    },
    async start(): Promise<string> {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}/merchant_webapi/api/transaction`;
    },
    async stop(): Promise<void> {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('answer hash order', () => {
  // VNPay's "querydr & refund" page; the simulator and VnpayApi share these constants, so a
  // wrong order would pass every round trip: pin it here as VNPay publishes it.
  it('is the published pipe order of refund and querydr answers', () => {
    expect(REFUND_RESPONSE_FIELDS.join('|')).toBe(
      'vnp_ResponseId|vnp_Command|vnp_ResponseCode|vnp_Message|vnp_TmnCode|vnp_TxnRef|' +
        'vnp_Amount|vnp_BankCode|vnp_PayDate|vnp_TransactionNo|vnp_TransactionType|' +
        'vnp_TransactionStatus|vnp_OrderInfo',
    );
    expect(QUERYDR_RESPONSE_FIELDS.join('|')).toBe(
      `${REFUND_RESPONSE_FIELDS.join('|')}|vnp_PromotionCode|vnp_PromotionAmount`,
    );
  });
});

describe('VnpayApi', () => {
  const secret = 'test_secret';
  const fake = fakeVnpay();
  let api: VnpayApi;
  let apiUrl: string;
  const at = parseVnpDate('20231221103000')!;
  const refundFull: RefundRequest = {
    requestId: 'REFUND123456',
    txnRef: 'TXN123456789',
    amountVnd: 10_000,
    transactionType: '02',
    transactionNo: '14422574',
    transactionDate: at,
    createBy: 'merchant_user',
    createDate: at,
    ipAddr: '127.0.0.1',
    orderInfo: 'Test refund order',
  };
  const query: QueryDrRequest = {
    requestId: 'REQUEST123456',
    txnRef: 'TXN123456789',
    transactionDate: at,
    createDate: at,
    ipAddr: '127.0.0.1',
    orderInfo: 'Test order query',
  };
  const signedAnswer = (fields: Record<string, string>, order: readonly string[]) => ({
    ...fields,
    vnp_SecureHash: signPipe(pipeValues(fields, order), secret),
  });
  const refundAnswer = {
    vnp_ResponseId: 'abc',
    vnp_Command: 'refund',
    vnp_ResponseCode: '00',
    vnp_Message: 'Refund success',
    vnp_TmnCode: 'TEST_TMN_CODE',
    vnp_TxnRef: 'TXN123456789',
    vnp_Amount: '1000000',
    vnp_OrderInfo: 'Test refund order',
    vnp_BankCode: 'NCB',
    vnp_PayDate: '20231221103500',
    vnp_TransactionNo: '14422999',
    vnp_TransactionType: '02',
    vnp_TransactionStatus: '05',
  };
  const json = (res: ServerResponse, body: unknown, status = 200) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  beforeAll(async () => {
    apiUrl = await fake.start();
    api = new VnpayApi({ apiUrl, tmnCode: 'TEST_TMN_CODE', hashSecret: secret });
  });
  afterAll(() => fake.stop());

  it.each<[string, RefundRequest]>([
    ['refund-full-02', refundFull],
    ['refund-partial-03', { ...refundFull, amountVnd: 5_000, transactionType: '03' }],
  ])('signs a refund as the known answer %s and sends every field', async (name, request) => {
    fake.answer((res) => json(res, signedAnswer(refundAnswer, REFUND_RESPONSE_FIELDS)));
    await api.refund(request);
    const sent = fake.requests.at(-1)!;
    expect(sent.vnp_SecureHash).toBe(pipeVector(name).hash);
    expect(Object.keys(sent).sort()).toEqual(
      [
        'vnp_RequestId',
        'vnp_Version',
        'vnp_Command',
        'vnp_TmnCode',
        'vnp_TransactionType',
        'vnp_TxnRef',
        'vnp_Amount',
        'vnp_TransactionNo',
        'vnp_TransactionDate',
        'vnp_CreateBy',
        'vnp_CreateDate',
        'vnp_IpAddr',
        'vnp_OrderInfo',
        'vnp_SecureHash',
      ].sort(),
    );
  });

  it('signs a querydr as the known answer and reads its signed answer', async () => {
    const answer = {
      ...refundAnswer,
      vnp_Command: 'querydr',
      vnp_Message: 'QueryDR Success',
      vnp_TransactionNo: '14422574',
      vnp_TransactionType: '01',
      vnp_TransactionStatus: '00',
      vnp_PromotionCode: '',
      vnp_PromotionAmount: '',
    };
    fake.answer((res) => json(res, signedAnswer(answer, QUERYDR_RESPONSE_FIELDS)));
    const result = await api.queryDr(query);
    expect(fake.requests.at(-1)!.vnp_SecureHash).toBe(pipeVector('querydr').hash);
    expect(result).toMatchObject({
      responseCode: '00',
      message: 'QueryDR Success',
      transactionStatus: '00',
      transactionNo: '14422574',
      amountVnd: 10_000,
    });
    expect(result.payDate?.toISOString()).toBe('2023-12-21T03:35:00.000Z');
  });

  it('returns a signed refusal as an answer, not an error', async () => {
    const refusal = {
      vnp_ResponseId: 'r1',
      vnp_Command: 'refund',
      vnp_ResponseCode: '02',
      vnp_Message: 'Total refunds would exceed the payment amount',
      vnp_TmnCode: 'TEST_TMN_CODE',
      vnp_TxnRef: 'TXN123456789',
    };
    fake.answer((res) => json(res, signedAnswer(refusal, REFUND_RESPONSE_FIELDS)));
    const result = await api.refund(refundFull);
    expect(result).toMatchObject({
      responseCode: '02',
      transactionStatus: null,
      transactionNo: null,
      amountVnd: null,
      payDate: null,
    });
  });

  it('reads numbers in the answer as their digits (the hash covers the same text)', async () => {
    const answer = signedAnswer(refundAnswer, REFUND_RESPONSE_FIELDS);
    fake.answer((res) => json(res, { ...answer, vnp_Amount: 1000000 }));
    expect((await api.refund(refundFull)).amountVnd).toBe(10_000);
  });

  it.each<[string, (res: ServerResponse) => void]>([
    [
      'a wrongly signed answer',
      (res) =>
        json(res, {
          ...signedAnswer(refundAnswer, REFUND_RESPONSE_FIELDS),
          vnp_ResponseCode: '94',
        }),
    ],
    ['an unsigned answer', (res) => json(res, refundAnswer)],
    [
      'an answer signed in the querydr order',
      (res) => json(res, signedAnswer(refundAnswer, QUERYDR_RESPONSE_FIELDS)),
    ],
    [
      'an answer about another payment',
      (res) =>
        json(res, signedAnswer({ ...refundAnswer, vnp_TxnRef: 'OTHER' }, REFUND_RESPONSE_FIELDS)),
    ],
    ['a 500', (res) => json(res, signedAnswer(refundAnswer, REFUND_RESPONSE_FIELDS), 500)],
    ['a 503 page', (res) => res.writeHead(503).end('<html>maintenance</html>')],
    ['an answer that is not JSON', (res) => res.end('<html>')],
    ['a JSON array', (res) => json(res, [refundAnswer])],
    ['a nested field', (res) => json(res, { ...refundAnswer, vnp_Amount: { x: 1 } })],
    ['a dropped connection', (res) => res.socket?.destroy()],
  ])('throws VnpayUnavailableError for %s', async (_what, reply) => {
    fake.answer(reply);
    await expect(api.refund(refundFull)).rejects.toBeInstanceOf(VnpayUnavailableError);
  });

  it('throws VnpayUnavailableError when VNPay does not answer in time', async () => {
    const slow = new VnpayApi({
      apiUrl,
      tmnCode: 'TEST_TMN_CODE',
      hashSecret: secret,
      timeoutMs: 100,
    });
    fake.answer(() => undefined); // never answers
    await expect(slow.queryDr(query)).rejects.toBeInstanceOf(VnpayUnavailableError);
  });

  it('throws VnpayUnavailableError when nothing listens', async () => {
    const closed = fakeVnpay();
    const closedUrl = await closed.start();
    await closed.stop();
    const down = new VnpayApi({ apiUrl: closedUrl, tmnCode: 'TEST_TMN_CODE', hashSecret: secret });
    await expect(down.queryDr(query)).rejects.toBeInstanceOf(VnpayUnavailableError);
  });

  it('refuses invalid requests before sending anything', async () => {
    const before = fake.requests.length;
    await expect(api.refund({ ...refundFull, requestId: 'has-dash' })).rejects.toThrow(RangeError);
    await expect(api.refund({ ...refundFull, requestId: 'x'.repeat(33) })).rejects.toThrow(
      RangeError,
    );
    await expect(api.refund({ ...refundFull, amountVnd: 0 })).rejects.toThrow(RangeError);
    await expect(api.refund({ ...refundFull, createBy: 'a|b' })).rejects.toThrow(RangeError);
    await expect(api.refund({ ...refundFull, transactionType: '01' as '02' })).rejects.toThrow(
      RangeError,
    );
    await expect(api.queryDr({ ...query, orderInfo: 'x|y' })).rejects.toThrow(RangeError);
    expect(fake.requests.length).toBe(before);
  });
});
