import { randomBytes } from 'node:crypto';

/**
 * Crockford's base32 alphabet: digits and capitals without I, L, O and U, so a code read out
 * at the counter or typed from a screenshot has no look-alike characters (and no accidental
 * words).
 */
export const CROCKFORD_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** The prefix every booking code starts with. */
export const BOOKING_CODE_PREFIX = 'MH';

/** `MH` and 8 Crockford characters (40 random bits). */
export const BOOKING_CODE_PATTERN = /^MH[0-9A-HJKMNP-TV-Z]{8}$/;

/** A source of random bytes; `crypto.randomBytes` unless a test passes its own. */
export type RandomSource = (size: number) => Uint8Array;

/**
 * A new booking code: `MH` + 8 characters of Crockford base32 from 40 cryptographically random
 * bits (5 bytes cut into eight 5-bit groups, so every character is equally likely: no modulo
 * bias). Random rather than sequential so a code reveals neither sales volume nor its
 * neighbours.
 *
 * Uniqueness is the database's: `bookings.booking_code` is UNIQUE, and on a unique violation
 * the caller draws again. With 2^40 codes the chance that a new code meets one of a million
 * existing ones is about 1 in a million, so one retry (three at most) is plenty.
 */
export function generateBookingCode(random: RandomSource = randomBytes): string {
  const bytes = random(5);
  if (bytes.length !== 5) throw new Error('The random source must return 5 bytes');
  // 40 bits fit a double exactly (< 2^53), so plain arithmetic is safe here.
  let bits = 0;
  for (const byte of bytes) bits = bits * 256 + byte;
  let code = '';
  for (let i = 7; i >= 0; i--) {
    code += CROCKFORD_ALPHABET[Math.floor(bits / 2 ** (5 * i)) % 32];
  }
  return BOOKING_CODE_PREFIX + code;
}

/** Whether `value` is a well-formed booking code (canonical form: upper case, no separators). */
export function isBookingCode(value: string): boolean {
  return BOOKING_CODE_PATTERN.test(value);
}

/**
 * A booking code as a person typed it, in canonical form, or null when it cannot be one.
 * Follows Crockford's decoding rules: case-insensitive, `O` read as `0`, `I` and `L` as `1`,
 * hyphens and spaces ignored.
 */
export function normalizeBookingCode(typed: string): string | null {
  const compact = typed.replace(/[\s-]/g, '').toUpperCase();
  if (!compact.startsWith(BOOKING_CODE_PREFIX)) return null;
  const body = compact.slice(BOOKING_CODE_PREFIX.length).replace(/O/g, '0').replace(/[IL]/g, '1');
  const code = BOOKING_CODE_PREFIX + body;
  return isBookingCode(code) ? code : null;
}
