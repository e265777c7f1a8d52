import {
  CROCKFORD_ALPHABET,
  generateBookingCode,
  isBookingCode,
  normalizeBookingCode,
} from './booking-code';

const fixed = (bytes: number[]) => () => Uint8Array.from(bytes);

describe('booking codes', () => {
  it('is MH and 8 Crockford characters', () => {
    for (let i = 0; i < 200; i++) {
      const code = generateBookingCode();
      expect(code).toMatch(/^MH[0-9A-HJKMNP-TV-Z]{8}$/);
      expect(isBookingCode(code)).toBe(true);
    }
  });

  it('uses no ambiguous letters', () => {
    expect(CROCKFORD_ALPHABET).toHaveLength(32);
    expect(CROCKFORD_ALPHABET).not.toMatch(/[ILOU]/);
    expect(new Set(CROCKFORD_ALPHABET).size).toBe(32);
  });

  it('encodes the 40 random bits exactly, 5 bits a character', () => {
    expect(generateBookingCode(fixed([0, 0, 0, 0, 0]))).toBe('MH00000000');
    expect(generateBookingCode(fixed([255, 255, 255, 255, 255]))).toBe('MHZZZZZZZZ');
    // 0x08 0x86 0x42 0x98 0xE8 = 00001 00010 00011 00100 00101 00110 00111 01000
    expect(generateBookingCode(fixed([0x08, 0x86, 0x42, 0x98, 0xe8]))).toBe('MH12345678');
  });

  it('refuses a random source that returns the wrong size', () => {
    expect(() => generateBookingCode(fixed([1, 2, 3]))).toThrow(/5 bytes/);
  });

  it('rarely repeats (40 bits): 10,000 codes are all different', () => {
    const codes = new Set(Array.from({ length: 10_000 }, () => generateBookingCode()));
    expect(codes.size).toBe(10_000);
  });

  it('reads a code as people type it', () => {
    expect(normalizeBookingCode('mh12345678')).toBe('MH12345678');
    expect(normalizeBookingCode(' MH-1234 5678 ')).toBe('MH12345678');
    expect(normalizeBookingCode('MHO1IL2345')).toBe('MH01112345');
    expect(normalizeBookingCode('MH1234567')).toBeNull();
    expect(normalizeBookingCode('MH1234567U')).toBeNull();
    expect(normalizeBookingCode('XX12345678')).toBeNull();
    expect(isBookingCode('mh12345678')).toBe(false);
  });
});
