import { verifyToken } from '@clerk/backend';
import { decodeJwt } from '@clerk/backend/jwt';
import * as nodeCrypto from 'node:crypto';
import { createHmac, createSign, generateKeyPairSync, randomUUID } from 'node:crypto';
import { generateKeyPair, mintToken } from '../../scripts/dev-token';
import { createAuthenticator, decodeToken } from './authenticate';

// Clerk's own verification, counted: the cache must spare it, never replace it.
jest.mock('@clerk/backend', () => {
  const actual = jest.requireActual<typeof import('@clerk/backend')>('@clerk/backend');
  return { ...actual, verifyToken: jest.fn(actual.verifyToken) };
});
// The gateway's own verification with CLERK_JWT_KEY (a signature check, a key import), counted.
jest.mock('node:crypto', () => {
  const actual = jest.requireActual<typeof import('node:crypto')>('node:crypto');
  return {
    ...actual,
    verify: jest.fn(actual.verify),
    createPublicKey: jest.fn(actual.createPublicKey),
  };
});
const clerkVerifications = jest.mocked(verifyToken);
const signatureChecks = jest.mocked(nodeCrypto.verify);
const keyImports = jest.mocked(nodeCrypto.createPublicKey);
/** Verifications done, by Clerk or by the gateway's own check of the signature. */
const verifications = {
  count: () => clerkVerifications.mock.calls.length + signatureChecks.mock.calls.length,
};
/** Clerk's `verifyToken` itself: the judge of what must be refused. */
const clerkVerify =
  jest.requireActual<typeof import('@clerk/backend')>('@clerk/backend').verifyToken;

const keys = generateKeyPair();
const clerk = {
  jwtKey: keys.publicKeyPem,
  secretKey: undefined,
  webhookSigningSecret: undefined,
  authorizedParties: ['http://localhost:3000'],
};
const START = Date.parse('2026-12-05T10:00:00Z');
const token = (userId: string, expiresIn = 60) =>
  mintToken(
    keys.privateKeyPem,
    { userId, role: 'STAFF', azp: 'http://localhost:3000', expiresIn },
    START,
  );

