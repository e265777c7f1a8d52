import { seatHolderTags } from './seat-holder';

const SECRET = 'an-internal-secret-of-enough-length-000';

describe('seat-holder tags', () => {
  it('are stable per user and secret, distinct between users, and never contain the user id', () => {
    const tag = seatHolderTags(SECRET);
    expect(tag('user_1')).toBe(seatHolderTags(SECRET)('user_1'));
    expect(tag('user_1')).not.toBe(tag('user_2'));
    expect(tag('user_1')).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(tag('user_1')).not.toContain('user_1');
  });

  it('keep the derivation the stored holds were made with', () => {
    // Holds and reservations in Redis and PostgreSQL are keyed by these tags: a change of
    // derivation would orphan every one of them.
    expect(seatHolderTags(SECRET)('user_1')).toBe('ix-0TKq-vSJGoofwoU8Ob-');
  });

  it('depend on the secret', () => {
    expect(seatHolderTags(SECRET)('user_1')).not.toBe(
      seatHolderTags('another-secret-another-secret-0000')('user_1'),
    );
  });
});
