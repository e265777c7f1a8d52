import type { RedisClient } from '../../../../runtime/redis';
import {
  activeApiKeyRecord,
  apiKeyRecordKey,
  REVOKED_API_KEY_RECORD,
  UNKNOWN_API_KEY_RECORD,
  UNKNOWN_API_KEY_TTL_SECONDS,
} from '../../../../runtime/contracts/api-keys';
import { AppError } from '../../../../runtime/errors';
import type { Logger } from '../../../../runtime/logger';

/** A key as the database has it, as far as the gateways need it. */
export interface StoredApiKey {
  readonly id: string;
  readonly requestsPerMinute: number;
  readonly revoked: boolean;
}

/**
 * Where the gateways read keys from: the Redis records of `runtime/contracts/api-keys.ts`,
 * written here only. The database stays the truth; these records are what the gateways check
 * in the same round trip as a key's rate limit.
 */
export interface ApiKeyRegistry {
  /** A key was issued. Not thrown on failure: the first verification writes it instead. */
  issued(hash: string, id: string, requestsPerMinute: number): Promise<void>;
  /**
   * A key was revoked: every gateway refuses it from the next request on. Throws
   * SERVICE_UNAVAILABLE when Redis cannot be told (revoking again finishes the job).
   */
  revoked(hash: string): Promise<void>;
  /**
   * What the database says of a hash (null: no such key), written only where Redis has no
   * record: a revocation written in between always wins.
   */
  remember(hash: string, key: StoredApiKey | null): Promise<void>;
}

/** Without Redis (the embedded default) the gateway asks the database every time. */
export const NO_API_KEY_REGISTRY: ApiKeyRegistry = {
  issued: () => Promise.resolve(),
  revoked: () => Promise.resolve(),
  remember: () => Promise.resolve(),
};

export class RedisApiKeyRegistry implements ApiKeyRegistry {
  constructor(
    private readonly redis: RedisClient,
    private readonly keyPrefix: string,
    private readonly log: Pick<Logger, 'warn'>,
  ) {}

  async issued(hash: string, id: string, requestsPerMinute: number): Promise<void> {
    try {
      await this.redis.set(this.key(hash), activeApiKeyRecord(id, requestsPerMinute));
    } catch (err) {
      this.log.warn({ err, apiKeyId: id }, 'api key issued, but not written to Redis yet');
    }
  }

  async revoked(hash: string): Promise<void> {
    try {
      await this.redis.set(this.key(hash), REVOKED_API_KEY_RECORD);
    } catch {
      throw new AppError(
        'SERVICE_UNAVAILABLE',
        'The key is revoked, but the gateways could not be told yet: revoke it again',
        { serviceName: 'users' },
      );
    }
  }

  async remember(hash: string, key: StoredApiKey | null): Promise<void> {
    if (!key) {
      await this.redis.set(
        this.key(hash),
        UNKNOWN_API_KEY_RECORD,
        'EX',
        UNKNOWN_API_KEY_TTL_SECONDS,
        'NX',
      );
      return;
    }
    const record = key.revoked
      ? REVOKED_API_KEY_RECORD
      : activeApiKeyRecord(key.id, key.requestsPerMinute);
    await this.redis.set(this.key(hash), record, 'NX');
  }

  private key(hash: string): string {
    return apiKeyRecordKey(this.keyPrefix, hash);
  }
}
