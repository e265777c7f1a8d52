import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The language a user's mail is written in (`USER_LOCALES`), `vi` until the user or Clerk
 * says otherwise, and the last one Clerk's metadata named: Clerk's value is applied only when
 * it changes there, so an unrelated Clerk update never undoes a choice made through
 * `updateProfile` (see `UserService.applyClerkEvent`).
 */
export class UserLocale1733300000000 implements MigrationInterface {
  name = 'UserLocale1733300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE users
        ADD COLUMN locale text NOT NULL DEFAULT 'vi'
          CONSTRAINT users_locale_check CHECK (locale IN ('vi', 'en')),
        ADD COLUMN clerk_locale text
          CONSTRAINT users_clerk_locale_check CHECK (clerk_locale IN ('vi', 'en'))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE users DROP COLUMN clerk_locale, DROP COLUMN locale');
  }
}
