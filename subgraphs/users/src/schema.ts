import { ClerkOrdering1732900000001 } from './migrations/1732900000001-clerk-ordering';
import { MillisecondTimestamps1732900000000 } from './migrations/1732900000000-millisecond-timestamps';
import { startEventRetention } from '../../../runtime/events/retention';
import type { SubgraphDefinition } from '../../../runtime/subgraph-definition';
import { createUsersApp, createUsersContext } from './context';
import type { UsersApp, UsersContext } from './context.types';
import { CreateUsers1732500000000 } from './migrations/1732500000000-create-users';
import { UserDeletionAndWebhooks1732600000000 } from './migrations/1732600000000-user-deletion-and-webhooks';
import { ClerkEventRetention1733100000000 } from './migrations/1733100000000-clerk-event-retention';
import { UserLocale1733300000000 } from './migrations/1733300000000-user-locale';
import { ApiKeys1733400000000 } from './migrations/1733400000000-api-keys';
import { ApiKey } from './api-key/api-key.entity';
import { ApiKeyResolver } from './api-key/api-key.resolver';
import { mountApiKeyRoute } from './api-key/api-key.route';
import { mountUserContactsRoute } from './user/user-contacts.route';
import { CLERK_EVENTS_RETENTION } from './user/clerk-events';
import { mountClerkEventsRoute } from './user/clerk-events.route';
import { User } from './user/user.entity';
import { UserResolver } from './user/user.resolver';

/**
 * The users subgraph: people, their profiles and roles (id = Clerk user id), and the
 * partners' keys of the public graph.
 */
export const usersSubgraph: SubgraphDefinition<UsersContext, UsersApp> = {
  name: 'users',
  schema: {
    resolvers: [UserResolver, ApiKeyResolver],
    references: {
      User: (ref, ctx) => ctx.loaders.userById.load(String(ref.id)),
    },
  },
  entities: [User, ApiKey],
  migrations: [
    CreateUsers1732500000000,
    UserDeletionAndWebhooks1732600000000,
    MillisecondTimestamps1732900000000,
    ClerkOrdering1732900000001,
    ClerkEventRetention1733100000000,
    UserLocale1733300000000,
    ApiKeys1733400000000,
  ],
  createApp: createUsersApp,
  createContext: createUsersContext,
  mountInternalRoutes: (router, app) => {
    mountClerkEventsRoute(router, app);
    mountUserContactsRoute(router, app);
    mountApiKeyRoute(router, app);
  },
  startWorkers: (_app, { dataSource, config, log }) => [
    startEventRetention({
      dataSource,
      log,
      retentionHours: config.events.retentionHours,
      targets: [CLERK_EVENTS_RETENTION],
    }),
  ],
};
