import {
  activeApiKeyRecord,
  apiKeyHash,
  apiKeyRecordKey,
  isWellFormedApiKey,
} from '../../../runtime/contracts/api-keys';
import { AppError } from '../../../runtime/errors';
import { isRedisUnavailable, type RedisClient } from '../../../runtime/redis';
import {
  REFUSED,
  type AccessDecision,
  type ApiKeyVerifier,
  type PartnerAccess,
} from './partner-access';
import { ADMIT_LUA } from './partner-access.scripts';
import { rateLimitState } from './token-bucket';

type ScriptReply = Array<string | number>;

/** The script as an ioredis `defineCommand` method (EVALSHA, falling back to EVAL). */
interface PartnerAccessCommands {
  moviehubPartnerAdmit(
    record: string,
    bucket: string,
    now: number,
    fallback: string,
  ): Promise<ScriptReply>;
}

/**
 * Partner access through Redis, for any number of gateway instances: one script reads the
 * key's record and takes a token from its bucket (`partner-access.scripts.ts`). Only a key
 * Redis has no record of costs more: the users subgraph is asked (and writes the record for
 * the next requests), then the script runs again with its answer.
 */
export class RedisPartnerAccess implements PartnerAccess {
  private readonly redis: RedisClient & PartnerAccessCommands;

  constructor(
    redis: RedisClient,
    private readonly keyPrefix: string,
    private readonly verify: ApiKeyVerifier,
  ) {
    this.redis = redis as RedisClient & PartnerAccessCommands;
    if (!('moviehubPartnerAdmit' in redis)) {
      redis.defineCommand('moviehubPartnerAdmit', { numberOfKeys: 2, lua: ADMIT_LUA });
    }
  }

  async admit(key: string, now: number, requestId?: string): Promise<AccessDecision> {
    if (!isWellFormedApiKey(key)) return REFUSED;
    const hash = apiKeyHash(key);
    let reply = await this.run(hash, now, '');
    if (reply[0] === 'MISS') {
      const found = await this.verify(hash, requestId);
      if (!found) return REFUSED;
      reply = await this.run(hash, now, activeApiKeyRecord(found.id, found.requestsPerMinute));
    }
    if (reply[0] !== 'OK') return REFUSED;
    const [, apiKeyId, capacity, admitted, tokens] = reply;
    return {
      kind: Number(admitted) === 1 ? 'admitted' : 'limited',
      apiKeyId: String(apiKeyId),
      rate: rateLimitState(Number(capacity), Number(tokens)),
    };
  }

  private async run(hash: string, now: number, fallback: string): Promise<ScriptReply> {
    const record = apiKeyRecordKey(this.keyPrefix, hash);
    try {
      return await this.redis.moviehubPartnerAdmit(record, this.bucketKey(hash), now, fallback);
    } catch (err) {
      if (!isRedisUnavailable(err)) throw err;
      throw new AppError('SERVICE_UNAVAILABLE', 'API keys cannot be checked right now; retry', {
        serviceName: 'redis',
      });
    }
  }

  /** The key's bucket: the record's hash tag, so both are in one cluster slot. */
  private bucketKey(hash: string): string {
    return `${this.keyPrefix}api-key-bucket:{${hash}}`;
  }
}
