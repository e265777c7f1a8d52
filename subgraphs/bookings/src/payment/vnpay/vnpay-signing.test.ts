import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../../../../runtime/paths';
import { CONTRACT_DIR } from '../../../../../tests/support/contract';
import {
  hmacSha512Hex,
  parseVnpDate,
  signParams,
  signPipe,
  verifyParams,
  vnpDate,
  vnpSignData,
  type VnpParams,
} from './vnpay-signing';

interface Vectors {
  hmac: { name: string; secret: string; data: string; hash: string }[];
  params: { name: string; secret: string; params: VnpParams; signData?: string; hash: string }[];
  pipe: { name: string; secret: string; data: string; hash: string }[];
}

// Beside the contract folder: ../shared/vnpay-vectors.json, never copied into the project.
const vectors = JSON.parse(
  readFileSync(join(CONTRACT_DIR, '..', 'vnpay-vectors.json'), 'utf8'),
) as Vectors;

describe('VNPay signing known answers', () => {
  it.each(vectors.hmac)('HMAC-SHA512 $name', ({ secret, data, hash }) => {
    expect(hmacSha512Hex(secret, data)).toBe(hash);
  });

  it.each(vectors.params)('signs the parameters of $name', ({ secret, params, signData, hash }) => {
    if (signData !== undefined) expect(vnpSignData(params)).toBe(signData);
    expect(signParams(params, secret)).toBe(hash);
    expect(verifyParams({ ...params, vnp_SecureHash: hash }, secret)).toBe(true);
  });

  it.each(vectors.pipe)('signs the pipe-joined $name', ({ secret, data, hash }) => {
    expect(signPipe(data.split('|'), secret)).toBe(hash);
  });

  it('has every kind of vector (a renamed file would make the tables above empty)', () => {
    expect(vectors.hmac.length).toBeGreaterThan(0);
    expect(vectors.params.length).toBeGreaterThanOrEqual(3);
    expect(vectors.pipe.map((v) => v.name)).toEqual(
      expect.arrayContaining(['refund-full-02', 'refund-partial-03', 'querydr']),
    );
  });
});

describe('vnpSignData', () => {
  it('sorts keys, encodes values with + for spaces and leaves vnp_SecureHash* out', () => {
    const data = vnpSignData({
      vnp_TxnRef: 'A1',
      vnp_OrderInfo: 'Ve phim: 2 ghe & bap/nuoc',
      vnp_SecureHashType: 'HmacSHA512',
      vnp_SecureHash: 'ab',
      vnp_Amount: '100',
    });
    expect(data).toBe('vnp_Amount=100&vnp_OrderInfo=Ve+phim%3A+2+ghe+%26+bap%2Fnuoc&vnp_TxnRef=A1');
  });
});

describe('verifyParams', () => {
  const { params, secret, hash } = vectors.params.find((v) => v.name === 'ipn-success')!;
  const signed: Record<string, string> = { ...params, vnp_SecureHash: hash };

  it('accepts the hash in capitals and ignores vnp_SecureHashType and non-vnp keys', () => {
    expect(verifyParams({ ...signed, vnp_SecureHash: hash.toUpperCase() }, secret)).toBe(true);
    expect(verifyParams({ ...signed, vnp_SecureHashType: 'SHA512', utm: 'x' }, secret)).toBe(true);
  });

  it('refuses any tampered value, an added vnp_ field, another secret', () => {
    expect(verifyParams({ ...signed, vnp_Amount: '1000001' }, secret)).toBe(false);
    expect(verifyParams({ ...signed, vnp_ResponseCode: '24' }, secret)).toBe(false);
    expect(verifyParams({ ...signed, vnp_Extra: 'x' }, secret)).toBe(false);
    expect(verifyParams(signed, 'other_secret')).toBe(false);
    const { vnp_BankCode: _dropped, ...fewer } = signed;
    expect(verifyParams(fewer, secret)).toBe(false);
  });

  it('refuses a missing, repeated, malformed or non-string hash', () => {
    const { vnp_SecureHash: _hash, ...unsigned } = signed;
    expect(verifyParams(unsigned, secret)).toBe(false);
    expect(verifyParams({ ...signed, vnp_SecureHash: [hash, hash] }, secret)).toBe(false);
    expect(verifyParams({ ...signed, vnp_SecureHash: hash.slice(2) }, secret)).toBe(false);
    expect(verifyParams({ ...signed, vnp_SecureHash: `${hash}00` }, secret)).toBe(false);
    expect(verifyParams({ ...signed, vnp_SecureHash: 'zz'.repeat(64) }, secret)).toBe(false);
    expect(verifyParams({ ...signed, vnp_SecureHash: 42 }, secret)).toBe(false);
    expect(verifyParams({ ...signed, vnp_SecureHash: '' }, secret)).toBe(false);
  });

  it('refuses a vnp_ value that is not a single string (repeated key, nested object)', () => {
    expect(verifyParams({ ...signed, vnp_Amount: ['1000000', '1'] }, secret)).toBe(false);
    // One-element arrays stringify to the signed text: only a type check refuses them.
    expect(verifyParams({ ...signed, vnp_Amount: ['1000000'] }, secret)).toBe(false);
    expect(verifyParams({ ...signed, vnp_SecureHash: [hash] }, secret)).toBe(false);
    expect(verifyParams({ ...signed, vnp_Amount: { a: '1' } }, secret)).toBe(false);
    expect(verifyParams({ ...signed, vnp_Amount: undefined }, secret)).toBe(false);
    expect(verifyParams(null as unknown as Record<string, unknown>, secret)).toBe(false);
  });

  it('accepts an empty value signed either as k= or left out, as VNPay samples differ', () => {
    const withEmpty = { ...params, vnp_BankTranNo: '' };
    const nodeStyle = signParams(withEmpty, secret);
    const { vnp_BankTranNo: _empty, ...withoutEmpty } = withEmpty;
    const javaStyle = signParams(withoutEmpty, secret);
    expect(nodeStyle).not.toBe(javaStyle);
    expect(verifyParams({ ...withEmpty, vnp_SecureHash: nodeStyle }, secret)).toBe(true);
    expect(verifyParams({ ...withEmpty, vnp_SecureHash: javaStyle }, secret)).toBe(true);
    expect(verifyParams({ ...withEmpty, vnp_SecureHash: hash }, secret)).toBe(false);
  });
});

