import { AsyncLocalStorage } from 'node:async_hooks';
import { Client } from 'pg';
import {
  DataSource,
  MigrationExecutor,
  type Logger as TypeOrmLogger,
  type MixedList,
} from 'typeorm';
import type { Logger } from './logger';
import { SOCKET_UNREACHABLE_CODES } from './socket-errors';

/** Identifiers we interpolate into DDL are checked, never quoted blindly. */
const SAFE_IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

function databaseName(url: string): string {
  const name = decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
  if (!SAFE_IDENTIFIER.test(name)) throw new Error(`Unsafe database name "${name}"`);
  return name;
}

function maintenanceUrl(url: string): string {
  const u = new URL(url);
  u.pathname = '/postgres';
  return u.toString();
}

async function withMaintenanceClient<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: maintenanceUrl(url) });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates the database of `url` when it does not exist; safe when several processes race. */
export async function ensureDatabase(url: string): Promise<void> {
  const name = databaseName(url);
  // Usually it exists: then the maintenance database (which managed servers may not let us
  // reach) is never needed.
  const probe = new Client({ connectionString: url });
  try {
    await probe.connect();
    return;
  } catch (err) {
    if ((err as { code?: string }).code !== '3D000') throw err; // 3D000: no such database
  } finally {
    await probe.end().catch(() => {});
  }
  await withMaintenanceClient(url, async (client) => {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount) return;
    try {
      await client.query(`CREATE DATABASE "${name}"`);
    } catch (err) {
      // 42P04 duplicate_database, 23505 unique_violation: another process won the race.
      const code = (err as { code?: string }).code;
      if (code !== '42P04' && code !== '23505') throw err;
    }
  });
}

/** Drops the database of `url` (tests), closing whatever still holds it. */
export async function dropDatabase(url: string): Promise<void> {
  const name = databaseName(url);
  await withMaintenanceClient(url, async (client) => {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  });
}

/**
 * Marks the work done for one GraphQL request: statements sent inside it are counted,
 * those of background work (outbox relays, event consumers) are not.
 */
export const requestScope = new AsyncLocalStorage<true>();

/** Counts the SQL statements a DataSource sends while serving requests (N+1 tests read it). */
export class QueryCounter {
  count = 0;
  reset(): void {
    this.count = 0;
  }
}

class PinoTypeOrmLogger implements TypeOrmLogger {
  constructor(
    private readonly logger: Logger,
    private readonly counter?: QueryCounter,
  ) {}
  logQuery(): void {
    if (this.counter && requestScope.getStore()) this.counter.count += 1;
  }
  logQueryError(error: string | Error, query: string): void {
    this.logger.warn({ err: error, query }, 'query failed');
  }
  logQuerySlow(time: number, query: string): void {
    this.logger.warn({ time, query }, 'slow query');
  }
  logSchemaBuild(): void {}
  logMigration(message: string): void {
    this.logger.info({ migration: message }, 'migration');
  }
  log(level: 'log' | 'info' | 'warn', message: unknown): void {
    if (level === 'warn') this.logger.warn({ typeorm: message }, 'typeorm warning');
  }
}

/** An entity or migration class, as TypeORM takes them. */
export type ClassType = new (...args: never[]) => unknown;

export interface DataSourceOptions {
  url: string;
  entities: MixedList<ClassType>;
  migrations: MixedList<ClassType>;
  log: Logger;
  poolSize?: number;
  counter?: QueryCounter;
  /**
   * PostgreSQL `statement_timeout` of every connection, in milliseconds (0 or absent: none).
   * A statement past it is cancelled (SQLSTATE 57014, see {@link isStatementTimeout}).
   */
  statementTimeoutMs?: number;
}

/** SQLSTATE 57014 (query_canceled): what PostgreSQL answers when statement_timeout fires. */
export function isStatementTimeout(error: unknown): boolean {
  const e = error as { code?: unknown; driverError?: { code?: unknown } } | null;
  return e?.code === '57014' || e?.driverError?.code === '57014';
}

/**
 * SQLSTATEs that say the database cannot serve now, whatever was asked: class 08 (connection
 * exception), 53300 (too many connections), 57P01–57P03 (shut down, crashed, starting up).
 */
const UNAVAILABLE_STATES = /^(08...|53300|57P0[123])$/;

/** What pg and Node's sockets say when the connection is gone or cannot be made. */
const UNREACHABLE = new RegExp(
  '^Connection terminated|timeout exceeded when trying to connect|' +
    'Client has encountered a connection error|Client was closed and is not queryable|' +
    `Cannot use a pool after calling end|${SOCKET_UNREACHABLE_CODES}`,
);

/**
 * Whether `error` (pg's, or TypeORM's wrapping it) says PostgreSQL cannot be reached or is
 * not serving now, as opposed to a bug or a refused statement: callers answer those with a
 * retryable `SERVICE_UNAVAILABLE` rather than an internal error.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  // Duck-typed: errors from Node's own modules may come from another realm (`instanceof`).
  let e = error;
  for (let depth = 0; typeof e === 'object' && e !== null && depth < 4; depth++) {
    const { code, message, driverError, cause } = e as Record<string, unknown>;
    if (typeof code === 'string' && (UNAVAILABLE_STATES.test(code) || UNREACHABLE.test(code))) {
      return true;
    }
    if (typeof message === 'string' && UNREACHABLE.test(message)) return true;
    e = driverError ?? cause;
  }
  return false;
}

/** A subgraph's TypeORM DataSource: schema changes only through migrations, never synchronize. */
export function createDataSource(options: DataSourceOptions): DataSource {
  return new DataSource({
    type: 'postgres',
    url: options.url,
    entities: options.entities,
    migrations: options.migrations,
    synchronize: false,
    migrationsRun: false,
    logging: ['query', 'error', 'warn', 'migration'],
    logger: new PinoTypeOrmLogger(options.log, options.counter),
    maxQueryExecutionTime: 500,
    extra: {
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: 5000,
      // Sent at connection start-up, so every pooled connection has it from its first statement.
      ...(options.statementTimeoutMs ? { statement_timeout: options.statementTimeoutMs } : {}),
    },
  });
}

/** Arbitrary but fixed: the advisory lock that serialises migrations across instances. */
const MIGRATION_LOCK_KEY = 7_240_117;

/**
 * Runs pending migrations under a Postgres advisory lock, so instances that start together
 * never apply the same migration twice. They run on one connection without the
 * statement timeout: waiting for another instance's lock, or building an index on a large
 * table, may rightly take longer than any request should.
 */
export async function runMigrations(ds: DataSource): Promise<string[]> {
  const runner = ds.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SET statement_timeout = 0');
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    const executor = new MigrationExecutor(ds, runner);
    executor.transaction = 'each';
    const applied = await executor.executePendingMigrations();
    return applied.map((m) => m.name);
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {});
    // Back to the connection's start-up setting before it returns to the pool.
    await runner.query('RESET statement_timeout').catch(() => {});
    await runner.release();
  }
}
