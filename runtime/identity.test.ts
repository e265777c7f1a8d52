import { ANONYMOUS, signIdentity, verifyIdentity } from './identity';

const SECRET = 'an-internal-secret-of-enough-length-000';

describe('signed identity between services', () => {
  it('round-trips a signed-in caller and an anonymous one', () => {
    const who = { userId: 'user_1', role: 'STAFF' as const, email: 'a@b.example' };
    expect(verifyIdentity(signIdentity(who, SECRET, 'movies'), SECRET, 'movies')).toEqual(who);
    expect(verifyIdentity(signIdentity(ANONYMOUS, SECRET, 'movies'), SECRET, 'movies')).toEqual(
      ANONYMOUS,
    );
  });

  it('refuses a missing, malformed, forged or tampered header', () => {
    const header = signIdentity({ userId: 'user_1', role: 'CUSTOMER' }, SECRET, 'movies');
    expect(verifyIdentity(undefined, SECRET, 'movies')).toBeNull();
    expect(verifyIdentity('garbage', SECRET, 'movies')).toBeNull();
    expect(verifyIdentity(header, 'another-secret-another-secret-0000', 'movies')).toBeNull();
    const [payload, signature] = header.split('.');
    const elevated = Buffer.from(
      JSON.stringify({
        ...JSON.parse(Buffer.from(payload, 'base64url').toString()),
        role: 'ADMIN',
      }),
    ).toString('base64url');
    expect(verifyIdentity(`${elevated}.${signature}`, SECRET, 'movies')).toBeNull();
  });

  it('is accepted only by the service it was signed for', () => {
    const header = signIdentity({ userId: 'u', role: 'ADMIN' }, SECRET, 'users');
    expect(verifyIdentity(header, SECRET, 'users')).not.toBeNull();
    expect(verifyIdentity(header, SECRET, 'bookings')).toBeNull();
  });

  it('expires after a minute', () => {
    const t0 = Date.UTC(2026, 0, 1);
    const header = signIdentity({ userId: 'u', role: 'CUSTOMER' }, SECRET, 'movies', t0);
    expect(verifyIdentity(header, SECRET, 'movies', t0 + 30_000)).not.toBeNull();
    expect(verifyIdentity(header, SECRET, 'movies', t0 + 120_000)).toBeNull();
  });
});