describe('createAuthenticator', () => {
  beforeEach(() => {
    // Clerk checks `exp` against Date.now: the fake clock moves both.
    jest.useFakeTimers({ now: START, doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    clerkVerifications.mockClear();
    signatureChecks.mockClear();
    keyImports.mockClear();
  });
  afterEach(() => jest.useRealTimers());

  it('verifies a token once, then answers from the cache with the same identity', async () => {
    const authenticate = createAuthenticator(clerk);
    const t = token('user-1');
    const first = await authenticate(`Bearer ${t}`);
    jest.setSystemTime(START + 30_000);
    const second = await authenticate(`Bearer ${t}`);
    expect(first.identity).toEqual({ userId: 'user-1', role: 'STAFF', email: null });
    expect(second).toEqual(first);
    expect(first.expiresAt).toBe(Math.floor(START / 1000) + 60);
    expect(verifications.count()).toBe(1);
  });

  it('never answers an expired token from the cache: it is verified again, and refused', async () => {
    const authenticate = createAuthenticator(clerk);
    const t = token('user-1', 60);
    await authenticate(`Bearer ${t}`);
    // Past `exp` but within Clerk's clock-skew allowance: Clerk decides, the cache does not.
    jest.setSystemTime(START + 61_000);
    await authenticate(`Bearer ${t}`);
    expect(verifications.count()).toBe(2);
    // Past the allowance too: refused, however recently it was accepted.
    jest.setSystemTime(START + 70_000);
    await expect(authenticate(`Bearer ${t}`)).rejects.toMatchObject({
      extensions: { code: 'UNAUTHENTICATED' },
    });
    await expect(authenticate(`Bearer ${t}`)).rejects.toMatchObject({
      extensions: { code: 'UNAUTHENTICATED' },
    });
    expect(verifications.count()).toBe(4);
  });

  it('never keeps a refused token, and shares one verification between concurrent requests', async () => {
    const authenticate = createAuthenticator(clerk);
    // Another user's claims under user-1's signature: decodes, then fails the signature.
    const [header, , signature] = token('user-1').split('.');
    const forged = [header, token('admin').split('.')[1], signature].join('.');
    await expect(authenticate(`Bearer ${forged}`)).rejects.toMatchObject({
      extensions: { code: 'UNAUTHENTICATED' },
    });
    await expect(authenticate(`Bearer ${forged}`)).rejects.toMatchObject({
      extensions: { code: 'UNAUTHENTICATED' },
    });
    expect(verifications.count()).toBe(2);

    const t = token('user-2');
    const [a, b] = await Promise.all([authenticate(`Bearer ${t}`), authenticate(`Bearer ${t}`)]);
    expect(a.identity.userId).toBe('user-2');
    expect(b.identity).toBe(a.identity);
    expect(verifications.count()).toBe(3);
  });

  it('keeps at most maxCachedTokens tokens, dropping the least recently used', async () => {
    const authenticate = createAuthenticator(clerk, { maxCachedTokens: 2 });
    const [t1, t2, t3] = ['a', 'b', 'c'].map((id) => token(id));
    for (const t of [t1, t2, t1, t3]) await authenticate(`Bearer ${t}`);
    expect(verifications.count()).toBe(3);
    // t2 was the least recently used when t3 came: it is verified again; t1 and t3 are not.
    await authenticate(`Bearer ${t1}`);
    await authenticate(`Bearer ${t3}`);
    expect(verifications.count()).toBe(3);
    await authenticate(`Bearer ${t2}`);
    expect(verifications.count()).toBe(4);
  });

  it('with the cache off, verifies every request', async () => {
    const authenticate = createAuthenticator(clerk, { maxCachedTokens: 0 });
    const t = token('user-1');
    await authenticate(`Bearer ${t}`);
    await authenticate(`Bearer ${t}`);
    expect(verifications.count()).toBe(2);
  });

  it('still treats no header as anonymous and a malformed one as refused', async () => {
    const authenticate = createAuthenticator(clerk);
    await expect(authenticate(undefined)).resolves.toMatchObject({ expiresAt: null });
    await expect(authenticate('Basic abc')).rejects.toMatchObject({
      extensions: { code: 'UNAUTHENTICATED' },
    });
    expect(verifications.count()).toBe(0);
  });
});

/** Claims shaped like a Clerk session token's, valid at START. */
const T = Math.floor(START / 1000);
const claims = (extra: Record<string, unknown> = {}) => ({
  sub: 'user-1',
  sid: `sess_${randomUUID()}`,
  iss: 'https://clerk.moviehub.local',
  iat: T,
  nbf: T - 5,
  exp: T + 60,
  azp: 'http://localhost:3000',
  metadata: { role: 'STAFF' },
  ...extra,
});
const part = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const HEADER = { alg: 'RS256', typ: 'JWT', kid: 'ins_test' };
/** A token of `header` and `payload`, signed by `sign` over `header.payload`. */
const jwt = (
  header: unknown,
  payload: unknown,
  sign: (input: string) => string = rsa('RSA-SHA256'),
) => {
  const input = `${part(header)}.${part(payload)}`;
  return `${input}.${sign(input)}`;
};
function rsa(algorithm: string, privateKeyPem = keys.privateKeyPem) {
  return (input: string) =>
    createSign(algorithm).update(input).sign(privateKeyPem).toString('base64url');
}
const otherKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const otherPrivateKeyPem = otherKeys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

const valid = () => jwt(HEADER, claims());
const swapPart = (t: string, index: number, value: string) => {
  const parts = t.split('.');
  parts[index] = value;
  return parts.join('.');
};

/**
 * Tokens Clerk's `verifyToken` refuses, each for one reason; every one must be refused by
 * the gateway too, whichever way it verifies.
 */
const HOSTILE: Array<[string, () => string]> = [
  [
    'claims changed under the signature',
    () => swapPart(valid(), 1, part(claims({ sub: 'admin', metadata: { role: 'ADMIN' } }))),
  ],
  ['signed by another key', () => jwt(HEADER, claims(), rsa('RSA-SHA256', otherPrivateKeyPem))],
  ['signature of another token', () => swapPart(valid(), 2, valid().split('.')[2])],
  ['signature cut short', () => swapPart(valid(), 2, valid().split('.')[2].slice(0, -4))],
  [
    'signature with stray bits in its last character',
    () => valid().replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')),
  ],
  [
    'signature in base64 (+ and /), not base64url',
    () => {
      let t = valid();
      while (!/[-_]/.test(t.split('.')[2])) t = valid();
      return swapPart(t, 2, t.split('.')[2].replace(/-/g, '+').replace(/_/g, '/'));
    },
  ],
  [
    'a character outside base64url in the signature',
    () =>
      swapPart(
        valid(),
        2,
        `${valid().split('.')[2].slice(0, 100)}!${valid().split('.')[2].slice(100)}`,
      ),
  ],
  ['empty signature', () => swapPart(valid(), 2, '')],
  ['alg none, no signature', () => `${part({ alg: 'none', typ: 'JWT' })}.${part(claims())}.`],
  ['alg none with an RS256 signature', () => jwt({ ...HEADER, alg: 'none' }, claims())],
  [
    'HS256 keyed with the public key',
    () =>
      jwt({ ...HEADER, alg: 'HS256' }, claims(), (input) =>
        createHmac('sha256', keys.publicKeyPem).update(input).digest('base64url'),
      ),
  ],
  ['RS384 with the right key', () => jwt({ ...HEADER, alg: 'RS384' }, claims(), rsa('RSA-SHA384'))],
  ['RS512 with the right key', () => jwt({ ...HEADER, alg: 'RS512' }, claims(), rsa('RSA-SHA512'))],
  [
    'PS256 with the right key',
    () =>
      jwt({ ...HEADER, alg: 'PS256' }, claims(), (input) =>
        createSign('RSA-SHA256')
          .update(input)
          .sign({ key: keys.privateKeyPem, padding: nodeCrypto.constants.RSA_PKCS1_PSS_PADDING })
          .toString('base64url'),
      ),
  ],
  ['no alg', () => jwt({ typ: 'JWT' }, claims())],
  ['typ other than JWT', () => jwt({ ...HEADER, typ: 'at+jwt' }, claims())],
  ['a machine token', () => jwt({ ...HEADER, cat: 'cl_B7d4PD333AAA' }, claims())],
  ['expired beyond the clock skew', () => jwt(HEADER, claims({ exp: T - 6 }))],
  ['expiring right at the skew', () => jwt(HEADER, claims({ exp: T - 5 }))],
  ['no exp', () => jwt(HEADER, claims({ exp: undefined }))],
  ['exp a string', () => jwt(HEADER, claims({ exp: String(T + 60) }))],
  ['not valid yet', () => jwt(HEADER, claims({ nbf: T + 6 }))],
  ['nbf a string', () => jwt(HEADER, claims({ nbf: String(T) }))],
  ['issued in the future', () => jwt(HEADER, claims({ iat: T + 6 }))],
  ['iat a string', () => jwt(HEADER, claims({ iat: String(T) }))],
  ['another authorized party', () => jwt(HEADER, claims({ azp: 'https://evil.example' }))],
  ['no authorized party', () => jwt(HEADER, claims({ azp: undefined }))],
  ['authorized party in a list', () => jwt(HEADER, claims({ azp: ['http://localhost:3000'] }))],
  ['no subject', () => jwt(HEADER, claims({ sub: undefined }))],
  ['subject a number', () => jwt(HEADER, claims({ sub: 42 }))],
  ['payload null', () => jwt(HEADER, null)],
  ['header null', () => jwt(null, claims())],
  ['header not JSON', () => `${part('{"alg":"RS256"')}.${part(claims())}.AAAA`],
  ['payload not JSON', () => jwt(HEADER, 'not json')],
  ['two parts', () => valid().split('.').slice(0, 2).join('.')],
  ['four parts', () => `${valid()}.${valid().split('.')[2]}`],
  ['garbage', () => 'abc'],
];

/** Tokens Clerk accepts at its edges: the gateway accepts them too, as the same user. */
const ACCEPTED: Array<[string, () => string]> = [
  ['a valid token', valid],
  ['expired, within the clock skew', () => jwt(HEADER, claims({ exp: T - 4 }))],
  ['not valid yet, within the clock skew', () => jwt(HEADER, claims({ nbf: T + 5, iat: T + 5 }))],
  [
    'no nbf, no iat, no typ',
    () => jwt({ alg: 'RS256' }, claims({ nbf: undefined, iat: undefined })),
  ],
  ['signature padded with =', () => `${valid()}==`],
];

const clerkOptions = { jwtKey: clerk.jwtKey, authorizedParties: clerk.authorizedParties };

describe('createAuthenticator refuses whatever Clerk refuses', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: START, doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
  });
  afterEach(() => jest.useRealTimers());

  it.each(HOSTILE)('refuses %s', async (_why, make) => {
    const t = make();
    await expect(clerkVerify(t, clerkOptions)).rejects.toBeDefined();
    const authenticate = createAuthenticator(clerk);
    await expect(authenticate(`Bearer ${t}`)).rejects.toMatchObject({
      extensions: { code: 'UNAUTHENTICATED' },
    });
  });

  it.each(ACCEPTED)('accepts %s, as Clerk does', async (_why, make) => {
    const t = make();
    await expect(clerkVerify(t, clerkOptions)).resolves.toMatchObject({ sub: 'user-1' });
    const { identity } = await createAuthenticator(clerk)(`Bearer ${t}`);
    expect(identity).toEqual({ userId: 'user-1', role: 'STAFF', email: null });
  });

  it("accepts none of a valid token's one-character mutations that Clerk refuses", async () => {
    const t = valid();
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ';
    // A fixed walk over positions and replacements: every part, every kind of character.
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    const authenticate = createAuthenticator(clerk, { maxCachedTokens: 0 });
    for (let i = 0; i < 400; i += 1) {
      const at = next() % t.length;
      const mutated = t.slice(0, at) + alphabet[next() % alphabet.length] + t.slice(at + 1);
      const clerkAccepts = await clerkVerify(mutated, clerkOptions).then(
        () => true,
        () => false,
      );
      const gatewayAccepts = await authenticate(`Bearer ${mutated}`).then(
        () => true,
        () => false,
      );
      if (gatewayAccepts)
        expect({ mutated, clerkAccepts }).toEqual({ mutated, clerkAccepts: true });
    }
  });

  it('imports the key once, not per token', async () => {
    const subtleImports = jest.spyOn(globalThis.crypto.subtle, 'importKey');
    try {
      const authenticate = createAuthenticator(clerk);
      keyImports.mockClear();
      for (const user of ['a', 'b', 'c']) {
        await expect(authenticate(`Bearer ${token(user)}`)).resolves.toMatchObject({
          identity: { userId: user },
        });
      }
      // Either way of importing counts: Node's KeyObject, or WebCrypto (Clerk's, per token).
      expect(keyImports.mock.calls.length + subtleImports.mock.calls.length).toBe(1);
    } finally {
      subtleImports.mockRestore();
    }
  });
});

