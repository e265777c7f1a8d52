import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import { printSchemaWithDirectives } from '@graphql-tools/utils';
import { type GraphQLSchema } from 'graphql';
import { DateTimeResolver } from 'graphql-scalars';
import gql from 'graphql-tag';
import { buildSchema, createResolversMap, type NonEmptyArray } from 'type-graphql';
import { authChecker } from './auth';
import { CACHE_CONTROL_DEFINITION } from './cache-hints';
import type { ClassType } from './database';

/** The Federation 2 spec every subgraph links; kept within the spec so other routers run it. */
export const FEDERATION_LINK =
  'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ' +
  '["@key", "@shareable", "@external", "@requires", "@provides", "@inaccessible", "@tag"])';

const TOPICS_UNSUPPORTED = {
  publish: () => {
    throw new Error('Use the subgraph pub/sub, not type-graphql topics');
  },
  subscribe: () => {
    throw new Error('Use @Subscription({ subscribe }), not type-graphql topics');
  },
};

/** `__resolveReference` per entity type name. */
export type ReferenceResolvers<Ctx> = Record<
  string,
  (reference: { __typename: string } & Record<string, unknown>, context: Ctx) => unknown
>;

export interface FederatedSchemaOptions<Ctx> {
  resolvers: NonEmptyArray<ClassType>;
  orphanedTypes?: ClassType[];
  references?: ReferenceResolvers<Ctx>;
}

/**
 * Builds a type-graphql schema and turns it into an Apollo subgraph schema: the SDL is printed
 * with its `@key`/`@shareable` directives, then rebuilt by `buildSubgraphSchema` with the same
 * resolvers plus the reference resolvers.
 */
export async function buildFederatedSchema<Ctx>(
  options: FederatedSchemaOptions<Ctx>,
): Promise<GraphQLSchema> {
  const schema = await buildSchema({
    resolvers: options.resolvers,
    orphanedTypes: options.orphanedTypes,
    scalarsMap: [{ type: Date, scalar: DateTimeResolver }],
    validate: false,
    authChecker,
    // Subscriptions here name their source with `subscribe` (the subgraph's own pub/sub);
    // type-graphql still asks for a PubSub, which must never be used through topics.
    pubSub: TOPICS_UNSUPPORTED,
    authMode: 'error',
    skipCheck: true,
    emitSchemaFile: false,
  });
  const resolvers = createResolversMap(schema) as GraphQLResolverMap<unknown>;
  for (const [typeName, resolve] of Object.entries(options.references ?? {})) {
    const existing = (resolvers[typeName] ?? {}) as Record<string, unknown>;
    resolvers[typeName] = { ...existing, __resolveReference: resolve };
  }
  return buildSubgraphSchema({
    typeDefs: gql(
      `${FEDERATION_LINK}\n\n${CACHE_CONTROL_DEFINITION}\n\n${printSchemaWithDirectives(schema)}`,
    ),
    resolvers,
  });
}
