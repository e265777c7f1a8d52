// VNPay's protocol as a merchant speaks it: the pay URL, reading IPN/return queries, and the
// merchant API (refund, querydr). Follows VNPay's published 2.1.0 specification so the same code
// talks to the real gateway or to scripts/vnpay-simulator.
import {
  hashMatches,
  parseVnpDate,
  signParams,
  signPipe,
  vnpDate,
  vnpSignData,
  type VnpParams,
} from './vnpay-signing';

export const VNP_VERSION = '2.1.0';

/** VNPay's pay page refuses amounts outside [5,000 VND, 1,000,000,000 VND). */
export const VNPAY_MIN_AMOUNT_VND = 5_000;
export const VNPAY_MAX_AMOUNT_VND = 999_999_999;

/**
 * The order of the fields VNPay hashes, joined with `|`, for each merchant API message. The
 * requests match vnpay-vectors.json; the answers follow VNPay's "querydr & refund" page (the
 * querydr answer adds the two promotion fields at the end). A field absent from an answer is
 * hashed as the empty string.
 */
export const REFUND_REQUEST_FIELDS = [
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
] as const;
export const QUERYDR_REQUEST_FIELDS = [
  'vnp_RequestId',
  'vnp_Version',
  'vnp_Command',
  'vnp_TmnCode',
  'vnp_TxnRef',
  'vnp_TransactionDate',
  'vnp_CreateDate',
  'vnp_IpAddr',
  'vnp_OrderInfo',
] as const;
export const REFUND_RESPONSE_FIELDS = [
  'vnp_ResponseId',
  'vnp_Command',
  'vnp_ResponseCode',
  'vnp_Message',
  'vnp_TmnCode',
  'vnp_TxnRef',
  'vnp_Amount',
  'vnp_BankCode',
  'vnp_PayDate',
  'vnp_TransactionNo',
  'vnp_TransactionType',
  'vnp_TransactionStatus',
  'vnp_OrderInfo',
] as const;
export const QUERYDR_RESPONSE_FIELDS = [
  ...REFUND_RESPONSE_FIELDS,
  'vnp_PromotionCode',
  'vnp_PromotionAmount',
] as const;

/** The pipe-joined text of `fields` taken from `message`, absent ones as ''. */
export function pipeValues(
  message: Readonly<Record<string, string>>,
  fields: readonly string[],
): string[] {
  return fields.map((field) => message[field] ?? '');
}

/**
 * Characters VNPay's own reference encoders disagree on (`encodeURIComponent` keeps them, PHP's
 * `urlencode` and Java's `URLEncoder` escape some of them), plus `|`, the separator of the
 * merchant API hash: text carrying them could be signed differently on each side.
 */
