import { createPubSub } from '@graphql-yoga/subscription';
import { RedisPubSub } from 'graphql-redis-subscriptions';
import type { PubSub } from 'type-graphql';
import { closeRedis, createRedis } from './redis';

/** The pub/sub a service publishes and subscribes through, plus how to close it. */
export interface ClosablePubSub extends PubSub {
  close(): Promise<void>;
}

/**
 * Redis pub/sub when `redisUrl` is given (every instance sees every event), otherwise the
 * in-process transport of the embedded default. Channel names are prefixed so that test runs
 * and environments sharing one Redis never see each other's events.
 */
export function createPubSubTransport(
  redisUrl: string | undefined,
  prefix: string,
): ClosablePubSub {
  if (!redisUrl) {
    const local = createPubSub();
    return {
      publish: (routingKey, ...args) => local.publish(prefix + routingKey, ...(args as [])),
      subscribe: (routingKey) => local.subscribe(prefix + routingKey),
      close: async () => {},
    };
  }
  const publisher = createRedis(redisUrl);
  const subscriber = createRedis(redisUrl);
  const redis = new RedisPubSub({ publisher, subscriber });
  return {
    publish: (routingKey, payload) => {
      void redis.publish(prefix + routingKey, payload);
    },
    // graphql-redis-subscriptions' subscribe() returns a promise; type-graphql wants an
    // AsyncIterable, which asyncIterableIterator provides (it subscribes lazily).
    subscribe: (routingKey) =>
      redis.asyncIterableIterator(prefix + routingKey) as AsyncIterable<unknown>,
    close: async () => {
      await Promise.resolve(redis.close()).catch(() => {});
      await Promise.all([closeRedis(publisher), closeRedis(subscriber)]);
    },
  };
}
