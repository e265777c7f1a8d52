import { createHmac, timingSafeEqual } from 'node:crypto';

/** `{bookingCode}-{seatIndex:03}`: a booking code (see booking-code.ts) and a 3-digit index. */
export const TICKET_CODE_PATTERN = /^MH[0-9A-HJKMNP-TV-Z]{8}-\d{3}$/;

/** The version tag that opens every QR payload; a new signing scheme gets a new tag. */
export const TICKET_PAYLOAD_VERSION = 'MH1';

/** Bytes of the HMAC kept in the QR payload: 128 bits, far beyond guessing at a door. */
const SIGNATURE_BYTES = 16;
/** 16 bytes in unpadded base64url. */
const SIGNATURE_CHARS = 22;
const PAYLOAD_PATTERN = /^MH1\.(MH[0-9A-HJKMNP-TV-Z]{8}-\d{3})\.([A-Za-z0-9_-]{22})$/;

/** Digits of a barcode: 17 derived from the HMAC and one Luhn check digit. */
export const BARCODE_DIGITS = 18;
const BARCODE_MODULUS = 10n ** 17n;

/** The key the ticket signatures use: `deriveKey(INTERNAL_SECRET, 'ticket')`. */
export type TicketKey = Uint8Array;

/**
 * The code of a booking's n-th ticket (`seatIndex` from 1, in seat order), e.g. `MH7K3Q9XJD-001`.
 * Ticket codes are public (printed, said aloud): they identify, the signature authenticates.
 */
export function ticketCode(bookingCode: string, seatIndex: number): string {
  if (!Number.isSafeInteger(seatIndex) || seatIndex < 1 || seatIndex > 999) {
    throw new Error(`A seat index is from 1 to 999, not ${seatIndex}`);
  }
  const code = `${bookingCode}-${String(seatIndex).padStart(3, '0')}`;
  if (!TICKET_CODE_PATTERN.test(code)) throw new Error(`Not a booking code: ${bookingCode}`);
  return code;
}

/**
 * The HMAC-SHA256 of a ticket code for one use. The purpose is part of the message, so the QR
 * signature and the barcode of a ticket are unrelated values even under one key.
 */
const mac = (purpose: 'qr' | 'barcode', code: string, key: TicketKey): Buffer =>
  createHmac('sha256', key).update(`moviehub:ticket-${purpose}:v1:${code}`).digest();

const qrSignature = (code: string, key: TicketKey): string =>
  mac('qr', code, key).subarray(0, SIGNATURE_BYTES).toString('base64url');

/**
 * The signed QR payload of a ticket: `MH1.<ticketCode>.<signature>`, the signature being the
 * first 16 bytes of HMAC-SHA256 in base64url (22 characters). About 41 characters in all: a
 * small QR code that scans quickly from a phone screen.
 */
export function signTicketPayload(code: string, key: TicketKey): string {
  if (!TICKET_CODE_PATTERN.test(code)) throw new Error(`Not a ticket code: ${code}`);
  return `${TICKET_PAYLOAD_VERSION}.${code}.${qrSignature(code, key)}`;
}

/**
 * The ticket code a QR payload carries when its signature is right, else null (FORGED: an
 * altered, truncated or made-up payload). The signature is compared in constant time, as its
 * canonical text: base64url lets several strings decode to the same 16 bytes, and the text
 * comparison refuses every variant but the one we issued.
 */
export function verifyTicketPayload(payload: string, key: TicketKey): string | null {
  const match = PAYLOAD_PATTERN.exec(payload);
  if (!match) return null;
  const [, code, given] = match;
  const expected = Buffer.from(qrSignature(code, key), 'ascii');
  const actual = Buffer.from(given, 'ascii');
  if (expected.length !== SIGNATURE_CHARS || actual.length !== SIGNATURE_CHARS) return null;
  return timingSafeEqual(expected, actual) ? code : null;
}

/** The Luhn check digit of a string of digits (catches any one wrong digit, most swaps). */
function luhnDigit(digits: string): number {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    // Doubling starts from the rightmost digit of the payload (the check digit goes after it).
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return (10 - (sum % 10)) % 10;
}

/**
 * The numeric barcode of a ticket: 17 digits from its HMAC (the first 8 bytes modulo 10^17)
 * and a Luhn check digit, 18 digits in all, for readers that take only digits (Code 128 or
 * ITF). It cannot be computed without the key, so knowing a booking code does not let anyone
 * make a barcode; it is stored on the ticket (UNIQUE) and looked up when scanned.
 *
 * Two tickets get the same barcode with probability about n² / 2·10^17 (n = tickets ever
 * issued: 1 in 200,000 at a million tickets); the UNIQUE index turns that into a failed
 * confirmation to retry under a new booking code rather than a wrong admission.
 */
export function barcodeFor(code: string, key: TicketKey): string {
  if (!TICKET_CODE_PATTERN.test(code)) throw new Error(`Not a ticket code: ${code}`);
  const value = mac('barcode', code, key).readBigUInt64BE(0) % BARCODE_MODULUS;
  const body = value.toString().padStart(BARCODE_DIGITS - 1, '0');
  return body + luhnDigit(body);
}

/** Whether a string has a barcode's shape: 18 digits with a right check digit (no key needed). */
export function isWellFormedBarcode(value: string): boolean {
  if (!/^\d{18}$/.test(value)) return false;
  return luhnDigit(value.slice(0, -1)) === Number(value[value.length - 1]);
}

/**
 * Whether `barcode` is the barcode of `ticketCode` (constant time). After the lookup by
 * barcode, this proves the row was issued by us with this key, not written in by other means.
 */
export function verifyBarcode(barcode: string, code: string, key: TicketKey): boolean {
  if (!isWellFormedBarcode(barcode) || !TICKET_CODE_PATTERN.test(code)) return false;
  return timingSafeEqual(
    Buffer.from(barcodeFor(code, key), 'ascii'),
    Buffer.from(barcode, 'ascii'),
  );
}

/** What a door scanner read, sorted out. */
export type ScannedCode =
  { kind: 'qr'; ticketCode: string } | { kind: 'barcode'; barcode: string } | { kind: 'forged' };

/** Longer than any code we issue: refused before any work. */
const MAX_SCANNED_LENGTH = 64;

/**
 * Sorts out what `ValidateTicket(code)` received: a QR payload with a valid signature (its
 * ticket code), a well-formed barcode (to look up, then {@link verifyBarcode}), or FORGED.
 * A bare ticket code is FORGED too: anyone can write one, only the signature proves it ours.
 */
export function readScannedCode(scanned: string, key: TicketKey): ScannedCode {
  const value = scanned.trim();
  if (value.length > MAX_SCANNED_LENGTH) return { kind: 'forged' };
  if (value.startsWith(`${TICKET_PAYLOAD_VERSION}.`)) {
    const code = verifyTicketPayload(value, key);
    return code === null ? { kind: 'forged' } : { kind: 'qr', ticketCode: code };
  }
  if (isWellFormedBarcode(value)) return { kind: 'barcode', barcode: value };
  return { kind: 'forged' };
}