const SAFE_TEXT = /^[\x20-\x7e]+$/;
const UNSAFE_CHARS = /[!'()*~|]/;

function assertText(name: string, value: string, max: number): void {
  if (
    typeof value !== 'string' ||
    value.length === 0 ||
    value.length > max ||
    !SAFE_TEXT.test(value) ||
    UNSAFE_CHARS.test(value) ||
    value !== value.trim()
  ) {
    throw new RangeError(
      `${name} must be 1-${max} printable ASCII characters without !'()*~| or edge spaces`,
    );
  }
}

function assertMatch(name: string, value: string, pattern: RegExp, what: string): void {
  if (typeof value !== 'string' || !pattern.test(value)) {
    throw new RangeError(`${name} must be ${what}`);
  }
}

function assertAmount(amountVnd: number, min: number, max: number): void {
  if (!Number.isSafeInteger(amountVnd) || amountVnd < min || amountVnd > max) {
    throw new RangeError(`amountVnd must be a whole number of VND in [${min}, ${max}]`);
  }
}

function assertDate(name: string, at: Date): void {
  if (!(at instanceof Date) || !Number.isFinite(at.getTime())) {
    throw new RangeError(`${name} must be a valid Date`);
  }
}

const TXN_REF = /^[A-Za-z0-9_-]{1,100}$/;
const REQUEST_ID = /^[A-Za-z0-9]{1,32}$/;
const TRANSACTION_NO = /^\d{1,20}$/;
const BANK_CODE = /^[A-Za-z0-9]{3,20}$/;
const IP_ADDR = /^[0-9A-Fa-f.:]{2,45}$/;

export interface PayUrlRequest {
  /** VNPay's pay page: `https://sandbox.vnpayment.vn/paymentv2/vpcpay.html` or the simulator's. */
  payUrl: string;
  tmnCode: string;
  hashSecret: string;
  /** Whole VND in [VNPAY_MIN_AMOUNT_VND, VNPAY_MAX_AMOUNT_VND]; sent ×100. */
  amountVnd: number;
  /** Unique per payment attempt: VNPay refuses a reference it has already seen. */
  txnRef: string;
  /** Plain ASCII (Vietnamese without diacritics), no special characters. */
  orderInfo: string;
  locale: 'vn' | 'en';
  returnUrl: string;
  /** The customer's IP address. */
  ipAddr: string;
  /** Keep it: refund and querydr name the payment by this instant (`vnp_TransactionDate`). */
  createdAt: Date;
  expiresAt: Date;
  bankCode?: string;
}

/** The parameters of a pay URL, unsigned, after validating every input (RangeError if bad). */
export function buildPayParams(req: PayUrlRequest): VnpParams {
  assertAmount(req.amountVnd, VNPAY_MIN_AMOUNT_VND, VNPAY_MAX_AMOUNT_VND);
  assertText('tmnCode', req.tmnCode, 32);
  assertMatch('txnRef', req.txnRef, TXN_REF, 'letters, digits, - or _ (1-100)');
  assertText('orderInfo', req.orderInfo, 255);
  assertMatch('locale', req.locale, /^(vn|en)$/, "'vn' or 'en'");
  assertMatch('ipAddr', req.ipAddr, IP_ADDR, 'an IPv4 or IPv6 address');
  assertDate('createdAt', req.createdAt);
  assertDate('expiresAt', req.expiresAt);
  if (req.expiresAt.getTime() <= req.createdAt.getTime()) {
    throw new RangeError('expiresAt must be after createdAt');
  }
  if (req.bankCode !== undefined) assertMatch('bankCode', req.bankCode, BANK_CODE, 'alphanumeric');
  for (const [name, url] of [
    ['payUrl', req.payUrl],
    ['returnUrl', req.returnUrl],
  ] as const) {
    if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
      throw new RangeError(`${name} must be an http(s) URL`);
    }
  }
  const params: VnpParams = {
    vnp_Version: VNP_VERSION,
    vnp_Command: 'pay',
    vnp_TmnCode: req.tmnCode,
    vnp_Amount: String(req.amountVnd * 100),
    vnp_CurrCode: 'VND',
    vnp_TxnRef: req.txnRef,
    vnp_OrderInfo: req.orderInfo,
    vnp_OrderType: 'other',
    vnp_Locale: req.locale,
    vnp_ReturnUrl: req.returnUrl,
    vnp_IpAddr: req.ipAddr,
    vnp_CreateDate: vnpDate(req.createdAt),
    vnp_ExpireDate: vnpDate(req.expiresAt),
  };
  if (req.bankCode !== undefined) params.vnp_BankCode = req.bankCode;
  return params;
}

/**
 * The URL to send the customer's browser to: `payUrl?<signed text>&vnp_SecureHash=<hash>`.
 * Version 2.1.0 sends no `vnp_SecureHashType`. Throws RangeError on invalid input.
 */
export function buildPayUrl(req: PayUrlRequest): string {
  const params = buildPayParams(req);
  const query = vnpSignData(params);
  const separator = req.payUrl.includes('?') ? '&' : '?';
  return `${req.payUrl}${separator}${query}&vnp_SecureHash=${signParams(params, req.hashSecret)}`;
}

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;

/**
 * The `vnp_` parameters of an IPN or return query (an Express `req.query`), or null when the
 * query is not an object or any `vnp_` value is not a single string (a repeated key, a nested
 * `a[b]=c` object) or holds a control character (none of VNPay's does, and PostgreSQL cannot
 * store a NUL: such an IPN, even signed, would fail as `99` at every delivery). Other keys
 * are ignored. Verify the result with `verifyParams`.
 */
export function readVnpQuery(query: unknown): VnpParams | null {
  if (typeof query !== 'object' || query === null || Array.isArray(query)) return null;
  const params: VnpParams = {};
  for (const [key, value] of Object.entries(query as Record<string, unknown>)) {
    if (!key.startsWith('vnp_')) continue;
    if (typeof value !== 'string' || CONTROL_CHARACTER.test(value)) return null;
    params[key] = value;
  }
  return params;
}

/** Whole VND from a `vnp_Amount` (VND × 100, digits only), or null if it is not one. */
export function vnpAmountToVnd(amount: string | undefined): number | null {
  if (typeof amount !== 'string' || !/^\d{1,15}$/.test(amount)) return null;
  const hundredths = Number(amount);
  return hundredths % 100 === 0 ? hundredths / 100 : null;
}

