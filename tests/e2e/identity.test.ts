import { DEMO_WELCOME_POINTS } from '../../subgraphs/bookings/src/demo/booking-demo';
import { generateKeyPair, mintToken } from '../../scripts/dev-token';
import { newSigningSecret, signedDelivery, userEvent } from '../support/clerk-webhook';
import { contractOperation } from '../support/contract';
import { startTestStack, testKeys, type TestStack } from '../support/test-stack';

const APP = 'https://app.moviehub.example';
const signingSecret = newSigningSecret();

describe('identity and access through the gateway', () => {
  let t: TestStack;
  beforeAll(async () => {
    t = await startTestStack({
      env: { CLERK_AUTHORIZED_PARTIES: APP, CLERK_WEBHOOK_SIGNING_SECRET: signingSecret },
    });
  });
  afterAll(async () => {
    await t?.stop();
  });

  /** Tokens from the front end's origin (the authorized party). */
  const tok: TestStack['token'] = (id, role = 'CUSTOMER', extra = {}) =>
    t.token(id, role, { azp: APP, ...extra });
  const me = (token?: string) => t.query('{ me { id role } }', {}, { token });
  const codeOf = (res: { errors?: { extensions?: Record<string, unknown> }[] }) =>
    res.errors?.[0]?.extensions?.code;

  describe('tokens', () => {
    it('lets anonymous callers read public fields, and refuses protected ones', async () => {
      const catalog = await t.query(contractOperation('NowShowing'), { first: 1 });
      expect(catalog.errors).toBeUndefined();
      expect(codeOf(await me())).toBe('UNAUTHENTICATED');
    });

    it('accepts a valid token from an authorized party', async () => {
      expect((await me(tok('user_ok'))).data?.me).toEqual({ id: 'user_ok', role: 'CUSTOMER' });
    });

    it.each([
      ['garbage', () => 'not-a-jwt'],
      ['expired', () => tok('user_x', 'CUSTOMER', { expiresIn: -120 })],
      [
        'signed with another key',
        () => mintToken(generateKeyPair().privateKeyPem, { userId: 'user_x' }),
      ],
      ['for another party', () => tok('user_x', 'CUSTOMER', { azp: 'https://evil.example' })],
      ['without a party', () => t.token('user_x', 'CUSTOMER')],
      [
        'tampered',
        () => tok('user_x').replace(/\.([^.]+)\./, (_m, p: string) => `.${p.slice(0, -3)}abc.`),
      ],
    ])('refuses a %s token with UNAUTHENTICATED, never as anonymous', async (_name, make) => {
      const res = await t.query(contractOperation('NowShowing'), { first: 1 }, { token: make() });
      expect(res.status).toBe(401);
      expect(res.data ?? null).toBeNull();
      expect(codeOf(res)).toBe('UNAUTHENTICATED');
    });

    it('refuses a malformed Authorization header', async () => {
      const res = await t.query('{ __typename }', {}, { headers: { authorization: 'Basic abc' } });
      expect(codeOf(res)).toBe('UNAUTHENTICATED');
    });
  });

  describe('roles and ownership', () => {
    const findUsers = '{ users(first: 5) { totalCount edges { node { id } } } }';

    it.each([
      [undefined, 'UNAUTHENTICATED'],
      ['CUSTOMER', 'FORBIDDEN'],
      ['STAFF', 'FORBIDDEN'],
      ['ADMIN', undefined],
    ] as const)('the admin user search answers %s with %s', async (role, code) => {
      const token = role ? tok(`user_${role.toLowerCase()}`, role) : undefined;
      const res = await t.query(findUsers, {}, { token });
      expect(codeOf(res)).toBe(code);
      if (!code) expect(res.data!.users.totalCount).toBeGreaterThanOrEqual(4);
    });

    it("takes the role from the token's metadata.role claim", async () => {
      expect((await me(tok('user_staff', 'STAFF'))).data?.me.role).toBe('STAFF');
    });

    it("never shows a customer someone else's bookings or loyalty", async () => {
      const other = tok('user_other');
      const own = await t.query(
        '{ me { bookings(first: 5) { edges { node { id } } } } }',
        {},
        { token: tok('demo-customer') },
      );
      const bookingId = own.data!.me.bookings.edges[0].node.id;
      const booking = await t.query(
        'query($id: ID!) { booking(id: $id) { id } }',
        { id: bookingId },
        { token: other },
      );
      expect(codeOf(booking)).toBe('NOT_FOUND');
      const staff = await t.query(
        'query($id: ID!) { booking(id: $id) { id } }',
        { id: bookingId },
        { token: tok('user_staff', 'STAFF') },
      );
      // STAFF scan tickets; they do not read customers' bookings.
      expect(codeOf(staff)).toBe('NOT_FOUND');
      expect(staff.data?.booking ?? null).toBeNull();
    });
  });

  describe('the users subgraph', () => {
    it('answers the contract Me whole, loyalty at BRONZE with the demo welcome points', async () => {
      const res = await t.query(contractOperation('Me'), {}, { token: tok('demo-customer') });
      expect(res.errors).toBeUndefined();
      expect(res.data!.me).toMatchObject({
        id: 'demo-customer',
        email: expect.stringContaining('@'),
        role: 'CUSTOMER',
        loyalty: { points: DEMO_WELCOME_POINTS, tier: 'BRONZE', totalSpent: 0 },
        bookings: { totalCount: 2 },
      });
      expect(Date.parse(res.data!.me.createdAt)).not.toBeNaN();
    });

    it('UpdateProfile saves a valid name and phone (stored as E.164)', async () => {
      const token = tok('user_profile');
      const res = await t.query(
        contractOperation('UpdateProfile'),
        { name: '  Trần Thị B ', phone: '0987 654 321' },
        { token },
      );
      expect(res.errors).toBeUndefined();
      expect(res.data!.updateProfile).toEqual({
        id: 'user_profile',
        name: 'Trần Thị B',
        phone: '+84987654321',
      });
    });

    it.each([
      [{ name: '', phone: '0987654321' }, 'name'],
      [{ name: 'x'.repeat(101) }, 'name'],
      [{ name: 'Valid Name', phone: '12345' }, 'phone'],
    ])('UpdateProfile refuses %j naming the field, and writes nothing', async (vars, field) => {
      const token = tok('user_bad_profile');
      await t.query(contractOperation('UpdateProfile'), { name: 'Original' }, { token });
      const res = await t.query(contractOperation('UpdateProfile'), vars, { token });
      expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
      const after = await t.query('{ me { name } }', {}, { token });
      expect(after.data!.me.name).toBe('Original');
    });

    it('creates exactly one row when a new user’s first requests race', async () => {
      const token = tok('user_race');
      const results = await Promise.all(Array.from({ length: 25 }, () => me(token)));
      expect(results.every((r) => r.data?.me.id === 'user_race')).toBe(true);
      const rows = await t.stack.subgraphs.users.dataSource.query(
        `SELECT count(*)::int AS n FROM users WHERE id = 'user_race'`,
      );
      expect(rows[0].n).toBe(1);
    });
  });

  describe('Clerk webhooks', () => {
    const webhookUrl = () => t.gatewayUrl.replace(/\/graphql$/, '/webhooks/clerk');
    const deliver = (d: ReturnType<typeof signedDelivery>) =>
      fetch(webhookUrl(), { method: 'POST', headers: d.headers, body: d.body });
    const adminUser = async (id: string) =>
      (
        await t.query(
          'query($id: ID!) { user(id: $id) { id email name phone role bookings(first: 5) { totalCount } } }',
          { id },
          { token: tok('user_admin', 'ADMIN') },
        )
      ).data!.user;

    it('creates and updates users from signed events', async () => {
      const created = signedDelivery(
        signingSecret,
        userEvent('user.created', {
          id: 'user_hook',
          first: 'Lê',
          last: 'Văn C',
          email: 'c@x.example',
        }),
      );
      const res = await deliver(created);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ outcome: 'applied' });
      expect(await adminUser('user_hook')).toMatchObject({
        name: 'Lê Văn C',
        email: 'c@x.example',
      });
    });

    it('applies an event with odd fields as far as it can, and ignores ids it cannot store', async () => {
      // Signed, so Clerk's: a field of the wrong type, a NUL, an impossible time must not make
      // it fail (Clerk would deliver it again for a day, then drop it).
      const odd = userEvent('user.created', { id: 'user_odd', first: 'Trần\u0000 Thị', last: 'D' });
      const oddData = odd.data as Record<string, unknown>;
      oddData.email_addresses = 'not a list';
      oddData.updated_at = 1e308;
      const applied = await deliver(signedDelivery(signingSecret, odd));
      expect(applied.status).toBe(200);
      expect(await applied.json()).toEqual({ outcome: 'applied' });
      expect(await adminUser('user_odd')).toMatchObject({ name: 'Trần Thị D', email: null });

      const huge = await deliver(
        signedDelivery(
          signingSecret,
          userEvent('user.created', { id: `user_${'x'.repeat(100_000)}` }),
        ),
      );
      expect(huge.status).toBe(200);
      expect(await huge.json()).toEqual({ outcome: 'ignored' });
      const hugeDelivery = await deliver(
        signedDelivery(signingSecret, userEvent('user.created', { id: 'user_odd2' }), {
          id: `msg_${'y'.repeat(10_000)}`, // within the 16 KB of headers
        }),
      );
      expect(await hugeDelivery.json()).toEqual({ outcome: 'ignored' });
    });

    it('refuses a tampered body or signature, and changes nothing', async () => {
      const good = signedDelivery(
        signingSecret,
        userEvent('user.updated', { id: 'user_hook', first: 'Hacked' }),
      );
      const tampered = { ...good, body: good.body.replace('Hacked', 'Hacker') };
      expect((await deliver(tampered)).status).toBe(400);
      const forged = signedDelivery(
        newSigningSecret(),
        userEvent('user.updated', { id: 'user_hook', first: 'Forged' }),
      );
      expect((await deliver(forged)).status).toBe(400);
      expect((await adminUser('user_hook')).name).toBe('Lê Văn C');
    });

    it('applies a replayed delivery once: the replay changes nothing', async () => {
      const first = signedDelivery(
        signingSecret,
        userEvent('user.updated', { id: 'user_hook', email: 'first@x.example' }),
      );
      const second = signedDelivery(
        signingSecret,
        userEvent('user.updated', { id: 'user_hook', email: 'second@x.example' }),
      );
      expect(await (await deliver(first)).json()).toEqual({ outcome: 'applied' });
      expect(await (await deliver(second)).json()).toEqual({ outcome: 'applied' });
      const replay = await deliver(first);
      expect(replay.status).toBe(200);
      expect(await replay.json()).toEqual({ outcome: 'duplicate' });
      expect((await adminUser('user_hook')).email).toBe('second@x.example');
    });

    it('keeps the name and phone the user set here; Clerk only fills them when empty', async () => {
      const token = tok('user_hook');
      await t.query(
        contractOperation('UpdateProfile'),
        { name: 'Tên Tự Đặt', phone: '0912345678' },
        { token },
      );
      const update = signedDelivery(
        signingSecret,
        userEvent('user.updated', {
          id: 'user_hook',
          first: 'Clerk',
          last: 'Name',
          email: 'third@x.example',
        }),
      );
      expect((await deliver(update)).status).toBe(200);
      expect(await adminUser('user_hook')).toMatchObject({
        name: 'Tên Tự Đặt',
        phone: '+84912345678',
        email: 'third@x.example',
      });
    });

    it('refuses a delivery signed long ago (outside the replay window)', async () => {
      const old = signedDelivery(
        signingSecret,
        userEvent('user.updated', { id: 'user_hook', first: 'Old' }),
        {
          timestamp: Math.floor(Date.now() / 1000) - 3600,
        },
      );
      expect((await deliver(old)).status).toBe(400);
    });

    it("erases a deleted user's personal data and keeps their bookings", async () => {
      const deleted = signedDelivery(
        signingSecret,
        userEvent('user.deleted', { id: 'demo-customer' }),
      );
      expect((await deliver(deleted)).status).toBe(200);
      expect(await adminUser('demo-customer')).toMatchObject({
        email: null,
        name: null,
        phone: null,
        bookings: { totalCount: 2 },
      });
      // A token minted before the deletion brings nothing back either.
      const stale = await t.query(
        contractOperation('UpdateProfile'),
        { name: 'Back' },
        { token: tok('demo-customer') },
      );
      expect(stale.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
      // A late update for the deleted user does not bring the data back.
      const late = signedDelivery(
        signingSecret,
        userEvent('user.updated', { id: 'demo-customer', first: 'Back', email: 'b@x.example' }),
      );
      await deliver(late);
      expect((await adminUser('demo-customer')).email).toBeNull();
    });
  });
});

it('test keys are shared by the process', () => {
  expect(testKeys()).toBe(testKeys());
});
