import type { FetchNode } from '@apollo/query-planner';
import { OperationTypeNode, type GraphQLSchema } from 'graphql';
import { createHash } from 'node:crypto';
import type { RedisClient } from '../../../runtime/redis';
import { LruCache } from '../../../runtime/lru-cache';
import { typesReadBy } from './fetch-types';

/**
 * The types whose changes the subgraphs announce (see `catalog-invalidation.ts`): each has a
 * generation, and a cached answer is only good for the generations it was fetched under.
 * Answers reading none of them live out their `max-age`.
 */
export const INVALIDATED_TYPES = ['Movie', 'Showtime', 'Cinema', 'Hall'] as const;
export type InvalidatedType = (typeof INVALIDATED_TYPES)[number];

/** Answers kept in this process (the most recently used; Redis keeps the rest)... */
const LOCAL_ENTRIES = 5_000;
/** ...within this many characters of JSON in all (about twice as many bytes in memory). */
const LOCAL_CHARS = 32 * 1024 * 1024;
/** Bigger answers are not cached: a few of them would crowd out everything else. */
const MAX_ENTRY_CHARS = 512 * 1024;
/** 1 MiB of JSON a second: at the 60 s max-age, at most about 60 MiB in Redis per instance. */
const SHARED_CHARS_PER_SECOND = 1024 * 1024;
/** How many seconds of budget may be spent at once (a cold start fills quickly, then steadily). */
const SHARED_BURST_SECONDS = 5;
/** A fetch whose answer was not cacheable is not looked up again for this long. */
const UNCACHEABLE_RECHECK_MS = 30_000;
/** Generations are read from Redis this often, whatever pub/sub delivered. */
const SYNC_EVERY_MS = 500;
/** Without a sync for this long, nothing is served from the cache (we could miss a change). */
const SYNC_STALE_MS = 3_000;

/** A generation being raised right now: the type's answers are neither read nor kept. */
const PENDING = -1;

// KEYS: generation keys; ARGV[1] now (ms). Raises each, one round trip for all. A missing
// generation starts from the clock, never from 0, so that a generation lost (Redis restarted,
// key evicted) cannot come back to a value old answers were stored under.
const BUMP_SCRIPT = `
local out = {}
for i, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 0 then redis.call('SET', key, ARGV[1]) end
  out[i] = redis.call('INCR', key)
end
return out`;
const READ_SCRIPT = `
local out = {}
for i, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 0 then redis.call('SET', key, ARGV[1]) end
  out[i] = redis.call('GET', key)
end
return out`;

export interface CatalogCacheOptions {
  /** Commands (answers, generations); absent: this process alone, generations in memory. */
  readonly redis?: RedisClient;
  /** A connection for pub/sub (it cannot run commands while subscribed). */
  readonly subscriber?: RedisClient;
  /** `REDIS_KEY_PREFIX`: keys and the channel live under it. */
  readonly keyPrefix: string;
  readonly log: { warn(obj: object, msg: string): void };
  readonly maxLocalEntries?: number;
  /** Characters of JSON kept in this process, all answers together. */
  readonly maxLocalChars?: number;
  readonly now?: () => number;
  /**
   * Characters of answers this instance writes to Redis per second, on average (bursts up to
   * {@link SHARED_BURST_SECONDS} seconds' worth). Anonymous callers choose the variables, so
   * without a budget a stream of distinct queries would fill Redis for the answers' max-age;
   * with it, one instance keeps at most budget × max-age there. Over it, answers stay in this
   * process only.
   */
  readonly sharedCharsPerSecond?: number;
}

/** One answer as kept: its data (JSON), until when, under which generations. */
interface Entry {
  readonly material: string;
  readonly generations: string;
  readonly body: string;
  readonly expiresAt: number;
}

/** What a fetch found: an answer, or where to keep the one about to be fetched. */
export interface CacheLookup {
  readonly hit?: {
    readonly data: Record<string, unknown>;
    readonly maxAgeSeconds: number;
    /** Epoch ms. */
    readonly expiresAt: number;
    /** The answer's length as kept (JSON characters). */
    readonly size: number;
  };
  /**
   * Keeps the subgraph's answer if its `Cache-Control` says public with a max-age; returns
   * until when (epoch ms) and its length, or null when it was not kept.
   */
  store(response: {
    data?: unknown;
    errors?: unknown;
    http?: { headers: { get(name: string): string | null } };
  }): { readonly expiresAt: number; readonly size: number } | null;
}

