import type { DataSource } from 'typeorm';
import { createLogger } from '../../../../runtime/logger';
import { openSubgraphDatabase } from '../../../../runtime/subgraph-server';
import { dropTestDatabases, testConfig } from '../../../../tests/support/test-config';
import { usersSubgraph } from '../schema';
import type { ClerkEvent, ClerkUserData } from './clerk-events';
import { UserService } from './user.service';

/**
 * The users' locale (what language their mail is in) and their contacts for the bookings
 * subgraph's mail, against real PostgreSQL with the users migrations.
 */

const log = createLogger('user-locale-test', 'silent');

/** A Clerk user event; `at` is Clerk's `updated_at` (ms), which orders the events. */
let delivery = 0;
const clerkEvent = (
  type: 'user.created' | 'user.updated' | 'user.deleted',
  userId: string,
  at: number,
  data: Partial<ClerkUserData> = {},
): ClerkEvent => ({
  id: `msg_${++delivery}`,
  type,
  data: { id: userId, updated_at: at, ...data },
});

async function failure(promise: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await promise;
  } catch (err) {
    return (err as { extensions?: Record<string, unknown> }).extensions ?? {};
  }
  throw new Error('expected the call to fail');
}

describe('user locale and contacts', () => {
  const config = testConfig();
  let dataSource: DataSource;
  let users: UserService;

  beforeAll(async () => {
    dataSource = await openSubgraphDatabase(usersSubgraph, config, log);
    users = new UserService(dataSource);
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await dropTestDatabases(config);
  });

  const me = (userId: string) => ({ userId, role: 'CUSTOMER' as const });
  const localeOf = async (userId: string) => (await users.byIds([userId]))[0]?.locale;

  it('is vi until the user chooses; updateProfile takes vi or en and refuses anything else', async () => {
    expect((await users.ensure(me('user_loc1'))).locale).toBe('vi');
    expect((await users.updateProfile(me('user_loc1'), { locale: 'en' })).locale).toBe('en');
    for (const locale of ['EN', 'fr', '', 'en-US']) {
      expect(
        await failure(users.updateProfile(me('user_loc1'), { name: 'Changed', locale })),
      ).toEqual({ code: 'BAD_USER_INPUT', field: 'locale' });
    }
    // Nothing of a refused update was written, the name included.
    const user = (await users.byIds(['user_loc1']))[0]!;
    expect([user.locale, user.name]).toEqual(['en', null]);
    // Omitted or null: unchanged.
    expect((await users.updateProfile(me('user_loc1'), { name: 'An' })).locale).toBe('en');
    expect((await users.updateProfile(me('user_loc1'), { locale: null })).locale).toBe('en');
    // The database refuses what the validation would (a write that skipped it).
    await expect(
      dataSource.query(`UPDATE users SET locale = 'fr' WHERE id = 'user_loc1'`),
    ).rejects.toThrow(/users_locale_check/);
  });

  it('takes Clerk’s locale when valid and when it changes there, never undoing a choice made here', async () => {
    const id = 'user_loc2';
    // Valid only: an unknown locale is ignored; public_metadata wins over unsafe_metadata.
    await users.applyClerkEvent(
      clerkEvent('user.created', id, 1000, { unsafe_metadata: { locale: 'fr' } }),
    );
    expect(await localeOf(id)).toBe('vi');
    await users.applyClerkEvent(
      clerkEvent('user.updated', id, 2000, {
        public_metadata: { locale: 'en' },
        unsafe_metadata: { locale: 'vi' },
      }),
    );
    expect(await localeOf(id)).toBe('en');

    // The user switches here; a later Clerk event about something else keeps that choice.
    await users.updateProfile(me(id), { locale: 'vi' });
    await users.applyClerkEvent(
      clerkEvent('user.updated', id, 3000, {
        first_name: 'Bao',
        public_metadata: { locale: 'en' },
      }),
    );
    expect(await localeOf(id)).toBe('vi');
    // Changed in Clerk (the front end stored a new choice there): applied.
    await users.applyClerkEvent(
      clerkEvent('user.updated', id, 4000, { unsafe_metadata: { locale: 'vi' } }),
    );
    await users.updateProfile(me(id), { locale: 'en' });
    await users.applyClerkEvent(
      clerkEvent('user.updated', id, 5000, { unsafe_metadata: { locale: 'vi' } }),
    );
    expect(await localeOf(id)).toBe('en');
    await users.applyClerkEvent(
      clerkEvent('user.updated', id, 6000, { unsafe_metadata: { locale: 'en' } }),
    );
    await users.updateProfile(me(id), { locale: 'vi' });
    await users.applyClerkEvent(
      clerkEvent('user.updated', id, 7000, { public_metadata: { locale: 'vi' } }),
    );
    expect(await localeOf(id)).toBe('vi');
    await users.applyClerkEvent(
      clerkEvent('user.updated', id, 8000, { public_metadata: { locale: 'en' } }),
    );
    expect(await localeOf(id)).toBe('en');
    // An older event arriving late changes nothing.
    await users.applyClerkEvent(
      clerkEvent('user.updated', id, 7500, { unsafe_metadata: { locale: 'vi' } }),
    );
    expect(await localeOf(id)).toBe('en');

    // A user first seen through Clerk gets Clerk's locale at once.
    await users.applyClerkEvent(
      clerkEvent('user.created', 'user_loc3', 1000, { unsafe_metadata: { locale: 'en' } }),
    );
    expect(await localeOf('user_loc3')).toBe('en');
  });

  it('gives contacts of known users in the order asked, once each, and none of a deleted user', async () => {
    await users.applyClerkEvent(
      clerkEvent('user.created', 'user_c1', 1000, {
        first_name: 'Chi',
        primary_email_address_id: 'e1',
        email_addresses: [{ id: 'e1', email_address: 'chi@x.example' }],
        public_metadata: { locale: 'en' },
      }),
    );
    await users.ensure({ ...me('user_c2'), email: 'dung@x.example' });
    await users.applyClerkEvent(
      clerkEvent('user.created', 'user_c3', 1000, {
        first_name: 'Gone',
        primary_email_address_id: 'e1',
        email_addresses: [{ id: 'e1', email_address: 'gone@x.example' }],
      }),
    );
    await users.applyClerkEvent(clerkEvent('user.deleted', 'user_c3', 2000));

    expect(
      await users.contacts(['user_c2', 'user_unknown', 'user_c1', 'user_c3', 'user_c2']),
    ).toEqual([
      { id: 'user_c2', email: 'dung@x.example', name: null, locale: 'vi' },
      { id: 'user_c1', email: 'chi@x.example', name: 'Chi', locale: 'en' },
      { id: 'user_c3', email: null, name: null, locale: 'vi' },
    ]);
    expect(await users.contacts(['user_nobody'])).toEqual([]);
  });
});
