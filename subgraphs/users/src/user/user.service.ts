import { Brackets, In, type DataSource, type Repository } from 'typeorm';
import type { UserContact } from '../../../../runtime/contracts/user-contacts';
import { AppError } from '../../../../runtime/errors';
import type { Identity } from '../../../../runtime/identity';
import { byKeys } from '../../../../runtime/loaders';
import { decodeCursor, toConnection, type Connection } from '../../../../runtime/pagination';
import { clerkId, clerkUpdatedAt, profileFromClerk, type ClerkEvent } from './clerk-events';
import { validateLocale, validateName, validatePhone } from './profile.validation';
import { User } from './user.entity';
import type { UpdateProfileInput } from './user.inputs';
import type { Role } from '../../../../runtime/identity';

export type ClerkEventOutcome = 'applied' | 'duplicate' | 'ignored';

export class UserService {
  private readonly users: Repository<User>;

  constructor(private readonly dataSource: DataSource) {
    this.users = dataSource.getRepository(User);
  }

  async byIds(ids: readonly string[]): Promise<(User | null)[]> {
    const rows = await this.users.findBy({ id: In([...ids]) });
    return byKeys(ids, rows, (row) => row.id);
  }

  /**
   * The caller's row, created on first sight. INSERT ... ON CONFLICT DO NOTHING makes
   * concurrent first requests create exactly one row; the role follows the token.
   */
  async ensure(identity: Identity & { userId: string }): Promise<User> {
    await this.users
      .createQueryBuilder()
      .insert()
      .values({
        id: identity.userId,
        email: identity.email ?? null,
        role: identity.role ?? 'CUSTOMER',
      })
      .orIgnore()
      .execute();
    const user = await this.users.findOneByOrFail({ id: identity.userId });
    if (user.deletedAt) {
      // Clerk deleted this user; a token minted before that must not bring data back.
      throw new AppError('UNAUTHENTICATED', 'This account was deleted');
    }
    if (identity.role && user.role !== identity.role) {
      await this.users.update({ id: user.id }, { role: identity.role });
      user.role = identity.role;
    }
    return user;
  }

  /** Validates every given field first (nothing is written when one is bad), then saves. */
  async updateProfile(identity: Identity & { userId: string }, input: UpdateProfileInput) {
    const changes: Partial<Pick<User, 'name' | 'phone' | 'locale'>> = {};
    if (input.name !== undefined && input.name !== null) changes.name = validateName(input.name);
    if (input.phone !== undefined && input.phone !== null)
      changes.phone = validatePhone(input.phone);
    if (input.locale !== undefined && input.locale !== null) {
      changes.locale = validateLocale(input.locale);
    }
    const user = await this.ensure(identity);
    if (Object.keys(changes).length === 0) return user;
    await this.users.update({ id: user.id }, changes);
    return this.users.findOneByOrFail({ id: user.id });
  }

  /**
   * How to reach each known user among `userIds`, in the order asked (each once); unknown
   * ids are left out. A deleted user keeps its row (bookings name it) but no email or name:
   * nobody is written to after Clerk deleted them.
   */
  async contacts(userIds: readonly string[]): Promise<UserContact[]> {
    const unique = [...new Set(userIds)];
    const rows = await this.users.findBy({ id: In(unique) });
    const byId = new Map(rows.map((row) => [row.id, row]));
    return unique.flatMap((id) => {
      const user = byId.get(id);
      if (!user) return [];
      const erased = user.deletedAt !== null;
      return [
        {
          id: user.id,
          email: erased ? null : user.email,
          name: erased ? null : user.name,
          locale: user.locale,
        },
      ];
    });
  }