describe('GMT+7 dates', () => {
  it('formats an instant as yyyyMMddHHmmss in GMT+7', () => {
    expect(vnpDate(new Date('2025-01-01T12:30:00Z'))).toBe('20250101193000');
    expect(vnpDate(new Date('2024-12-31T17:00:00Z'))).toBe('20250101000000');
    expect(vnpDate(new Date('2024-02-28T20:59:59.999Z'))).toBe('20240229035959');
    expect(() => vnpDate(new Date('nope'))).toThrow(RangeError);
  });

  // Jest hands tests a copy of process.env, so setting TZ here would not reach Node: each zone
  // runs in a child process that compiles this module with the same SWC as Jest.
  it.each(['UTC', 'America/New_York', 'Asia/Ho_Chi_Minh', 'Pacific/Kiritimati'])(
    'does not depend on the process time zone (TZ=%s)',
    (tz) => {
      const child = `
        const { transformFileSync } = require('@swc/core');
        const Module = require('node:module');
        const file = process.argv[1];
        const { code } = transformFileSync(file, {
          jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
          module: { type: 'commonjs' },
        });
        const m = new Module(file);
        m._compile(code, file);
        const at = new Date('2025-06-15T23:45:00Z');
        console.log(JSON.stringify({
          hours: at.getHours(),
          formatted: m.exports.vnpDate(at),
          parsed: m.exports.parseVnpDate('20250616064500').toISOString(),
        }));`;
      const out = execFileSync(
        process.execPath,
        ['-e', child, join(__dirname, 'vnpay-signing.ts')],
        {
          cwd: projectRoot(),
          env: { ...process.env, TZ: tz },
          encoding: 'utf8',
        },
      );
      const result = JSON.parse(out) as { hours: number; formatted: string; parsed: string };
      // The zone took effect in the child (local getters move with it); vnpDate did not.
      const localHours = { UTC: 23, 'America/New_York': 19, 'Asia/Ho_Chi_Minh': 6 }[tz];
      if (localHours !== undefined) expect(result.hours).toBe(localHours);
      expect(result.formatted).toBe('20250616064500');
      expect(result.parsed).toBe('2025-06-15T23:45:00.000Z');
    },
  );

  it('parses exactly 14 digits of a real GMT+7 time, and round-trips', () => {
    expect(parseVnpDate('20250101193000')?.toISOString()).toBe('2025-01-01T12:30:00.000Z');
    expect(parseVnpDate('20240229235959')?.toISOString()).toBe('2024-02-29T16:59:59.000Z');
    for (const bad of [
      '20250230120000', // 30 February
      '20230229120000', // not a leap year
      '20251301000000',
      '20250101240000',
      '20250101236000',
      '20250101235960',
      '2025010119300',
      '202501011930000',
      '2025-01-01 1930',
      ' 20250101193000',
      '',
    ]) {
      expect(parseVnpDate(bad)).toBeNull();
    }
    expect(parseVnpDate(42 as unknown as string)).toBeNull();
    const now = new Date(Math.floor(Date.now() / 1000) * 1000);
    expect(parseVnpDate(vnpDate(now))?.getTime()).toBe(now.getTime());
  });
});