export interface CatalogCacheStats {
  /** Fetches answered from the cache (this process or Redis). */
  hits: number;
  localHits: number;
  misses: number;
  stores: number;
  uncacheable: number;
  bypassed: number;
  invalidations: number;
  /** Whole results served again because every answer in them was cached and still good. */
  resultHits: number;
  /** Answers kept only in this process because the Redis write budget was spent. */
  notShared: number;
}

/** What one fetch needs, worked out once per fetch of a plan. */
interface FetchInfo {
  readonly types: readonly InvalidatedType[];
  uncacheableUntil: number;
}

/** `max-age` of a `Cache-Control` that allows a shared cache, or 0. */
export function sharedMaxAge(header: string | null | undefined): number {
  if (!header) return 0;
  const directives = header
    .toLowerCase()
    .split(',')
    .map((d) => d.trim());
  if (!directives.includes('public')) return 0;
  if (directives.some((d) => d === 'private' || d === 'no-store' || d === 'no-cache')) return 0;
  const maxAge = directives.find((d) => d.startsWith('max-age='));
  const seconds = maxAge ? Number(maxAge.slice('max-age='.length)) : 0;
  return Number.isInteger(seconds) && seconds > 0 ? seconds : 0;
}

/**
 * The gateway's cache of public catalog answers: subgraph fetches of anonymous queries whose
 * answer the subgraph marked `Cache-Control: public, max-age=N` (Apollo Server's cache control
 * from the `@cacheControl` hints of its schema). Never a mutation, never a signed-in caller's
 * fetch, never an answer with errors, never beyond its max-age.
 *
 * Two levels: the most recently used answers in this process, every answer in Redis, where
 * all gateway instances find it. Invalidation is by generation: each announced type
 * (`INVALIDATED_TYPES`) has a counter in Redis, and an answer is stored and found under the
 * counters of the types it read, taken before it was fetched. Raising a counter (a movie
 * changed) makes every answer stored under the old one unreachable at once, here and in every
 * instance as soon as it hears (pub/sub, or its twice-a-second read of the counters); an
 * answer fetched before the change but stored after it lands under the old counter, where
 * nobody looks. While a counter is being raised, and whenever the counters could not be read
 * recently, the types concerned are not served from the cache at all.
 */
export class CatalogCache {
  private readonly local: LruCache<string, Entry>;
  private readonly generations = new Map<InvalidatedType, number>();
  private readonly fetches = new WeakMap<FetchNode, FetchInfo>();
  private readonly now: () => number;
  private readonly channel: string;
  private lastSync: number;
  private syncTimer: NodeJS.Timeout | undefined;
  private readonly invalidatedListeners = new Set<(types: readonly InvalidatedType[]) => void>();
  readonly counters: CatalogCacheStats = {
    hits: 0,
    localHits: 0,
    misses: 0,
    stores: 0,
    uncacheable: 0,
    bypassed: 0,
    invalidations: 0,
    resultHits: 0,
    notShared: 0,
  };
  /** The Redis write budget left (characters), and when it was last topped up. */
  private sharedBudget: number;
  private sharedBudgetAt: number;

  constructor(private readonly options: CatalogCacheOptions) {
    this.local = new LruCache<string, Entry>(options.maxLocalEntries ?? LOCAL_ENTRIES, {
      maxWeight: options.maxLocalChars ?? LOCAL_CHARS,
      // The key (operation and variables) is kept too.
      weigh: (entry) => entry.body.length + entry.material.length,
    });
    this.now = options.now ?? Date.now;
    this.sharedBudget =
      (options.sharedCharsPerSecond ?? SHARED_CHARS_PER_SECOND) * SHARED_BURST_SECONDS;
    this.sharedBudgetAt = this.now();
    this.channel = `${options.keyPrefix}catalog-cache:invalidated`;
    // Without Redis the counters live here only: always in sync.
    this.lastSync = options.redis ? -Infinity : Infinity;
    for (const type of INVALIDATED_TYPES) this.generations.set(type, 0);
  }

  /** One hash tag for all: the scripts touch every generation at once (one cluster slot). */
  private generationKey(type: InvalidatedType): string {
    return `${this.options.keyPrefix}{catalog-cache}:generation:${type}`;
  }

  /** Reads the counters, then keeps them current: pub/sub, and a read every half second. */
  async start(): Promise<void> {
    const { redis, subscriber } = this.options;
    if (!redis) return;
    if (subscriber) {
      subscriber.on('message', (channel: string, message: string) => {
        if (channel === this.channel) this.heard(message);
      });
      await subscriber.subscribe(this.channel);
    }
    await this.sync();
    this.syncTimer = setInterval(() => void this.sync(), SYNC_EVERY_MS);
    this.syncTimer.unref();
  }

