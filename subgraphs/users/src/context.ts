import DataLoader from 'dataloader';
import type { RequestContext, SubgraphDeps } from '../../../runtime/subgraph-definition';
import { UserService } from './user/user.service';
import { NO_API_KEY_REGISTRY, RedisApiKeyRegistry } from './api-key/api-key.registry';
import { ApiKeyService } from './api-key/api-key.service';
import type { UsersApp, UsersContext } from './context.types';

export function createUsersApp({ dataSource, redis, config, log }: SubgraphDeps): UsersApp {
  const registry = redis
    ? new RedisApiKeyRegistry(redis, config.redis.keyPrefix, log)
    : NO_API_KEY_REGISTRY;
  return {
    users: new UserService(dataSource),
    apiKeys: new ApiKeyService(dataSource, registry, log),
  };
}

export function createUsersContext(base: RequestContext, app: UsersApp): UsersContext {
  return { ...base, app, loaders: { userById: new DataLoader((ids) => app.users.byIds(ids)) } };
}
