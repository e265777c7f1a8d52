import { createHash } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { GraphQLError } from 'graphql';
import { AppError, badUserInput, ERROR_CODES, type ErrorCode } from '../../../../runtime/errors';

/** The HTTP header a client sends; the gateway forwards it to the subgraphs. */
export const IDEMPOTENCY_HEADER = 'idempotency-key';

/** How long a key answers with its first result. */
export const IDEMPOTENCY_TTL_HOURS = 24;

/**
 * A claim whose owner has not finished after this long is taken to be dead (its process
 * crashed before answering) and may be taken over by a retry. Far beyond any request: the
 * statements and the call to cinemas each time out within seconds.
 */
export const IDEMPOTENCY_LEASE_SECONDS = 60;

/** Printable ASCII, as HTTP header values are; long enough for a UUID or a ULID with a prefix. */
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** Who is retrying what: the key is the client's, and means something only for this user and operation. */
export interface IdempotencyScope {
  userId: string;
  key: string;
  /** The mutation's name (`createBooking`, `cancelBooking`, ...). */
  operation: string;
  /** The mutation's arguments: a retry must send the same ones. */
  request: unknown;
}

/** Stores the answer to replay, in the transaction that makes the change. */
export type AnswerRecorder<A> = (manager: EntityManager, answer: A) => Promise<void>;

interface StoredError {
  code: ErrorCode;
  message: string;
  extensions: Record<string, unknown>;
}

type Stored<A> = { answer: A } | { error: StoredError };

interface KeyRow {
  request_hash: string;
  status: 'RUNNING' | 'DONE';
  response: Stored<unknown> | null;
  locked_until: Date;
}

/**
 * Idempotency keys of the booking mutations (`Idempotency-Key` header): the first request
 * with a key claims it; a retry with the same key and the same arguments gets the first
 * answer for 24 hours; a retry while the first is still running is refused with a coded
 * error (`RATE_LIMITED` with `retryAfter` and reason `IDEMPOTENCY_KEY_IN_USE`: try again in a
 * moment), never run a second time; the same key with other arguments is BAD_USER_INPUT
 * (reason `IDEMPOTENCY_KEY_REUSED`).
 *
 * The claim is committed on its own first (so a concurrent retry sees it at once); the answer
 * is written by the operation inside its own transaction (`AnswerRecorder`), so a booking and
 * the answer naming it commit together: there is no moment where the booking exists and a
 * retry would make another. A coded refusal (SEATS_NOT_HELD ...) is an answer too and is
 * replayed; an outage or a bug is not: the claim is dropped and a retry runs again.
 */