/**
 * VNPay could not be asked or its answer cannot be trusted (network error, timeout, HTTP
 * error, not JSON, unsigned or wrongly signed, about another transaction). Nothing is known
 * about the effect: retry later (a refund with a new request id, after a querydr).
 */
export class VnpayUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VnpayUnavailableError';
  }
}

export interface RefundRequest {
  /** Unique per request (VNPay refuses a repeated one within the day): 1-32 letters/digits. */
  requestId: string;
  txnRef: string;
  amountVnd: number;
  /** '02' full refund, '03' partial refund. */
  transactionType: '02' | '03';
  /** VNPay's `vnp_TransactionNo` of the payment (from the IPN). */
  transactionNo: string;
  /** The payment's `createdAt` as given to `buildPayUrl` (its `vnp_CreateDate`). */
  transactionDate: Date;
  /** Who asks (a staff user id or a system name). */
  createBy: string;
  createDate: Date;
  /** The merchant server's IP address. */
  ipAddr: string;
  orderInfo: string;
}

export interface QueryDrRequest {
  requestId: string;
  txnRef: string;
  /** The payment's `createdAt` as given to `buildPayUrl` (its `vnp_CreateDate`). */
  transactionDate: Date;
  createDate: Date;
  ipAddr: string;
  orderInfo: string;
}

export interface VnpayApiAnswer {
  /** `vnp_ResponseCode`: '00' done; refund 02/03/04/13/91/93/94/95/97/99, querydr 02/03/91/94/97/99. */
  responseCode: string;
  message: string;
  /** `vnp_TransactionStatus`: '00' paid, '01' not finished, '02' failed, '05'/'06' refund under way... */
  transactionStatus: string | null;
  transactionNo: string | null;
  amountVnd: number | null;
  payDate: Date | null;
  /** Every field of the answer, as strings. */
  raw: Record<string, string>;
}

export interface VnpayApiConfig {
  /** `https://sandbox.vnpayment.vn/merchant_webapi/api/transaction` or the simulator's. */
  apiUrl: string;
  tmnCode: string;
  hashSecret: string;
  /** Whole request, answer body included (10 s by default). */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

const MAX_ANSWER_BYTES = 64 * 1024;

/** VNPay's merchant API (`POST /merchant_webapi/api/transaction`, JSON): refund and querydr. */
export class VnpayApi {
  private readonly timeoutMs: number;
  private readonly fetchFn: typeof fetch;

  constructor(private readonly config: VnpayApiConfig) {
    this.timeoutMs = config.timeoutMs ?? 10_000;
    this.fetchFn = config.fetch ?? fetch;
  }

  /**
   * Asks VNPay to refund (part of) a payment. Resolves with VNPay's signed answer whatever its
   * code (check `responseCode === '00'`); throws VnpayUnavailableError when there is none to
   * trust, and RangeError on invalid input.
   */
  async refund(r: RefundRequest): Promise<VnpayApiAnswer> {
    assertMatch('requestId', r.requestId, REQUEST_ID, '1-32 letters or digits');
    assertMatch('txnRef', r.txnRef, TXN_REF, 'letters, digits, - or _ (1-100)');
    assertAmount(r.amountVnd, 1, VNPAY_MAX_AMOUNT_VND);
    assertMatch('transactionType', r.transactionType, /^0[23]$/, "'02' or '03'");
    assertMatch('transactionNo', r.transactionNo, TRANSACTION_NO, 'digits');
    assertDate('transactionDate', r.transactionDate);
    assertText('createBy', r.createBy, 250);
    assertDate('createDate', r.createDate);
    assertMatch('ipAddr', r.ipAddr, IP_ADDR, 'an IPv4 or IPv6 address');
    assertText('orderInfo', r.orderInfo, 255);
    const body: Record<string, string> = {
      vnp_RequestId: r.requestId,
      vnp_Version: VNP_VERSION,
      vnp_Command: 'refund',
      vnp_TmnCode: this.config.tmnCode,
      vnp_TransactionType: r.transactionType,
      vnp_TxnRef: r.txnRef,
      vnp_Amount: String(r.amountVnd * 100),
      vnp_TransactionNo: r.transactionNo,
      vnp_TransactionDate: vnpDate(r.transactionDate),
      vnp_CreateBy: r.createBy,
      vnp_CreateDate: vnpDate(r.createDate),
      vnp_IpAddr: r.ipAddr,
      vnp_OrderInfo: r.orderInfo,
    };
    body.vnp_SecureHash = signPipe(pipeValues(body, REFUND_REQUEST_FIELDS), this.config.hashSecret);
    return this.call(body, REFUND_RESPONSE_FIELDS);
  }

