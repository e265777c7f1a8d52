import { apiKeyHash, isWellFormedApiKey } from '../../../runtime/contracts/api-keys';
import { LruCache } from '../../../runtime/lru-cache';
import {
  REFUSED,
  type AccessDecision,
  type ApiKeyVerifier,
  type PartnerAccess,
} from './partner-access';
import { rateLimitState, takeToken, type BucketState } from './token-bucket';

/** Buckets kept: one per key in use (only valid keys get one), far more than partners. */
const BUCKETS_KEPT = 10_000;

/**
 * The embedded default's partner access: one gateway, no Redis. Every request asks the users
 * subgraph about its key (in the same process, by its internal route), so a revoked key is
 * refused from the next request on; the buckets live here.
 */
export class MemoryPartnerAccess implements PartnerAccess {
  private readonly buckets = new LruCache<string, BucketState>(BUCKETS_KEPT);

  constructor(private readonly verify: ApiKeyVerifier) {}

  async admit(key: string, now: number, requestId?: string): Promise<AccessDecision> {
    if (!isWellFormedApiKey(key)) return REFUSED;
    const hash = apiKeyHash(key);
    const found = await this.verify(hash, requestId);
    if (!found) return REFUSED;
    const capacity = found.requestsPerMinute;
    const { state, admitted } = takeToken(this.buckets.get(hash), capacity, now);
    this.buckets.set(hash, state);
    return {
      kind: admitted ? 'admitted' : 'limited',
      apiKeyId: found.id,
      rate: rateLimitState(capacity, state.tokens),
    };
  }
}
