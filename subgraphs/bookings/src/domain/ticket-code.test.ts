import { createHmac } from 'node:crypto';
import {
  barcodeFor,
  isWellFormedBarcode,
  readScannedCode,
  signTicketPayload,
  ticketCode,
  verifyBarcode,
  verifyTicketPayload,
} from './ticket-code';

const KEY = createHmac('sha256', 'test-secret').update('moviehub:ticket:v1').digest();
const OTHER_KEY = createHmac('sha256', 'other-secret').update('moviehub:ticket:v1').digest();
const CODE = 'MH7K3Q9XJD-001';

/** Every string one character away from `s` over `alphabet` (substitutions only). */
function* oneCharVariants(s: string, alphabet: string): Generator<string> {
  for (let i = 0; i < s.length; i++) {
    for (const c of alphabet) if (c !== s[i]) yield s.slice(0, i) + c + s.slice(i + 1);
  }
}

describe('ticket codes', () => {
  it('is the booking code and the seat index on 3 digits', () => {
    expect(ticketCode('MH7K3Q9XJD', 1)).toBe('MH7K3Q9XJD-001');
    expect(ticketCode('MH7K3Q9XJD', 42)).toBe('MH7K3Q9XJD-042');
    expect(ticketCode('MH7K3Q9XJD', 999)).toBe('MH7K3Q9XJD-999');
  });

  it('refuses an index out of 1..999 and a malformed booking code', () => {
    for (const index of [0, 1000, 1.5, -1]) {
      expect(() => ticketCode('MH7K3Q9XJD', index)).toThrow();
    }
    expect(() => ticketCode('MH7K3Q9XJ', 1)).toThrow();
    expect(() => ticketCode('mh7k3q9xjd', 1)).toThrow();
  });
});

describe('QR payloads', () => {
  const payload = signTicketPayload(CODE, KEY);

  it('is MH1.<ticketCode>.<22 base64url characters>', () => {
    expect(payload).toMatch(/^MH1\.MH7K3Q9XJD-001\.[A-Za-z0-9_-]{22}$/);
    expect(payload).toHaveLength(41);
    expect(signTicketPayload(CODE, KEY)).toBe(payload);
  });

  it('verifies to its ticket code', () => {
    expect(verifyTicketPayload(payload, KEY)).toBe(CODE);
  });

  it('refuses every payload altered by one character', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.';
    let tried = 0;
    for (const altered of oneCharVariants(payload, alphabet)) {
      expect(verifyTicketPayload(altered, KEY)).toBeNull();
      tried++;
    }
    expect(tried).toBeGreaterThan(2_000);
  });

  it("refuses another ticket's signature, another key's, truncation and padding", () => {
    const other = signTicketPayload('MH7K3Q9XJD-002', KEY);
    expect(verifyTicketPayload(`MH1.${CODE}.${other.split('.')[2]}`, KEY)).toBeNull();
    expect(verifyTicketPayload(payload, OTHER_KEY)).toBeNull();
    expect(verifyTicketPayload(payload.slice(0, -1), KEY)).toBeNull();
    expect(verifyTicketPayload(`${payload}=`, KEY)).toBeNull();
    expect(verifyTicketPayload(`${payload}\n`, KEY)).toBeNull();
    expect(verifyTicketPayload(` ${payload}`, KEY)).toBeNull();
    expect(verifyTicketPayload(`MH2${payload.slice(3)}`, KEY)).toBeNull();
    expect(verifyTicketPayload('', KEY)).toBeNull();
  });

  it('refuses a signature that decodes to the same bytes but is not the one issued', () => {
    // 22 base64url characters carry 132 bits for 128: the last character's low 4 bits are
    // padding. A variant differing only there decodes to the same 16 bytes.
    const sig = payload.split('.')[2];
    const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = chars.indexOf(sig[21]);
    const twin = chars[(last & ~0xf) | ((last + 1) & 0xf)];
    const variant = `MH1.${CODE}.${sig.slice(0, 21)}${twin}`;
    expect(Buffer.from(variant.split('.')[2], 'base64url')).toEqual(Buffer.from(sig, 'base64url'));
    expect(verifyTicketPayload(variant, KEY)).toBeNull();
  });
});

describe('barcodes', () => {
  const barcode = barcodeFor(CODE, KEY);

  it('is 18 digits, the same every time, different per ticket and per key', () => {
    expect(barcode).toMatch(/^\d{18}$/);
    expect(barcodeFor(CODE, KEY)).toBe(barcode);
    expect(barcodeFor('MH7K3Q9XJD-002', KEY)).not.toBe(barcode);
    expect(barcodeFor(CODE, OTHER_KEY)).not.toBe(barcode);
  });

  it('verifies against its ticket code and key only', () => {
    expect(isWellFormedBarcode(barcode)).toBe(true);
    expect(verifyBarcode(barcode, CODE, KEY)).toBe(true);
    expect(verifyBarcode(barcode, 'MH7K3Q9XJD-002', KEY)).toBe(false);
    expect(verifyBarcode(barcode, CODE, OTHER_KEY)).toBe(false);
    expect(verifyBarcode(barcode, 'not a code', KEY)).toBe(false);
  });

  it('refuses every barcode altered in one digit, without a key (check digit)', () => {
    for (const altered of oneCharVariants(barcode, '0123456789')) {
      expect(isWellFormedBarcode(altered)).toBe(false);
      expect(verifyBarcode(altered, CODE, KEY)).toBe(false);
    }
  });

  it('refuses wrong lengths and non-digits', () => {
    expect(isWellFormedBarcode(barcode.slice(1))).toBe(false);
    expect(isWellFormedBarcode(`${barcode}0`)).toBe(false);
    expect(isWellFormedBarcode(barcode.replace(/\d$/, 'x'))).toBe(false);
    expect(isWellFormedBarcode('٠'.repeat(18))).toBe(false);
  });

  it('spreads over the whole range (leading zeros kept)', () => {
    const codes = Array.from({ length: 2_000 }, (_, i) =>
      barcodeFor(ticketCode('MH7K3Q9XJD', (i % 999) + 1), i < 999 ? KEY : OTHER_KEY),
    );
    expect(codes.every((c) => c.length === 18 && isWellFormedBarcode(c))).toBe(true);
    expect(new Set(codes.map((c) => c[0])).size).toBe(10);
  });
});

describe('reading what a scanner returned', () => {
  it('sorts a QR payload, a barcode and anything else', () => {
    const payload = signTicketPayload(CODE, KEY);
    const barcode = barcodeFor(CODE, KEY);
    expect(readScannedCode(payload, KEY)).toEqual({ kind: 'qr', ticketCode: CODE });
    expect(readScannedCode(`  ${payload}\r\n`, KEY)).toEqual({ kind: 'qr', ticketCode: CODE });
    expect(readScannedCode(barcode, KEY)).toEqual({ kind: 'barcode', barcode });
    expect(readScannedCode(payload.replace('-001', '-002'), KEY)).toEqual({ kind: 'forged' });
    expect(readScannedCode(CODE, KEY)).toEqual({ kind: 'forged' });
    // Well-formed but never issued: a barcode to look up (and not find: FORGED then).
    const made = [...'0123456789'].map((d) => `12345678901234567${d}`).find(isWellFormedBarcode);
    expect(readScannedCode(made!, KEY)).toEqual({ kind: 'barcode', barcode: made });
    expect(readScannedCode('x'.repeat(10_000), KEY)).toEqual({ kind: 'forged' });
    expect(readScannedCode('', KEY)).toEqual({ kind: 'forged' });
  });
});