describe('decodeToken', () => {
  /** Clerk's `decodeJwt`, as far as `verifyLocally` reads it; null where it throws. */
  const clerkDecode = (t: string) => {
    try {
      const { header, payload, signature, raw } = decodeJwt(t);
      return { header, payload, signature: [...signature], raw: [raw.header, raw.payload] };
    } catch {
      return null;
    }
  };
  const ours = (t: string) => {
    const decoded = decodeToken(t);
    if (!decoded) return null;
    const { header, payload, signature, raw } = decoded;
    return { header, payload, signature: [...signature], raw: [raw.header, raw.payload] };
  };
  const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url');

  it('decodes what Clerk decodes, and refuses what Clerk refuses, part by part', () => {
    const t = valid();
    const [h, p, sig] = t.split('.');
    const tokens = [
      t,
      `${t}=`,
      `${t}===`,
      `${h}=.${p}.${sig}`,
      `${h}.${p}=.${sig}`,
      `${h}.${p}.${sig}=a`,
      `${h}.${p}.`,
      `.${p}.${sig}`,
      `${h}.${p}.${sig}.`,
      `${h}.${p}`,
      // Stray characters and stray bits at the end of a part, of every length.
      ...['A', 'B', 'Q', 'g', 'AB', 'AQ', 'AE', 'AAB', 'AAE', 'AAg', '_', '-'].map(
        (end) => `${h}.${p}.${sig}${end}`,
      ),
      ...['AA', 'AB', 'AQ', 'E', 'AAB', 'AAE'].map(
        (end) => `${b64('{"alg":"RS256"}')}${end}.${p}.${sig}`,
      ),
      // Text: a BOM, bad UTF-8, not JSON, not an object (decoding leaves that to the checks).
      `${Buffer.from('\uFEFF{"alg":"RS256"}', 'utf8').toString('base64url')}.${p}.${sig}`,
      `${Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xc3, 0x22, 0x7d]).toString('base64url')}.${p}.${sig}`,
      `${b64('{"alg":')}.${p}.${sig}`,
      `${b64('[1,2]')}.${b64('null')}.${sig}`,
      `${h}.${p}.${sig.replace(/-/g, '+').replace(/_/g, '/')}+/`,
      `${h} .${p}.${sig}`,
      `${h}.${p}.${sig}\n`,
    ];
    // And a fixed walk of one-character changes over every part.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ';
    let seed = 11;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let i = 0; i < 2000; i += 1) {
      const at = next() % t.length;
      tokens.push(t.slice(0, at) + alphabet[next() % alphabet.length] + t.slice(at + 1));
    }
    let refused = 0;
    for (const candidate of tokens) {
      const expected = clerkDecode(candidate);
      if (expected === null) refused += 1;
      expect({ candidate, decoded: ours(candidate) }).toEqual({ candidate, decoded: expected });
    }
    // The walk reaches both answers, many times each.
    expect(refused).toBeGreaterThan(100);
    expect(tokens.length - refused).toBeGreaterThan(100);
  });
});
