import { createHmac } from 'node:crypto';
import { ANONYMOUS, clientIpOrNull, deriveKey, signIdentity, verifyIdentity } from './identity';

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

  describe("the client's IP address", () => {
    const who = { userId: 'user_1', role: 'CUSTOMER' as const, email: null };
    const t0 = Date.UTC(2026, 0, 1);
    const claimsOf = (header: string) =>
      JSON.parse(Buffer.from(header.split('.')[0], 'base64url').toString()) as Record<
        string,
        unknown
      >;
    const reSigned = (claims: Record<string, unknown>, signature: string) =>
      `${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;

    it('is signed with a signed-in caller and verified with it', () => {
      for (const ip of ['203.0.113.7', '2001:db8::7']) {
        const header = signIdentity(who, SECRET, 'bookings', t0, ip);
        expect(verifyIdentity(header, SECRET, 'bookings', t0)).toEqual({ ...who, clientIp: ip });
      }
      // IPv4-mapped IPv6 (a dual-stack socket) is the IPv4 address it maps.
      const mapped = signIdentity(who, SECRET, 'bookings', t0, '::ffff:198.51.100.4');
      expect(verifyIdentity(mapped, SECRET, 'bookings', t0)?.clientIp).toBe('198.51.100.4');
    });

    it('is never signed for an anonymous caller, nor when it is no valid address', () => {
      const anonymous = signIdentity(ANONYMOUS, SECRET, 'bookings', t0, '203.0.113.7');
      expect(claimsOf(anonymous)).not.toHaveProperty('ip');
      expect(verifyIdentity(anonymous, SECRET, 'bookings', t0)).toEqual(ANONYMOUS);
      for (const bad of ['', 'localhost', '1.2.3', 'fe80::1%eth0', `${'1:'.repeat(30)}1`]) {
        const header = signIdentity(who, SECRET, 'bookings', t0, bad);
        expect(claimsOf(header)).not.toHaveProperty('ip');
        expect(verifyIdentity(header, SECRET, 'bookings', t0)).toEqual(who);
      }
    });

    it('cannot be added or changed without the secret', () => {
      const plain = signIdentity(who, SECRET, 'bookings', t0);
      const signature = plain.split('.')[1];
      expect(
        verifyIdentity(
          reSigned({ ...claimsOf(plain), ip: '203.0.113.9' }, signature),
          SECRET,
          'bookings',
          t0,
        ),
      ).toBeNull();
      const withIp = signIdentity(who, SECRET, 'bookings', t0, '203.0.113.7');
      const [, ipSignature] = withIp.split('.');
      expect(
        verifyIdentity(
          reSigned({ ...claimsOf(withIp), ip: '203.0.113.9' }, ipSignature),
          SECRET,
          'bookings',
          t0,
        ),
      ).toBeNull();
    });

    it('is dropped when a signed claim is no valid address (VNPay would refuse it)', () => {
      const claims = { ...claimsOf(signIdentity(who, SECRET, 'bookings', t0)) };
      for (const ip of ['x'.repeat(60), 'fe80::1%eth0', 42]) {
        const payload = Buffer.from(JSON.stringify({ ...claims, ip })).toString('base64url');
        const signature = createHmac('sha256', deriveKey(SECRET, 'identity'))
          .update(payload)
          .digest('base64url');
        expect(verifyIdentity(`${payload}.${signature}`, SECRET, 'bookings', t0)).toEqual(who);
      }
      expect(clientIpOrNull('x'.repeat(60))).toBeNull();
    });

    it('is not copied from an identity that carries one: only the signer vouches for it', () => {
      const relayed = signIdentity({ ...who, clientIp: '203.0.113.7' }, SECRET, 'users', t0);
      expect(verifyIdentity(relayed, SECRET, 'users', t0)).toEqual(who);
    });
  });
});
