import { verifyToken } from '@clerk/backend';
import { generateKeyPair, mintToken } from '../../scripts/dev-token';
import { createAuthenticator } from './authenticate';

// Clerk's own verification, counted: the cache must spare it, never replace it.
jest.mock('@clerk/backend', () => {
  const actual = jest.requireActual<typeof import('@clerk/backend')>('@clerk/backend');
  return { ...actual, verifyToken: jest.fn(actual.verifyToken) };
});
const verifications = jest.mocked(verifyToken);

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
    verifications.mockClear();
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
    expect(verifications).toHaveBeenCalledTimes(1);
  });

  it('never answers an expired token from the cache: it is verified again, and refused', async () => {
    const authenticate = createAuthenticator(clerk);
    const t = token('user-1', 60);
    await authenticate(`Bearer ${t}`);
    // Past `exp` but within Clerk's clock-skew allowance: Clerk decides, the cache does not.
    jest.setSystemTime(START + 61_000);
    await authenticate(`Bearer ${t}`);
    expect(verifications).toHaveBeenCalledTimes(2);
    // Past the allowance too: refused, however recently it was accepted.
    jest.setSystemTime(START + 70_000);
    await expect(authenticate(`Bearer ${t}`)).rejects.toMatchObject({
      extensions: { code: 'UNAUTHENTICATED' },
    });
    await expect(authenticate(`Bearer ${t}`)).rejects.toMatchObject({
      extensions: { code: 'UNAUTHENTICATED' },
    });
    expect(verifications).toHaveBeenCalledTimes(4);
  });

  it('never keeps a refused token, and shares one verification between concurrent requests', async () => {
    const authenticate = createAuthenticator(clerk);
    const forged = token('user-1').replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
    await expect(authenticate(`Bearer ${forged}`)).rejects.toMatchObject({
      extensions: { code: 'UNAUTHENTICATED' },
    });
    await expect(authenticate(`Bearer ${forged}`)).rejects.toMatchObject({
      extensions: { code: 'UNAUTHENTICATED' },
    });
    expect(verifications).toHaveBeenCalledTimes(2);

    const t = token('user-2');
    const [a, b] = await Promise.all([authenticate(`Bearer ${t}`), authenticate(`Bearer ${t}`)]);
    expect(a.identity.userId).toBe('user-2');
    expect(b.identity).toBe(a.identity);
    expect(verifications).toHaveBeenCalledTimes(3);
  });

  it('keeps at most maxCachedTokens tokens, dropping the least recently used', async () => {
    const authenticate = createAuthenticator(clerk, { maxCachedTokens: 2 });
    const [t1, t2, t3] = ['a', 'b', 'c'].map((id) => token(id));
    for (const t of [t1, t2, t1, t3]) await authenticate(`Bearer ${t}`);
    expect(verifications).toHaveBeenCalledTimes(3);
    // t2 was the least recently used when t3 came: it is verified again; t1 and t3 are not.
    await authenticate(`Bearer ${t1}`);
    await authenticate(`Bearer ${t3}`);
    expect(verifications).toHaveBeenCalledTimes(3);
    await authenticate(`Bearer ${t2}`);
    expect(verifications).toHaveBeenCalledTimes(4);
  });

  it('with the cache off, verifies every request', async () => {
    const authenticate = createAuthenticator(clerk, { maxCachedTokens: 0 });
    const t = token('user-1');
    await authenticate(`Bearer ${t}`);
    await authenticate(`Bearer ${t}`);
    expect(verifications).toHaveBeenCalledTimes(2);
  });

  it('still treats no header as anonymous and a malformed one as refused', async () => {
    const authenticate = createAuthenticator(clerk);
    await expect(authenticate(undefined)).resolves.toMatchObject({ expiresAt: null });
    await expect(authenticate('Basic abc')).rejects.toMatchObject({
      extensions: { code: 'UNAUTHENTICATED' },
    });
    expect(verifications).not.toHaveBeenCalled();
  });
});