export class IdempotencyService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /**
   * Runs `work` once per key. Without a key (`scope.key` null) it just runs `work`. `replay`
   * turns a stored answer into the operation's result (re-reading the booking it names).
   */
  async run<A, T>(
    scope: Omit<IdempotencyScope, 'key'> & { key: string | null | undefined },
    work: (remember: AnswerRecorder<A>) => Promise<T>,
    replay: (answer: A) => Promise<T>,
  ): Promise<T> {
    if (scope.key === null || scope.key === undefined) return work(async () => {});
    const key = scope.key;
    if (!KEY_PATTERN.test(key)) {
      throw badUserInput(
        'Idempotency-Key',
        'The Idempotency-Key header must be 1 to 255 printable ASCII characters',
      );
    }
    const hash = requestHash(scope.operation, scope.request);
    const ids = [scope.userId, scope.operation, key] as const;
    const existing = await this.claim(ids, hash);
    if (existing) {
      if (existing.request_hash !== hash) {
        throw new AppError(
          'BAD_USER_INPUT',
          'This Idempotency-Key was used for a different request; use a new key for a new request',
          { field: 'Idempotency-Key', reason: 'IDEMPOTENCY_KEY_REUSED' },
        );
      }
      if (existing.status === 'RUNNING') {
        throw new AppError(
          'RATE_LIMITED',
          'A request with this Idempotency-Key is still being processed; retry shortly',
          { retryAfter: 1, reason: 'IDEMPOTENCY_KEY_IN_USE' },
        );
      }
      const stored = existing.response as Stored<A>;
      if ('error' in stored)
        throw new AppError(stored.error.code, stored.error.message, stored.error.extensions);
      return replay(stored.answer);
    }

    let recorded = false;
    const remember: AnswerRecorder<A> = async (manager, answer) => {
      await this.finish(manager, ids, { answer });
      recorded = true;
    };
    try {
      const result = await work(remember);
      // An operation that answered without recording (a bug): nothing to replay, so no claim.
      if (!recorded) await this.release(ids);
      return result;
    } catch (err) {
      const refusal = replayableError(err);
      if (refusal) await this.finish(this.dataSource.manager, ids, { error: refusal });
      else await this.release(ids);
      throw err;
    }
  }

  /**
   * Claims the key (null: it is ours now), or returns the row that holds it. A claim older
   * than the TTL, or a RUNNING one past its lease, is taken over in the same statement.
   */
  private async claim(
    ids: readonly [string, string, string],
    hash: string,
  ): Promise<KeyRow | null> {
    const now = this.clock();
    const lease = new Date(now.getTime() + IDEMPOTENCY_LEASE_SECONDS * 1000);
    const stale = new Date(now.getTime() - IDEMPOTENCY_TTL_HOURS * 3_600_000);
    const claimed: unknown[] = await this.dataSource.query(
      `INSERT INTO idempotency_keys (user_id, operation, key, request_hash, status, locked_until, created_at)
       VALUES ($1, $2, $3, $4, 'RUNNING', $5, $6)
       ON CONFLICT (user_id, operation, key) DO UPDATE
         SET request_hash = EXCLUDED.request_hash, status = 'RUNNING', response = NULL,
             locked_until = EXCLUDED.locked_until, created_at = EXCLUDED.created_at
       WHERE idempotency_keys.created_at < $7
          OR (idempotency_keys.status = 'RUNNING' AND idempotency_keys.locked_until < $6
              AND idempotency_keys.request_hash = EXCLUDED.request_hash)
       RETURNING key`,
      [...ids, hash, lease, now, stale],
    );
    if (claimed.length === 1) return null;
    const rows: KeyRow[] = await this.dataSource.query(
      `SELECT request_hash, status, response, locked_until FROM idempotency_keys
        WHERE user_id = $1 AND operation = $2 AND key = $3`,
      [...ids],
    );
    // Gone between the two statements (pruned): claim again.
    return rows[0] ?? this.claim(ids, hash);
  }

  private async finish(
    manager: EntityManager,
    ids: readonly [string, string, string],
    stored: Stored<unknown>,
  ): Promise<void> {
    await manager.query(
      `UPDATE idempotency_keys SET status = 'DONE', response = $4::jsonb
        WHERE user_id = $1 AND operation = $2 AND key = $3`,
      [...ids, JSON.stringify(stored)],
    );
  }

  private async release(ids: readonly [string, string, string]): Promise<void> {
    await this.dataSource.query(
      `DELETE FROM idempotency_keys WHERE user_id = $1 AND operation = $2 AND key = $3 AND status = 'RUNNING'`,
      [...ids],
    );
  }
}

/** The hash of a request: the operation and its arguments in a canonical JSON form. */
export function requestHash(operation: string, request: unknown): string {
  return createHash('sha256')
    .update(`${operation}\n${canonicalJson(request)}`)
    .digest('hex');
}

/** JSON with object keys sorted and undefined dropped: equal arguments, equal text. */
export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Codes that describe the request, not the moment: the same request would get them again. */
const TRANSIENT: ReadonlySet<string> = new Set([
  'SERVICE_UNAVAILABLE',
  'INTERNAL_SERVER_ERROR',
  'RATE_LIMITED',
]);

function replayableError(err: unknown): StoredError | null {
  if (!(err instanceof GraphQLError)) return null;
  const code = err.extensions?.code;
  if (typeof code !== 'string' || !(code in ERROR_CODES) || TRANSIENT.has(code)) return null;
  const { code: _code, ...extensions } = err.extensions as Record<string, unknown>;
  return { code: code as ErrorCode, message: err.message, extensions };
}
