import type { Express } from 'express';
import type { AppConfig } from '../../../runtime/config';
import { eventConsumerName } from '../../../runtime/events/consumer-name';
import { createEventTransport } from '../../../runtime/events/transport-factory';
import type { Disposer } from '../../../runtime/http-service';
import { IDENTITY_HEADER, verifyIdentity, type Identity } from '../../../runtime/identity';
import { createRedis, closeRedis, type RedisClient } from '../../../runtime/redis';
import type { Logger } from '../../../runtime/logger';
import { CatalogCache } from './catalog-cache';
import { startCatalogInvalidation } from './catalog-invalidation';

/** Only anonymous callers' fetches: their answers hold nothing that belongs to a user. */
export const catalogCacheUsableFor = (identity: Identity | undefined): boolean =>
  identity !== undefined && identity.userId === null && identity.service === undefined;

/**
 * The gateway's catalog cache, running: its counters followed in Redis (`redis` for commands,
 * a connection of its own for pub/sub) and invalidated from the subgraphs' event streams.
 * Without Redis it lives in this process, invalidated through the in-process transport.
 * Everything started is registered with `defer`.
 */
export async function startCatalogCache(options: {
  readonly config: AppConfig;
  readonly log: Logger;
  readonly redis: RedisClient | undefined;
  readonly defer: (dispose: Disposer) => void;
}): Promise<CatalogCache> {
  const { config, log, redis, defer } = options;
  const subscriber = config.redis.url ? createRedis(config.redis.url) : undefined;
  if (subscriber) defer(() => closeRedis(subscriber));
  const cache = new CatalogCache({ redis, subscriber, keyPrefix: config.redis.keyPrefix, log });
  await cache.start();
  defer(() => cache.stop());
  const events = createEventTransport(config, log);
  if (!events.shared) defer(() => events.transport.close());
  const invalidation = startCatalogInvalidation({
    cache,
    transport: events.transport,
    consumer: eventConsumerName('gateway'),
    log,
  });
  defer(() => invalidation.stop());
  return cache;
}

/**
 * `GET /internal/catalog-cache`: the cache's counters (hits, misses, hit ratio...) for
 * internal callers (a service identity signed for the gateway, as for `/ready` details),
 * 404 for anyone else. Benchmarks read the hit ratio here.
 */
export function mountCatalogCacheStats(app: Express, cache: CatalogCache, config: AppConfig) {
  app.get('/internal/catalog-cache', (req, res) => {
    const caller = verifyIdentity(req.header(IDENTITY_HEADER), config.internalSecret, 'gateway');
    if (caller?.service === undefined) {
      res
        .status(404)
        .json({ errors: [{ message: 'Not found', extensions: { code: 'NOT_FOUND' } }] });
      return;
    }
    res.json(cache.stats());
  });
}
