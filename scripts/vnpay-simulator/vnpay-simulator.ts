// A local VNPay: the pay page, the IPN and return redirect, and the merchant API (refund,
// querydr), with VNPay's parameters, codes and signatures (the signing module is shared with the
// bookings subgraph, so a signing bug cannot hide behind a matching bug here). State lives in
// memory: a restart forgets every transaction.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  QUERYDR_REQUEST_FIELDS,
  QUERYDR_RESPONSE_FIELDS,
  REFUND_REQUEST_FIELDS,
  REFUND_RESPONSE_FIELDS,
  VNP_VERSION,
  VNPAY_MAX_AMOUNT_VND,
  VNPAY_MIN_AMOUNT_VND,
  pipeValues,
  readVnpJson,
  vnpAmountToVnd,
} from '../../subgraphs/bookings/src/payment/vnpay/vnpay-protocol';
import {
  hashMatches,
  parseVnpDate,
  signParams,
  signPipe,
  verifyParams,
  vnpDate,
  vnpSignData,
  type VnpParams,
} from '../../subgraphs/bookings/src/payment/vnpay/vnpay-signing';
import { PAY_PAGE_ERRORS, renderErrorPage, renderPayPage } from './vnpay-simulator.pages';

export const PAY_PATH = '/paymentv2/vpcpay.html';
export const ERROR_PATH = '/paymentv2/Payment/Error.html';
export const DECIDE_PATH = '/paymentv2/decide';
export const API_PATH = '/merchant_webapi/api/transaction';

export interface VnpaySimulatorOptions {
  tmnCode: string;
  hashSecret: string;
  /** Where the IPN goes (server to server, GET); `setIpnUrl` changes it later. */
  ipnUrl: string;
  host?: string;
  /** 0 (default): any free port. */
  port?: number;
  log?: (msg: string) => void;
  /** IPN attempts after the first while the answer is not RspCode 00/02 (default 3). */
  ipnRetries?: number;
  /** Wait before the first retry, doubled each time (default 100 ms; VNPay waits minutes). */
  ipnBackoffMs?: number;
  /** Per IPN attempt (default 5 s). */
  ipnTimeoutMs?: number;
}

export interface SimulatedRefund {
  requestId: string;
  /** VNPay's number of the refund transaction. */
  transactionNo: string;
  transactionType: '02' | '03';
  amountVnd: number;
  createBy: string;
  /** The request's `vnp_CreateDate`. */
  createDate: string;
}

export interface IpnAttempt {
  /** HTTP status, or null when the request failed (refused, timed out). */
  status: number | null;
  answer: { RspCode: string; Message: string } | null;
  error?: string;
}

export interface SimulatedTransaction {
  txnRef: string;
  amountVnd: number;
  orderInfo: string;
  /** The pay URL's `vnp_CreateDate`: refund and querydr must name it as `vnp_TransactionDate`. */
  createDate: string;
  expireDate: string;
  returnUrl: string;
  bankCode: string;
  /** pending: the pay page was opened, no decision yet. */
  state: 'pending' | 'paid' | 'failed';
  /** `vnp_ResponseCode` sent: '00' approved, '24' customer cancelled, '11' expired. */
  responseCode: string | null;
  /** `vnp_TransactionStatus`: '01' not finished, '00' paid, '02' failed. */
  transactionStatus: string;
  /** VNPay's transaction number; '0' for a cancelled payment, as VNPay sends. */
  transactionNo: string | null;
  bankTranNo: string | null;
  payDate: string | null;
  refunds: SimulatedRefund[];
  refundedVnd: number;
  ipnAttempts: IpnAttempt[];
}

export interface PayResult {
  /** The merchant's last IPN answer, or null if none was JSON {RspCode, Message}. */
  ipn: { RspCode: string; Message: string } | null;
  /** Where VNPay sends the browser: the merchant's return URL with the signed result. */
  returnUrl: string;
}