  /** Stops following the counters (the connections are the caller's to close). */
  async stop(): Promise<void> {
    if (this.syncTimer) clearInterval(this.syncTimer);
    if (this.options.subscriber?.status === 'ready') {
      await this.options.subscriber.unsubscribe(this.channel).catch(() => undefined);
    }
  }

  private heard(message: string): void {
    try {
      const raised = JSON.parse(message) as Record<string, number>;
      for (const [type, generation] of Object.entries(raised)) {
        const current = this.generations.get(type as InvalidatedType);
        if (current !== undefined && current !== PENDING && generation > current) {
          this.generations.set(type as InvalidatedType, generation);
        }
      }
      this.notify(Object.keys(raised) as InvalidatedType[]);
    } catch {
      // Not ours: ignored.
    }
  }

  private async sync(): Promise<void> {
    const redis = this.options.redis!;
    try {
      const values = (await redis.eval(
        READ_SCRIPT,
        INVALIDATED_TYPES.length,
        ...INVALIDATED_TYPES.map((t) => this.generationKey(t)),
        String(this.now()),
      )) as string[];
      INVALIDATED_TYPES.forEach((type, i) => {
        const current = this.generations.get(type)!;
        const stored = Number(values[i]);
        // Forward only: a read that started before a raise must not undo it.
        if (current !== PENDING && stored > current) this.generations.set(type, stored);
      });
      this.lastSync = this.now();
    } catch (error) {
      this.options.log.warn({ err: error }, 'catalog cache: cannot read the generations');
    }
  }

  /**
   * Every generation as one string, or null while one is being raised or the counters could
   * not be read lately: whatever was computed from cached answers under one stamp is still
   * good under the same stamp (until the answers' max-age).
   */
  stamp(): string | null {
    if (this.now() - this.lastSync > SYNC_STALE_MS) return null;
    const generations = INVALIDATED_TYPES.map((t) => this.generations.get(t)!);
    return generations.includes(PENDING) ? null : generations.join(',');
  }

  /** Counts a result served again by the executor (see `ExecutionGateway`). */
  countResultHit(): void {
    this.counters.resultHits += 1;
  }

  /** Calls `listener` whenever types were invalidated (here, or heard from another instance). */
  onInvalidated(listener: (types: readonly InvalidatedType[]) => void): () => void {
    this.invalidatedListeners.add(listener);
    return () => this.invalidatedListeners.delete(listener);
  }

  private notify(types: readonly InvalidatedType[]): void {
    for (const listener of this.invalidatedListeners) listener(types);
  }

  /**
   * Makes every answer that read one of `types` unreachable, in every instance. From the
   * moment this is called, this instance serves none of them; once it resolves, the new
   * counters are in Redis and announced. Rejects when Redis cannot be reached (the event is
   * then delivered again; meanwhile nothing of those types is served here).
   */
  async invalidate(types: readonly InvalidatedType[]): Promise<void> {
    this.counters.invalidations += 1;
    const redis = this.options.redis;
    if (!redis) {
      for (const type of types) this.generations.set(type, this.generations.get(type)! + 1);
      this.notify(types);
      return;
    }
    for (const type of types) this.generations.set(type, PENDING);
    const values = (await redis.eval(
      BUMP_SCRIPT,
      types.length,
      ...types.map((type) => this.generationKey(type)),
      String(this.now()),
    )) as number[];
    const raised: Record<string, number> = {};
    types.forEach((type, i) => {
      raised[type] = Number(values[i]);
      this.generations.set(type, raised[type]);
    });
    this.notify(types);
    await redis.publish(this.channel, JSON.stringify(raised));
  }

  private infoOf(fetch: FetchNode, schema: GraphQLSchema): FetchInfo {
    let info = this.fetches.get(fetch);
    if (!info) {
      const read = typesReadBy(schema, fetch.operation);
      info = {
        types: INVALIDATED_TYPES.filter((t) => read.has(t)),
        uncacheableUntil: 0,
      };
      this.fetches.set(fetch, info);
    }
    return info;
  }

