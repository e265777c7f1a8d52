import { composeServices } from '@apollo/composition';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLSchemaModule } from '@apollo/subgraph/dist/schema-helper';
import gql from 'graphql-tag';
import { loadConfig } from '../../runtime/config';
import type { RunningService } from '../../runtime/lifecycle';
import { startGateway } from '../../gateway/src/gateway';

/**
 * The gateway serves whatever composition it is given (issue 16): subgraphs named as another
 * team named them, found where the supergraph says (`join__graph(url:)`) unless a URL is
 * configured for them, lists without our declared sizes, readiness from the subgraphs it has.
 */

const FEDERATION = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])`;

const products = {
  typeDefs: gql`
    ${FEDERATION}
    type Query {
      products: [Product!]!
    }
    type Product @key(fields: "id") {
      id: ID!
      name: String!
    }
  `,
  resolvers: {
    Query: {
      products: () => [
        { id: 'p1', name: 'Popcorn' },
        { id: 'p2', name: 'Soda' },
      ],
    },
  },
};

const inventory = {
  typeDefs: gql`
    ${FEDERATION}
    type Product @key(fields: "id") {
      id: ID!
      inStock: Boolean!
    }
  `,
  resolvers: {
    Product: {
      __resolveReference: ({ id }: { id: string }) => ({ id, inStock: id === 'p1' }),
    },
  },
};

/** Not our users subgraph: another one that happens to share its name. */
const users = {
  typeDefs: gql`
    ${FEDERATION}
    type Query {
      account: Account
    }
    type Account {
      id: ID!
      name: String!
    }
  `,
  resolvers: { Query: { account: () => ({ id: 'a1', name: 'Lan' }) } },
};

/** Nothing listens on the discard port: a subgraph recorded there cannot be reached. */
const NOWHERE = 'http://127.0.0.1:9/graphql';

describe('the gateway on a composition of other subgraphs', () => {
  const disposals: (() => Promise<void>)[] = [];
  const urls: Record<string, string> = {};

  const serve = async (name: string, subgraph: GraphQLSchemaModule) => {
    const server = new ApolloServer({
      schema: buildSubgraphSchema(subgraph),
      plugins: [ApolloServerPluginInlineTraceDisabled()],
    });
    const { url } = await startStandaloneServer(server, { listen: { host: '127.0.0.1', port: 0 } });
    disposals.push(() => server.stop());
    urls[name] = url;
    return server;
  };

  const compose = (recorded: Record<string, string>): string => {
    const subgraphs = { products, inventory, users };
    const composed = composeServices(
      Object.entries(recorded).map(([name, url]) => ({
        name,
        url,
        typeDefs: subgraphs[name as keyof typeof subgraphs].typeDefs,
      })),
    );
    if (!composed.supergraphSdl) throw new Error(String(composed.errors));
    return composed.supergraphSdl;
  };

  const gatewayOn = async (supergraphSdl: string, env: Record<string, string> = {}) => {
    const config = loadConfig('gateway', {
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: '0',
      ...env,
    });
    const gateway = await startGateway(config, { supergraphSdl, catalogCache: false });
    disposals.push(() => gateway.stop());
    return gateway;
  };

  const query = async (gateway: RunningService, text: string) => {
    const res = await fetch(`http://127.0.0.1:${gateway.port}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: text }),
    });
    return (await res.json()) as { data?: unknown; errors?: unknown[] };
  };

  let inventoryServer: ApolloServer;
  beforeAll(async () => {
    await serve('products', products);
    inventoryServer = await serve('inventory', inventory);
    await serve('users', users);
  });
  afterAll(async () => {
    for (const dispose of disposals.reverse()) await dispose();
  });

  it('reaches each subgraph where the supergraph records it, lists of undeclared size included', async () => {
    const gateway = await gatewayOn(
      compose({ products: urls.products, inventory: urls.inventory }),
    );
    expect(await query(gateway, '{ products { id name inStock } }')).toEqual({
      data: {
        products: [
          { id: 'p1', name: 'Popcorn', inStock: true },
          { id: 'p2', name: 'Soda', inStock: false },
        ],
      },
    });
  });

  it('takes a configured URL over the recorded one, for that subgraph only', async () => {
    const gateway = await gatewayOn(compose({ products: urls.products, users: NOWHERE }), {
      USERS_URL: urls.users,
    });
    expect(await query(gateway, '{ account { name } products { name } }')).toEqual({
      data: { account: { name: 'Lan' }, products: [{ name: 'Popcorn' }, { name: 'Soda' }] },
    });
  });

  it('is ready when the subgraphs of its supergraph answer, and says so when one does not', async () => {
    const gateway = await gatewayOn(
      compose({ products: urls.products, inventory: urls.inventory }),
    );
    const ready = () => fetch(`http://127.0.0.1:${gateway.port}/ready`).then((r) => r.status);
    expect(await ready()).toBe(200);
    await inventoryServer.stop();
    expect(await ready()).toBe(503);
  });
});
