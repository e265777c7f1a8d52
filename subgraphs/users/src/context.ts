import DataLoader from 'dataloader';
import type { RequestContext, SubgraphDeps } from '../../../runtime/subgraph-server';
import type { User } from './user/user.entity';
import { UserService } from './user/user.service';

export interface UsersApp {
  readonly users: UserService;
}

export interface UsersContext extends RequestContext {
  readonly app: UsersApp;
  readonly loaders: { readonly userById: DataLoader<string, User | null> };
}

export function createUsersApp({ dataSource }: SubgraphDeps): UsersApp {
  return { users: new UserService(dataSource) };
}

export function createUsersContext(base: RequestContext, app: UsersApp): UsersContext {
  return { ...base, app, loaders: { userById: new DataLoader((ids) => app.users.byIds(ids)) } };
}