export interface VnpaySimulator {
  url: string;
  /** `url + '/paymentv2/vpcpay.html'`: the merchant's VNPAY_PAY_URL. */
  payUrl: string;
  /** `url + '/merchant_webapi/api/transaction'`: the merchant's VNPAY_API_URL. */
  apiUrl: string;
  /** What a customer does on the pay page, without a browser: the IPN, then the return URL. */
  pay(payUrl: string, decision: 'approve' | 'decline'): Promise<PayResult>;
  transaction(txnRef: string): SimulatedTransaction | undefined;
  /**
   * The next `count` refund requests for `txnRef` are carried out as usual, but the merchant
   * never gets the answer: the connection is reset instead (a timeout or a network failure
   * after VNPay acted), for testing refunds whose outcome is unknown.
   */
  loseRefundAnswers(txnRef: string, count?: number): void;
  setIpnUrl(url: string): void;
  stop(): Promise<void>;
}

/** A pay URL VNPay would refuse, with the code of the error page it would show. */
export class VnpayPayPageError extends Error {
  constructor(readonly code: string) {
    super(`VNPay error page ${code}: ${PAY_PAGE_ERRORS[code] ?? 'error'}`);
    this.name = 'VnpayPayPageError';
  }
}

interface Transaction extends SimulatedTransaction {
  sessionId: string | null;
}

const MAX_BODY_BYTES = 16 * 1024;

/**
 * Starts a local VNPay on `host:port` (127.0.0.1, any free port by default). Its pay page and
 * merchant API check what VNPay checks and answer with VNPay's codes, signed with `hashSecret`.
 */
