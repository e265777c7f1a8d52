import { composeServices } from '@apollo/composition';
import { LocalGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer, HeaderMap } from '@apollo/server';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import { ExecutionGateway } from './execution-gateway';

describe("Apollo's executor's plans", () => {
  it('are kept in a weighed store', async () => {
    const typeDefs = parse(`
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
      type Query { a: Int }
    `);
    const composed = composeServices([{ name: 'one', url: 'http://one.invalid', typeDefs }]);
    if (composed.errors) throw new Error(composed.errors.map((e) => e.message).join('\n'));
    const subgraph = buildSubgraphSchema({ typeDefs, resolvers: { Query: { a: () => 1 } } });
    const gateway = new ExecutionGateway({
      supergraphSdl: composed.supergraphSdl,
      buildService: () => new LocalGraphQLDataSource(subgraph),
      logger: undefined,
    });
    const server = new ApolloServer({ gateway });
    await server.start();
    try {
      // The header that sends a request to Apollo's executor.
      const http = {
        method: 'POST',
        headers: new HeaderMap([['apollo-query-plan-experimental', '1']]),
        search: '',
        body: null,
      };
      const response = await server.executeOperation({ query: '{ a }', http });
      expect(response.body.kind === 'single' && response.body.singleResult.data).toEqual({ a: 1 });
      expect(gateway.apolloPlans.size).toBe(1);
      expect(gateway.apolloPlans.totalBytes).toBeGreaterThan(0);
    } finally {
      await server.stop();
    }
  });
});
