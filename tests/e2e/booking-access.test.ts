import { IDENTITY_HEADER, signIdentity, type Identity } from '../../runtime/identity';
import { postGraphQL, startTestStack, type TestStack } from '../support/test-stack';

/**
 * Who reads a booking and its owner's history and loyalty: the owner and ADMIN. STAFF, who
 * scan tickets at the door, read no one else's booking, bookings or loyalty.
 */
describe('access to bookings and loyalty', () => {
  let t: TestStack;
  let bookingId: string;
  const OWNER = 'demo-customer';

  beforeAll(async () => {
    t = await startTestStack();
    const own = await t.query(
      '{ me { bookings(first: 1) { edges { node { id } } } } }',
      {},
      { token: t.token(OWNER) },
    );
    bookingId = own.data!.me.bookings.edges[0].node.id;
  });
  afterAll(async () => {
    await t?.stop();
  });

  const codeOf = (res: { errors?: { extensions?: Record<string, unknown> }[] }) =>
    res.errors?.[0]?.extensions?.code;
  /** A booking, and through it its owner's history and loyalty. */
  const bookingWithOwner = `query($id: ID!) {
    booking(id: $id) {
      id status
      user { id email phone loyalty { points tier totalSpent } bookings(first: 5) { totalCount } }
    }
  }`;

  it('shows the owner their booking with their history and loyalty', async () => {
    const res = await t.query(bookingWithOwner, { id: bookingId }, { token: t.token(OWNER) });
    expect(res.errors).toBeUndefined();
    expect(res.data!.booking.user).toMatchObject({
      id: OWNER,
      email: expect.stringContaining('@'),
      loyalty: { tier: 'BRONZE' },
      bookings: { totalCount: 2 },
    });
  });

  it("shows ADMIN any booking with the owner's contact, history and loyalty", async () => {
    const res = await t.query(
      bookingWithOwner,
      { id: bookingId },
      { token: t.token('user_admin', 'ADMIN') },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data!.booking.user).toMatchObject({
      id: OWNER,
      email: expect.stringContaining('@'),
      loyalty: { tier: 'BRONZE' },
      bookings: { totalCount: 2 },
    });
  });

  it.each(['STAFF', 'CUSTOMER'] as const)(
    "shows %s nothing of someone else's booking, history or loyalty",
    async (role) => {
      const res = await t.query(
        bookingWithOwner,
        { id: bookingId },
        { token: t.token(`user_${role.toLowerCase()}`, role) },
      );
      expect(codeOf(res)).toBe('NOT_FOUND');
      expect(res.data?.booking ?? null).toBeNull();
      expect(JSON.stringify(res)).not.toContain('totalSpent');
    },
  );

  describe('in the bookings subgraph, whatever path leads to a User', () => {
    const call = (identity: Identity) =>
      postGraphQL(
        t.stack.subgraphs.bookings.url,
        `query($r: [_Any!]!) { _entities(representations: $r) {
          ... on User { id loyalty { points } bookings(first: 5) { totalCount } }
        } }`,
        { r: [{ __typename: 'User', id: OWNER }] },
        {
          headers: {
            [IDENTITY_HEADER]: signIdentity(identity, t.config.internalSecret, 'bookings'),
          },
        },
      );

    it("refuses STAFF another user's bookings and loyalty with FORBIDDEN", async () => {
      const res = await call({ userId: 'user_staff', role: 'STAFF' });
      const codes = (res.errors ?? []).map((e) => [e.path?.slice(-1)[0], e.extensions?.code]);
      expect(codes).toEqual(
        expect.arrayContaining([
          ['loyalty', 'FORBIDDEN'],
          ['bookings', 'FORBIDDEN'],
        ]),
      );
      expect(res.data!._entities[0]).toMatchObject({ loyalty: null, bookings: null });
    });

    it("gives ADMIN another user's bookings and loyalty", async () => {
      const res = await call({ userId: 'user_admin', role: 'ADMIN' });
      expect(res.errors).toBeUndefined();
      expect(res.data!._entities[0]).toMatchObject({ bookings: { totalCount: 2 } });
    });
  });
});