export async function startVnpaySimulator(options: VnpaySimulatorOptions): Promise<VnpaySimulator> {
  const { tmnCode, hashSecret } = options;
  const log = options.log ?? (() => undefined);
  const ipnRetries = options.ipnRetries ?? 3;
  const ipnBackoffMs = options.ipnBackoffMs ?? 100;
  const ipnTimeoutMs = options.ipnTimeoutMs ?? 5_000;
  let ipnUrl = options.ipnUrl;
  const transactions = new Map<string, Transaction>();
  const sessions = new Map<string, Transaction>();
  const requestIds = new Set<string>();
  const lostRefundAnswers = new Map<string, number>();
  const stopping = new AbortController();
  let nextTransactionNo = 14_000_000 + randomBytes(2).readUInt16BE();

  /** Validates a pay URL's query as VNPay's pay page does; opens (or reopens) its transaction. */
  function openPayment(search: URLSearchParams, now: Date): Transaction {
    const query: Record<string, string> = {};
    for (const key of new Set(search.keys())) {
      const values = search.getAll(key);
      if (values.length > 1) throw new VnpayPayPageError('03');
      query[key] = values[0];
    }
    if (query.vnp_TmnCode !== tmnCode) throw new VnpayPayPageError('72');
    if (!verifyParams(query, hashSecret)) throw new VnpayPayPageError('70');
    const createdAt = parseVnpDate(query.vnp_CreateDate ?? '');
    const expiresAt = parseVnpDate(query.vnp_ExpireDate ?? '');
    const wellFormed =
      query.vnp_Version === VNP_VERSION &&
      query.vnp_Command === 'pay' &&
      query.vnp_CurrCode === 'VND' &&
      /^[A-Za-z0-9_-]{1,100}$/.test(query.vnp_TxnRef ?? '') &&
      /^[\x20-\x7e]{1,255}$/.test(query.vnp_OrderInfo ?? '') &&
      (query.vnp_OrderType ?? '') !== '' &&
      /^(vn|en)$/.test(query.vnp_Locale ?? '') &&
      /^https?:\/\//.test(query.vnp_ReturnUrl ?? '') &&
      URL.canParse(query.vnp_ReturnUrl) &&
      (query.vnp_IpAddr ?? '') !== '' &&
      (query.vnp_BankCode === undefined || /^[A-Za-z0-9]{3,20}$/.test(query.vnp_BankCode)) &&
      createdAt !== null &&
      expiresAt !== null &&
      /^\d{1,12}$/.test(query.vnp_Amount ?? '');
    if (!wellFormed) throw new VnpayPayPageError('03');
    const amountVnd = vnpAmountToVnd(query.vnp_Amount);
    if (
      amountVnd === null ||
      amountVnd < VNPAY_MIN_AMOUNT_VND ||
      amountVnd > VNPAY_MAX_AMOUNT_VND
    ) {
      throw new VnpayPayPageError('32');
    }
    if (expiresAt.getTime() <= now.getTime()) throw new VnpayPayPageError('15');
    const existing = transactions.get(query.vnp_TxnRef);
    if (existing) {
      // A reload of the same page is fine; a reference VNPay has seen with another payment is not.
      const same =
        existing.state === 'pending' &&
        existing.amountVnd === amountVnd &&
        existing.createDate === query.vnp_CreateDate &&
        existing.sessionId !== null;
      if (!same) throw new VnpayPayPageError('01');
      return existing;
    }
    const txn: Transaction = {
      txnRef: query.vnp_TxnRef,
      amountVnd,
      orderInfo: query.vnp_OrderInfo,
      createDate: query.vnp_CreateDate,
      expireDate: query.vnp_ExpireDate,
      returnUrl: query.vnp_ReturnUrl,
      bankCode: query.vnp_BankCode ?? 'NCB',
      state: 'pending',
      responseCode: null,
      transactionStatus: '01',
      transactionNo: null,
      bankTranNo: null,
      payDate: null,
      refunds: [],
      refundedVnd: 0,
      ipnAttempts: [],
      sessionId: randomBytes(16).toString('hex'),
    };
    transactions.set(txn.txnRef, txn);
    sessions.set(txn.sessionId!, txn);
    log(`vnpay: pay page opened for ${txn.txnRef} (${amountVnd} VND)`);
    return txn;
  }

  /** The customer's decision: record it, tell the merchant (IPN), then build the return URL. */
  async function decide(txn: Transaction, decision: 'approve' | 'decline'): Promise<PayResult> {
    if (txn.sessionId === null || txn.state !== 'pending') throw new VnpayPayPageError('99');
    sessions.delete(txn.sessionId);
    txn.sessionId = null;
    const now = new Date();
    const expired = parseVnpDate(txn.expireDate)!.getTime() <= now.getTime();
    const approved = decision === 'approve' && !expired;
    txn.state = approved ? 'paid' : 'failed';
    txn.responseCode = approved ? '00' : expired ? '11' : '24';
    txn.transactionStatus = approved ? '00' : '02';
    txn.transactionNo = approved ? String(nextTransactionNo++) : '0';
    txn.bankTranNo = approved ? `VNP${txn.transactionNo}` : null;
    txn.payDate = vnpDate(now);
    const params: VnpParams = {
      vnp_Amount: String(txn.amountVnd * 100),
      vnp_BankCode: txn.bankCode,
      vnp_CardType: 'ATM',
      vnp_OrderInfo: txn.orderInfo,
      vnp_PayDate: txn.payDate,
      vnp_ResponseCode: txn.responseCode,
      vnp_TmnCode: tmnCode,
      vnp_TransactionNo: txn.transactionNo,
      vnp_TransactionStatus: txn.transactionStatus,
      vnp_TxnRef: txn.txnRef,
    };
    if (txn.bankTranNo) params.vnp_BankTranNo = txn.bankTranNo;
    const signed = `${vnpSignData(params)}&vnp_SecureHash=${signParams(params, hashSecret)}`;
    log(`vnpay: ${txn.txnRef} ${approved ? 'approved' : 'declined'} (${txn.responseCode})`);
    const ipn = await deliverIpn(txn, signed);
    const returnUrl = `${txn.returnUrl}${txn.returnUrl.includes('?') ? '&' : '?'}${signed}`;
    return { ipn, returnUrl };
  }

  /** GET the IPN URL until the merchant answers RspCode 00 or 02, as VNPay retries. */
  async function deliverIpn(txn: Transaction, signed: string): Promise<PayResult['ipn']> {
    let last: PayResult['ipn'] = null;
    for (let attempt = 0; attempt <= ipnRetries && !stopping.signal.aborted; attempt++) {
      if (attempt > 0) {
        try {
          await sleep(ipnBackoffMs * 2 ** (attempt - 1), undefined, { signal: stopping.signal });
        } catch {
          break;
        }
      }
      const target = `${ipnUrl}${ipnUrl.includes('?') ? '&' : '?'}${signed}`;
      const record: IpnAttempt = { status: null, answer: null };
      try {
        const response = await fetch(target, {
          redirect: 'manual',
          signal: AbortSignal.any([stopping.signal, AbortSignal.timeout(ipnTimeoutMs)]),
        });
        record.status = response.status;
        const body = readIpnAnswer(await response.text());
        record.answer = body;
        if (body) last = body;
      } catch (err) {
        record.error = err instanceof Error ? err.message : String(err);
      }
      txn.ipnAttempts.push(record);
      log(
        `vnpay: IPN ${txn.txnRef} → ${record.status ?? record.error} ${record.answer?.RspCode ?? ''}`,
      );
      if (record.answer && ['00', '02'].includes(record.answer.RspCode)) break;
    }
    return last;
  }

  /** VNPay's answer to a merchant API call, signed over its pipe order. */
  function apiAnswer(
    command: string,
    code: string,
    message: string,
    fields: Record<string, string> = {},
  ): Record<string, string> {
    const answer: Record<string, string> = {
      vnp_ResponseId: randomBytes(16).toString('hex'),
      vnp_Command: command,
      vnp_ResponseCode: code,
      vnp_Message: message,
      vnp_TmnCode: tmnCode,
      ...fields,
    };
    const order = command === 'querydr' ? QUERYDR_RESPONSE_FIELDS : REFUND_RESPONSE_FIELDS;
    answer.vnp_SecureHash = signPipe(pipeValues(answer, order), hashSecret);
    return answer;
  }

  /** refund and querydr, checked in VNPay's order: merchant, checksum, format, duplicates, data. */
  function merchantApi(text: string): Record<string, string> {
    const req = readVnpJson(text);
    if (!req) return apiAnswer('', '03', 'Invalid data format');
    const command = req.vnp_Command ?? '';
    if (command !== 'refund' && command !== 'querydr') {
      return apiAnswer(command, '03', 'Invalid command');
    }
    if (req.vnp_TmnCode !== tmnCode) return apiAnswer(command, '02', 'Invalid TmnCode');
    const order = command === 'refund' ? REFUND_REQUEST_FIELDS : QUERYDR_REQUEST_FIELDS;
    const expected = signPipe(pipeValues(req, order), hashSecret);
    if (!hashMatches(req.vnp_SecureHash ?? '', expected)) {
      return apiAnswer(command, '97', 'Invalid Checksum');
    }
    const wellFormed =
      /^[A-Za-z0-9]{1,32}$/.test(req.vnp_RequestId ?? '') &&
      req.vnp_Version === VNP_VERSION &&
      /^[A-Za-z0-9_-]{1,100}$/.test(req.vnp_TxnRef ?? '') &&
      parseVnpDate(req.vnp_TransactionDate ?? '') !== null &&
      parseVnpDate(req.vnp_CreateDate ?? '') !== null &&
      (req.vnp_IpAddr ?? '') !== '' &&
      (req.vnp_OrderInfo ?? '') !== '' &&
      (command === 'querydr' ||
        (/^0[23]$/.test(req.vnp_TransactionType ?? '') &&
          (vnpAmountToVnd(req.vnp_Amount) ?? 0) > 0 &&
          /^\d{0,20}$/.test(req.vnp_TransactionNo ?? '') &&
          (req.vnp_CreateBy ?? '') !== ''));
    if (!wellFormed) return apiAnswer(command, '03', 'Invalid data format');
    if (requestIds.has(req.vnp_RequestId)) {
      return apiAnswer(command, '94', 'Duplicate request (vnp_RequestId already used)');
    }
    requestIds.add(req.vnp_RequestId);
    // VNPay finds a payment by its reference and the date the merchant created it.
    const txn = transactions.get(req.vnp_TxnRef);
    if (!txn || txn.createDate !== req.vnp_TransactionDate) {
      return apiAnswer(command, '91', 'Transaction not found');
    }
    return command === 'querydr' ? queryDr(txn) : refund(txn, req);
  }

  function queryDr(txn: Transaction): Record<string, string> {
    const fields: Record<string, string> = {
      vnp_TxnRef: txn.txnRef,
      vnp_Amount: String(txn.amountVnd * 100),
      vnp_OrderInfo: txn.orderInfo,
      vnp_BankCode: txn.bankCode,
      vnp_TransactionType: '01',
      vnp_TransactionStatus: txn.transactionStatus,
    };
    // A refunded payment is reported by its latest refund, as VNPay does: its type (02 whole,
    // 03 partial) and '05' (VNPay is processing the refund; refunds settle later).
    const refunded = txn.refunds.at(-1);
    if (refunded) {
      fields.vnp_TransactionType = refunded.transactionType;
      fields.vnp_TransactionStatus = '05';
    }
    if (txn.payDate) fields.vnp_PayDate = txn.payDate;
    if (txn.transactionNo) fields.vnp_TransactionNo = txn.transactionNo;
    return apiAnswer('querydr', '00', 'QueryDR Success', fields);
  }

  function refund(txn: Transaction, req: Record<string, string>): Record<string, string> {
    const refuse = (code: string, message: string) =>
      apiAnswer('refund', code, message, { vnp_TxnRef: txn.txnRef });
    const given = req.vnp_TransactionNo ?? '';
    if (given !== '' && given !== '0' && given !== txn.transactionNo) {
      return refuse('91', 'Transaction not found (vnp_TransactionNo)');
    }
    if (txn.state !== 'paid') return refuse('95', 'The payment did not succeed at VNPAY');
    const amountVnd = vnpAmountToVnd(req.vnp_Amount)!;
    const type = req.vnp_TransactionType as '02' | '03';
    if (amountVnd > txn.amountVnd) return refuse('93', 'Refund amount above the payment amount');
    if (txn.refundedVnd >= txn.amountVnd) return refuse('02', 'The payment is fully refunded');
    if (type === '02' && txn.refundedVnd > 0) {
      return refuse('04', 'No full refund after a partial refund');
    }
    if (type === '02' && amountVnd !== txn.amountVnd) {
      return refuse('93', 'A full refund must be the payment amount');
    }
    if (txn.refundedVnd + amountVnd > txn.amountVnd) {
      return refuse('02', 'Total refunds would exceed the payment amount');
    }
    const record: SimulatedRefund = {
      requestId: req.vnp_RequestId,
      transactionNo: String(nextTransactionNo++),
      transactionType: type,
      amountVnd,
      createBy: req.vnp_CreateBy,
      createDate: req.vnp_CreateDate,
    };
    txn.refunds.push(record);
    txn.refundedVnd += amountVnd;
    log(`vnpay: refund ${type} of ${amountVnd} VND on ${txn.txnRef}`);
    return apiAnswer('refund', '00', 'Refund success', {
      vnp_TxnRef: txn.txnRef,
      vnp_Amount: String(amountVnd * 100),
      vnp_OrderInfo: req.vnp_OrderInfo,
      vnp_BankCode: txn.bankCode,
      vnp_PayDate: vnpDate(new Date()),
      vnp_TransactionNo: record.transactionNo,
      vnp_TransactionType: type,
      // VNPay settles refunds later: '05' = VNPay is processing the refund.
      vnp_TransactionStatus: '05',
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://simulator');
    const route = `${req.method} ${url.pathname}`;
    if (route === `GET ${PAY_PATH}`) {
      try {
        const txn = openPayment(url.searchParams, new Date());
        return sendHtml(
          res,
          200,
          renderPayPage({
            sessionId: txn.sessionId!,
            amountVnd: txn.amountVnd,
            orderInfo: txn.orderInfo,
            txnRef: txn.txnRef,
            expireDate: txn.expireDate,
          }),
        );
      } catch (err) {
        if (err instanceof VnpayPayPageError) return redirect(res, errorPath(err.code));
        throw err;
      }
    }
    if (route === `GET ${ERROR_PATH}`) {
      return sendHtml(res, 200, renderErrorPage(url.searchParams.get('code') ?? '99'));
    }
    if (route === `POST ${DECIDE_PATH}`) {
      const form = new URLSearchParams(await readBody(req));
      const txn = sessions.get(form.get('id') ?? '');
      const decision = form.get('decision');
      if (!txn || (decision !== 'approve' && decision !== 'decline')) {
        return redirect(res, errorPath('99'));
      }
      const result = await decide(txn, decision);
      return redirect(res, result.returnUrl);
    }
    if (route === `POST ${API_PATH}`) {
      const answer = merchantApi(await readBody(req));
      const lose = answer.vnp_Command === 'refund' ? lostRefundAnswers.get(answer.vnp_TxnRef) : 0;
      if (lose) {
        lostRefundAnswers.set(answer.vnp_TxnRef, lose - 1);
        log(`vnpay: refund answer ${answer.vnp_ResponseCode} on ${answer.vnp_TxnRef} lost`);
        req.socket.destroy();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(answer));
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
  }

  const server = createServer({ requestTimeout: 15_000, headersTimeout: 10_000 }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      const tooLarge = err instanceof BodyTooLargeError;
      if (!tooLarge) log(`vnpay: ${err instanceof Error ? err.stack : String(err)}`);
      if (!res.headersSent) {
        res.writeHead(tooLarge ? 413 : 500, { 'content-type': 'text/plain', connection: 'close' });
      }
      res.end(tooLarge ? 'request too large' : 'simulator error');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const base = `http://${host}:${address.port}`;
  log(`vnpay: simulator listening on ${base}`);

  return {
    url: base,
    payUrl: base + PAY_PATH,
    apiUrl: base + API_PATH,
    async pay(payUrl, decision) {
      const txn = openPayment(new URL(payUrl).searchParams, new Date());
      return decide(txn, decision);
    },
    transaction(txnRef) {
      const txn = transactions.get(txnRef);
      if (!txn) return undefined;
      const { sessionId: _sessionId, ...snapshot } = txn;
      return structuredClone(snapshot);
    },
    loseRefundAnswers(txnRef, count = 1) {
      lostRefundAnswers.set(txnRef, (lostRefundAnswers.get(txnRef) ?? 0) + count);
    },
    setIpnUrl(url) {
      ipnUrl = url;
    },
    async stop() {
      stopping.abort();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function errorPath(code: string): string {
  return `${ERROR_PATH}?code=${encodeURIComponent(code)}`;
}

function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    // No form-action: browsers apply it to the redirect after Approve, to the merchant's site.
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
  });
  res.end(html);
}

function redirect(res: ServerResponse, location: string): void {
  res.writeHead(302, { location });
  res.end();
}

class BodyTooLargeError extends Error {}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new BodyTooLargeError();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function readIpnAnswer(text: string): PayResult['ipn'] {
  try {
    const body: unknown = JSON.parse(text);
    if (typeof body !== 'object' || body === null) return null;
    const { RspCode, Message } = body as Record<string, unknown>;
    if (typeof RspCode !== 'string') return null;
    return { RspCode, Message: typeof Message === 'string' ? Message : '' };
  } catch {
    return null;
  }
}