  /**
   * Looks a query fetch up: an answer (good for its generations, within its max-age), or a
   * place to keep the one about to be fetched. Null: the fetch is not for the cache (a
   * mutation, an answer found uncacheable lately, a type being invalidated, counters
   * unknown).
   */
  async lookup(
    fetch: FetchNode,
    variables: Record<string, unknown>,
    schema: GraphQLSchema,
  ): Promise<CacheLookup | null> {
    if (fetch.operationKind !== OperationTypeNode.QUERY) return null;
    const now = this.now();
    const info = this.infoOf(fetch, schema);
    if (now < info.uncacheableUntil) return null;
    const generations = info.types.map((t) => this.generations.get(t)!);
    if (generations.includes(PENDING) || now - this.lastSync > SYNC_STALE_MS) {
      this.counters.bypassed += 1;
      return null;
    }
    const material = `${fetch.serviceName}\n${fetch.operation}\n${JSON.stringify(variables)}`;
    const generationKey = generations.join(',');
    const store = this.storeFor(info, material, generationKey);
    const kept = this.local.get(material);
    if (kept && kept.generations === generationKey && kept.expiresAt > now) {
      this.counters.hits += 1;
      this.counters.localHits += 1;
      return { hit: this.hit(kept, now), store };
    }
    const redis = this.options.redis;
    if (redis) {
      try {
        const value = await redis.get(this.entryKey(material, generationKey));
        const newline = value ? value.indexOf('\n') : -1;
        const expiresAt = newline > 0 ? Number(value!.slice(0, newline)) : 0;
        // Invalidated while Redis answered: the answer is of the old generations.
        const current = info.types.map((t) => this.generations.get(t)!).join(',');
        if (expiresAt > this.now() && current === generationKey) {
          const entry = {
            material,
            generations: generationKey,
            body: value!.slice(newline + 1),
            expiresAt,
          };
          this.local.set(material, entry);
          this.counters.hits += 1;
          return { hit: this.hit(entry, this.now()), store };
        }
      } catch {
        // Redis is unreachable: the subgraph answers, as without a cache.
      }
    }
    this.counters.misses += 1;
    return { store };
  }

  private hit(entry: Entry, now: number): NonNullable<CacheLookup['hit']> {
    return {
      data: JSON.parse(entry.body) as Record<string, unknown>,
      maxAgeSeconds: Math.max(0, Math.floor((entry.expiresAt - now) / 1000)),
      expiresAt: entry.expiresAt,
      size: entry.body.length,
    };
  }

  private entryKey(material: string, generations: string): string {
    const digest = createHash('sha256').update(material).update('\n').update(generations);
    return `${this.options.keyPrefix}catalog-cache:answer:${digest.digest('base64url')}`;
  }

  private storeFor(info: FetchInfo, material: string, generations: string): CacheLookup['store'] {
    return (response) => {
      const maxAge = sharedMaxAge(response.http?.headers.get('cache-control'));
      if (maxAge === 0 || response.errors || response.data == null) {
        this.counters.uncacheable += 1;
        info.uncacheableUntil = this.now() + UNCACHEABLE_RECHECK_MS;
        return null;
      }
      const body = JSON.stringify(response.data);
      if (body.length > MAX_ENTRY_CHARS) return null;
      const expiresAt = this.now() + maxAge * 1000;
      this.local.set(material, { material, generations, body, expiresAt });
      this.counters.stores += 1;
      if (this.options.redis && this.spendSharedBudget(body.length)) {
        void this.options.redis
          .set(this.entryKey(material, generations), `${expiresAt}\n${body}`, 'PX', maxAge * 1000)
          .catch(() => undefined);
      } else if (this.options.redis) {
        this.counters.notShared += 1;
      }
      return { expiresAt, size: body.length };
    };
  }

  /** Takes `chars` from the token bucket of Redis writes; false when there are not enough. */
  private spendSharedBudget(chars: number): boolean {
    const rate = this.options.sharedCharsPerSecond ?? SHARED_CHARS_PER_SECOND;
    const capacity = rate * SHARED_BURST_SECONDS;
    const now = this.now();
    this.sharedBudget = Math.min(
      capacity,
      this.sharedBudget + ((now - this.sharedBudgetAt) / 1000) * rate,
    );
    this.sharedBudgetAt = now;
    if (chars > this.sharedBudget) return false;
    this.sharedBudget -= chars;
    return true;
  }

  stats(): CatalogCacheStats & { hitRatio: number; localEntries: number } {
    const lookups = this.counters.hits + this.counters.misses;
    return {
      ...this.counters,
      hitRatio: lookups === 0 ? 0 : this.counters.hits / lookups,
      localEntries: this.local.size,
    };
  }
}
