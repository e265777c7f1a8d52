// The users subgraph's context and services as types only: resolvers and routes import
// these, never the wiring (`context.ts`).
import type DataLoader from 'dataloader';
import type { RequestContext } from '../../../runtime/subgraph-definition';
import type { ApiKeyService } from './api-key/api-key.service';
import type { User } from './user/user.entity';
import type { UserService } from './user/user.service';

export interface UsersApp {
  readonly users: UserService;
  /** Partner keys of the public graph. */
  readonly apiKeys: ApiKeyService;
}

export interface UsersContext extends RequestContext {
  readonly app: UsersApp;
  readonly loaders: { readonly userById: DataLoader<string, User | null> };
}