  /** Admin search by part of the name, email or id; newest first. */
  async search(
    filter: { search?: string | null; role?: Role | null },
    first: number,
    after?: string | null,
  ): Promise<Connection<User>> {
    const qb = this.users.createQueryBuilder('u').where('u.deleted_at IS NULL');
    if (filter.search) {
      const like = `%${filter.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      qb.andWhere(
        new Brackets((w) =>
          w
            .where('u.name ILIKE :like', { like })
            .orWhere('u.email ILIKE :like')
            .orWhere('u.id ILIKE :like'),
        ),
      );
    }
    if (filter.role) qb.andWhere('u.role = :role', { role: filter.role });
    const totalCount = await qb.clone().getCount();
    const cursor = decodeCursor(after, ['timestamp', 'uuid']);
    if (cursor) {
      qb.andWhere(
        new Brackets((w) =>
          w
            .where('u.created_at < :ca', { ca: cursor[0] })
            .orWhere('(u.created_at = :ca AND u.id > :cid)', { cid: cursor[1] }),
        ),
      );
    }
    const rows = await qb
      .orderBy('u.created_at', 'DESC')
      .addOrderBy('u.id', 'ASC')
      .limit(first + 1)
      .getMany();
    return toConnection(rows, first, totalCount, (u) => [u.createdAt.toISOString(), u.id]);
  }

  /**
   * Applies one Clerk webhook event exactly once: the event id is recorded in the same
   * transaction as the change, so a replay (or a concurrent duplicate delivery) changes nothing.
   */
  async applyClerkEvent(event: ClerkEvent): Promise<ClerkEventOutcome> {
    // Ids that cannot be stored (too long, a NUL) are no event of Clerk's: ignored, not
    // failed (a failure would be delivered again for a day).
    const userId = clerkId(event.data.id);
    if (
      !userId ||
      clerkId(event.id) === null ||
      !['user.created', 'user.updated', 'user.deleted'].includes(event.type)
    ) {
      return 'ignored';
    }
    return this.dataSource.transaction(async (tx) => {
      const recorded: unknown[] = await tx.query(
        `INSERT INTO clerk_events (id, type, user_id) VALUES ($1, $2, $3)
         ON CONFLICT (id) DO NOTHING RETURNING id`,
        [event.id, event.type, userId],
      );
      if (recorded.length === 0) return 'duplicate';
      if (event.type === 'user.deleted') {
        // Personal data goes; the row stays as a tombstone so bookings keep their owner id.
        // A repeated deletion (a replay after its id was pruned) keeps the first one's time.
        await tx.query(
          `INSERT INTO users (id, email, name, phone, deleted_at) VALUES ($1, NULL, NULL, NULL, now())
           ON CONFLICT (id) DO UPDATE
           SET email = NULL, name = NULL, phone = NULL,
               deleted_at = COALESCE(users.deleted_at, now()), updated_at = now()`,
          [userId],
        );
        return 'applied';
      }
      const profile = profileFromClerk(event.data);
      // Clerk owns the email and the role; name and phone are the user's to edit here
      // (updateProfile), so Clerk only fills them in when empty. The locale can be chosen in
      // both places: Clerk's applies when it changes there (or is the first one seen), so a
      // later Clerk event about something else never undoes a choice made here. A late
      // (older) delivery and any update of a deleted user change nothing.
      await tx.query(
        `INSERT INTO users (id, email, name, phone, role, clerk_updated_at, locale, clerk_locale)
         VALUES ($1, $2, $3, $4, COALESCE($5, 'CUSTOMER'), $6, COALESCE($7::text, 'vi'), $7::text)
         ON CONFLICT (id) DO UPDATE
         SET email = EXCLUDED.email,
             name = COALESCE(users.name, EXCLUDED.name),
             phone = COALESCE(users.phone, EXCLUDED.phone),
             role = COALESCE($5, users.role),
             locale = CASE WHEN $7::text IS DISTINCT FROM users.clerk_locale
                           THEN COALESCE($7::text, users.locale) ELSE users.locale END,
             clerk_locale = COALESCE($7::text, users.clerk_locale),
             clerk_updated_at = EXCLUDED.clerk_updated_at,
             updated_at = now()
         WHERE users.deleted_at IS NULL
           AND (users.clerk_updated_at IS NULL OR EXCLUDED.clerk_updated_at IS NULL
                OR users.clerk_updated_at <= EXCLUDED.clerk_updated_at)`,
        [
          userId,
          profile.email,
          profile.name,
          profile.phone,
          profile.role,
          clerkUpdatedAt(event.data),
          profile.locale,
        ],
      );
      return 'applied';
    });
  }
}
