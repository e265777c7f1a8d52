import DataLoader from 'dataloader';
import type { RequestContext, SubgraphDeps } from '../../../runtime/subgraph-definition';
import { UserService } from './user/user.service';
import type { UsersApp, UsersContext } from './context.types';

export function createUsersApp({ dataSource }: SubgraphDeps): UsersApp {
  return { users: new UserService(dataSource) };
}

export function createUsersContext(base: RequestContext, app: UsersApp): UsersContext {
  return { ...base, app, loaders: { userById: new DataLoader((ids) => app.users.byIds(ids)) } };
}
