/** Where the tests find PostgreSQL and Redis: the standard local ports unless told otherwise. */
export const testDatabaseUrl =
  process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
export const testRedisUrl = process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379';
