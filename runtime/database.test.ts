import { createServer, type AddressInfo, type Server } from 'node:net';
import { GraphQLError } from 'graphql';
import { Client } from 'pg';
import { QueryFailedError } from 'typeorm';
import { testDatabaseUrl } from '../tests/support/services';
import { testConfig } from '../tests/support/test-config';
import { isDatabaseUnavailable } from './database';
import { subgraphErrorFormatter } from './subgraph-server';

/** What pg throws for `sql` on a fresh connection to `url` (the connection's error if none). */
async function failureOf(url: string, sql = 'SELECT 1'): Promise<Error> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query(sql);
  } catch (error) {
    return error as Error;
  } finally {
    await client.end().catch(() => {});
  }
  throw new Error(`expected ${sql} to fail`);
}

/** A TCP server on a free port that hangs up on every connection at once. */
async function hangingUp(): Promise<Server> {
  const server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

describe('isDatabaseUnavailable', () => {
  it('says yes to what pg throws when PostgreSQL is gone, down or unreachable', async () => {
    const server = await hangingUp();
    const { port } = server.address() as AddressInfo;
    try {
      const hungUp = await failureOf(`postgres://postgres@127.0.0.1:${port}/postgres`);
      expect(hungUp.message).toMatch(/Connection terminated/);
      expect(isDatabaseUnavailable(hungUp)).toBe(true);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    // The port is free again: nothing listens.
    const refused = await failureOf(`postgres://postgres@127.0.0.1:${port}/postgres`);
    expect(isDatabaseUnavailable(refused)).toBe(true);
    // The server ends the session (a restart, a failover): SQLSTATE 57P01.
    const terminated = await failureOf(
      testDatabaseUrl,
      'SELECT pg_terminate_backend(pg_backend_pid())',
    );
    expect((terminated as { code?: string }).code).toBe('57P01');
    expect(isDatabaseUnavailable(terminated)).toBe(true);
    // As TypeORM wraps it, and as Apollo hands it to formatError.
    const wrapped = new QueryFailedError('SELECT 1', [], terminated);
    expect(isDatabaseUnavailable(wrapped)).toBe(true);
  });

  it('says no to a statement PostgreSQL refused, and to anything else', async () => {
    const syntax = await failureOf(testDatabaseUrl, 'SELEKT 1');
    expect((syntax as { code?: string }).code).toBe('42601');
    expect(isDatabaseUnavailable(syntax)).toBe(false);
    expect(isDatabaseUnavailable(new QueryFailedError('SELEKT 1', [], syntax))).toBe(false);
    expect(isDatabaseUnavailable(new Error('boom'))).toBe(false);
    expect(isDatabaseUnavailable('ECONNREFUSED')).toBe(false);
    expect(isDatabaseUnavailable(undefined)).toBe(false);
  });
});

describe('subgraphErrorFormatter', () => {
  const format = subgraphErrorFormatter(testConfig({ NODE_ENV: 'production' }));

  it('answers a lost database with a retryable SERVICE_UNAVAILABLE, without its message', async () => {
    const terminated = await failureOf(
      testDatabaseUrl,
      'SELECT pg_terminate_backend(pg_backend_pid())',
    );
    const error = new GraphQLError(terminated.message, {
      path: ['movie'],
      originalError: new QueryFailedError('SELECT secret FROM t', [], terminated),
    });
    const formatted = format(error.toJSON(), error);
    expect(formatted).toEqual({
      message: 'The database cannot be reached now; try again shortly',
      path: ['movie'],
      extensions: { code: 'SERVICE_UNAVAILABLE' },
    });
    // Anything else stays masked as before.
    const bug = new GraphQLError('boom', { originalError: new Error('boom') });
    expect(format(bug.toJSON(), bug)).toMatchObject({
      message: 'Internal server error',
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
  });
});