  /**
   * Asks VNPay the state of a payment (to settle one whose IPN never came). Same answer and
   * errors as `refund`; `transactionStatus` '00' means paid.
   */
  async queryDr(q: QueryDrRequest): Promise<VnpayApiAnswer> {
    assertMatch('requestId', q.requestId, REQUEST_ID, '1-32 letters or digits');
    assertMatch('txnRef', q.txnRef, TXN_REF, 'letters, digits, - or _ (1-100)');
    assertDate('transactionDate', q.transactionDate);
    assertDate('createDate', q.createDate);
    assertMatch('ipAddr', q.ipAddr, IP_ADDR, 'an IPv4 or IPv6 address');
    assertText('orderInfo', q.orderInfo, 255);
    const body: Record<string, string> = {
      vnp_RequestId: q.requestId,
      vnp_Version: VNP_VERSION,
      vnp_Command: 'querydr',
      vnp_TmnCode: this.config.tmnCode,
      vnp_TxnRef: q.txnRef,
      vnp_TransactionDate: vnpDate(q.transactionDate),
      vnp_CreateDate: vnpDate(q.createDate),
      vnp_IpAddr: q.ipAddr,
      vnp_OrderInfo: q.orderInfo,
    };
    body.vnp_SecureHash = signPipe(
      pipeValues(body, QUERYDR_REQUEST_FIELDS),
      this.config.hashSecret,
    );
    return this.call(body, QUERYDR_RESPONSE_FIELDS);
  }

  private async call(
    body: Record<string, string>,
    answerFields: readonly string[],
  ): Promise<VnpayApiAnswer> {
    const what = `VNPay ${body.vnp_Command} ${body.vnp_TxnRef}`;
    let text: string;
    try {
      const response = await this.fetchFn(this.config.apiUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(body),
        redirect: 'error',
        // Covers the answer body too: a server that stalls mid-body cannot hang the caller.
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      text = await response.text();
      if (!response.ok) {
        throw new VnpayUnavailableError(`${what}: HTTP ${response.status}`);
      }
    } catch (err) {
      if (err instanceof VnpayUnavailableError) throw err;
      const reason = err instanceof Error ? err.message : String(err);
      throw new VnpayUnavailableError(`${what}: ${reason}`, { cause: err });
    }
    if (Buffer.byteLength(text) > MAX_ANSWER_BYTES) {
      throw new VnpayUnavailableError(`${what}: answer too large`);
    }
    const raw = readVnpJson(text);
    if (!raw) throw new VnpayUnavailableError(`${what}: the answer is not a JSON object`);
    const hash = raw.vnp_SecureHash;
    // Should an answer leave vnp_TmnCode out, check it against ours (VNPay signs with it).
    const signed = { vnp_TmnCode: this.config.tmnCode, ...raw };
    const expected = signPipe(pipeValues(signed, answerFields), this.config.hashSecret);
    if (typeof hash !== 'string' || !hashMatches(hash, expected)) {
      throw new VnpayUnavailableError(`${what}: the answer is unsigned or wrongly signed`);
    }
    if (raw.vnp_TxnRef !== undefined && raw.vnp_TxnRef !== body.vnp_TxnRef) {
      throw new VnpayUnavailableError(`${what}: the answer is about ${raw.vnp_TxnRef}`);
    }
    const responseCode = raw.vnp_ResponseCode;
    if (responseCode === undefined || !/^\d{2}$/.test(responseCode)) {
      throw new VnpayUnavailableError(`${what}: the answer has no response code`);
    }
    return {
      responseCode,
      message: raw.vnp_Message ?? '',
      transactionStatus: raw.vnp_TransactionStatus || null,
      transactionNo: raw.vnp_TransactionNo || null,
      amountVnd: vnpAmountToVnd(raw.vnp_Amount),
      payDate: raw.vnp_PayDate ? parseVnpDate(raw.vnp_PayDate) : null,
      raw,
    };
  }
}

/**
 * The `vnp_` fields of a JSON object as strings (VNPay sends strings; some clients send numbers,
 * read as their digits), null fields and other keys left out; null if the text is not a JSON
 * object or a `vnp_` field is neither a string nor a safe integer.
 */
export function readVnpJson(text: string): Record<string, string> | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return null;
  const raw: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (!/^vnp_\w+$/.test(key) || value === null) continue;
    if (typeof value === 'string') raw[key] = value;
    else if (typeof value === 'number' && Number.isSafeInteger(value)) raw[key] = String(value);
    else return null;
  }
  return raw;
}
