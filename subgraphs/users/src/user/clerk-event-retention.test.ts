import type { DataSource } from 'typeorm';
import { pruneExpiredRows } from '../../../../runtime/events/retention';
import { createLogger } from '../../../../runtime/logger';
import { openSubgraphDatabase } from '../../../../runtime/subgraph-server';
import { dropTestDatabases, testConfig } from '../../../../tests/support/test-config';
import { usersSubgraph } from '../schema';
import { CLERK_EVENTS_RETENTION, type ClerkEvent } from './clerk-events';
import { UserService } from './user.service';

const log = createLogger('clerk-retention-test', 'silent');
const HOUR = 3_600_000;
const RETENTION = 168 * HOUR;

/** A Clerk user event as the gateway relays it; `updatedAt` is Clerk's own clock (ms). */
const clerkEvent = (
  id: string,
  type: ClerkEvent['type'],
  userId: string,
  updatedAt: number,
  email?: string,
): ClerkEvent => ({
  id,
  type,
  data: {
    id: userId,
    updated_at: updatedAt,
    primary_email_address_id: 'idn_1',
    email_addresses: email ? [{ id: 'idn_1', email_address: email }] : [],
  },
});

describe('Clerk event ids after the retention', () => {
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

  const prune = () =>
    pruneExpiredRows(dataSource, CLERK_EVENTS_RETENTION, RETENTION, {
      now: () => Date.now() + RETENTION + HOUR,
    });
  const user = async (id: string) =>
    (
      await dataSource.query('SELECT email, deleted_at AS "deletedAt" FROM users WHERE id = $1', [
        id,
      ])
    )[0] as { email: string | null; deletedAt: Date | null };

  it('are pruned, and a late replay of an older event still changes nothing', async () => {
    const created = clerkEvent('msg_c1', 'user.created', 'user_r1', 1000, 'old@x.example');
    const updated = clerkEvent('msg_u1', 'user.updated', 'user_r1', 2000, 'new@x.example');
    expect(await users.applyClerkEvent(created)).toBe('applied');
    expect(await users.applyClerkEvent(updated)).toBe('applied');
    expect(await users.applyClerkEvent(created)).toBe('duplicate');

    expect(await prune()).toBe(2);
    expect(await dataSource.query('SELECT id FROM clerk_events')).toEqual([]);

    // The ledger no longer knows these ids: order still comes from Clerk's updated_at.
    await users.applyClerkEvent(created);
    expect((await user('user_r1')).email).toBe('new@x.example');
    await users.applyClerkEvent(updated);
    expect((await user('user_r1')).email).toBe('new@x.example');
  });

  it('are pruned, and a replayed deletion keeps the first deletion and brings nothing back', async () => {
    await users.applyClerkEvent(
      clerkEvent('msg_c2', 'user.created', 'user_r2', 1000, 'a@x.example'),
    );
    const deleted = clerkEvent('msg_d2', 'user.deleted', 'user_r2', 3000);
    await users.applyClerkEvent(deleted);
    const first = (await user('user_r2')).deletedAt;
    expect(first).toBeInstanceOf(Date);

    await prune();
    await users.applyClerkEvent(deleted);
    await users.applyClerkEvent(
      clerkEvent('msg_u2', 'user.updated', 'user_r2', 4000, 'back@x.example'),
    );
    expect(await user('user_r2')).toEqual({ email: null, deletedAt: first });
  });
});
