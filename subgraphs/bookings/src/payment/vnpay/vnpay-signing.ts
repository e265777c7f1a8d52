// VNPay's signing rules (DESIGN.md section 4), pure: no I/O, no clock, no process time zone.
// Known answers: ../shared/vnpay-vectors.json.
import { createHmac, timingSafeEqual } from 'node:crypto';

/** VNPay parameters by name (`vnp_Amount` → `"18500000"`); every value is a string. */
export type VnpParams = Record<string, string>;

const HASH_HEX = /^[0-9a-f]{128}$/i;
const GMT7_MS = 7 * 60 * 60 * 1000;

/** One value as VNPay encodes it in the signed text: `encodeURIComponent`, spaces as `+`. */
function encodeValue(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, '+');
}

/**
 * The text VNPay signs for redirect-style messages (pay URL, IPN, return URL): every
 * parameter but `vnp_SecureHash*`, keys in ascending order, each value URL-encoded with
 * spaces as `+`, joined `k=v` with `&`. The same string is the query of a pay URL.
 */
export function vnpSignData(params: VnpParams): string {
  return Object.keys(params)
    .filter((key) => !key.startsWith('vnp_SecureHash'))
    .sort()
    .map((key) => `${key}=${encodeValue(params[key])}`)
    .join('&');
}

/** HMAC-SHA512 of `data` (UTF-8) keyed with `secret`, as lowercase hex. */
export function hmacSha512Hex(secret: string, data: string): string {
  return createHmac('sha512', secret).update(data, 'utf8').digest('hex');
}

/** The `vnp_SecureHash` of a redirect-style message (pay URL, IPN, return URL). */
export function signParams(params: VnpParams, secret: string): string {
  return hmacSha512Hex(secret, vnpSignData(params));
}

/** The `vnp_SecureHash` of a merchant API message: its fields joined with `|`, in VNPay's order. */
export function signPipe(fields: readonly string[], secret: string): string {
  return hmacSha512Hex(secret, fields.join('|'));
}

/**
 * Whether `received` is the hash `expected` (lowercase hex), in constant time. Case-insensitive
 * because some VNPay examples print the hash in capitals.
 */
export function hashMatches(received: string, expected: string): boolean {
  if (!HASH_HEX.test(received)) return false;
  const a = Buffer.from(received.toLowerCase(), 'hex');
  const b = Buffer.from(expected, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Verifies a signed redirect-style message as received (an Express `req.query`, a parsed URL):
 * only the `vnp_` parameters count. False, never a throw, for anything hostile: a missing,
 * repeated (array) or non-string `vnp_SecureHash`, a `vnp_` value that is not a single string,
 * or a wrong hash.
 *
 * VNPay's own reference code disagrees on empty values (its Node and PHP samples sign `k=`, its
 * Java and .NET samples leave the pair out), so when a value is empty either form is accepted.
 */
export function verifyParams(query: Record<string, unknown>, secret: string): boolean {
  if (typeof query !== 'object' || query === null || Array.isArray(query)) return false;
  const received = Object.prototype.hasOwnProperty.call(query, 'vnp_SecureHash')
    ? query.vnp_SecureHash
    : undefined;
  if (typeof received !== 'string') return false;
  const params: VnpParams = {};
  let hasEmpty = false;
  for (const [key, value] of Object.entries(query)) {
    if (!key.startsWith('vnp_')) continue;
    if (typeof value !== 'string') return false;
    if (key.startsWith('vnp_SecureHash')) continue;
    params[key] = value;
    if (value === '') hasEmpty = true;
  }
  if (hashMatches(received, signParams(params, secret))) return true;
  if (!hasEmpty) return false;
  const nonEmpty = Object.fromEntries(Object.entries(params).filter(([, v]) => v !== ''));
  return hashMatches(received, signParams(nonEmpty, secret));
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/**
 * `yyyyMMddHHmmss` in GMT+7 (Vietnam, no daylight saving), whatever the process time zone:
 * the instant is shifted by seven hours and read with UTC getters only.
 */
export function vnpDate(at: Date): string {
  const ms = at.getTime();
  if (!Number.isFinite(ms)) throw new RangeError('vnpDate needs a valid Date');
  const t = new Date(ms + GMT7_MS);
  return (
    pad(t.getUTCFullYear(), 4) +
    pad(t.getUTCMonth() + 1, 2) +
    pad(t.getUTCDate(), 2) +
    pad(t.getUTCHours(), 2) +
    pad(t.getUTCMinutes(), 2) +
    pad(t.getUTCSeconds(), 2)
  );
}

/**
 * The instant a VNPay `yyyyMMddHHmmss` (GMT+7) names, or null unless it is exactly 14 digits
 * of a real calendar time (no 30 February, no hour 24).
 */
export function parseVnpDate(s: string): Date | null {
  if (typeof s !== 'string' || !/^\d{14}$/.test(s)) return null;
  const n = (from: number, to: number) => Number(s.slice(from, to));
  const ms = Date.UTC(n(0, 4), n(4, 6) - 1, n(6, 8), n(8, 10), n(10, 12), n(12, 14)) - GMT7_MS;
  const at = new Date(ms);
  // Date.UTC rolls overflowing fields over (month 13 → next January); a round trip catches it.
  return Number.isFinite(ms) && vnpDate(at) === s ? at : null;
}
