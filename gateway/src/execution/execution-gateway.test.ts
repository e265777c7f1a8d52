import { composeServices } from '@apollo/composition';
import { ApolloGateway, LocalGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { GraphQLError, print } from 'graphql';
import gql from 'graphql-tag';
import { ExecutionGateway } from './execution-gateway';

/** What the tests' gateway knows about a caller. */
interface TestContext {
  readonly user: string;
}

const productsTypeDefs = gql`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
  type Query {
    products(first: Int = 5): [Product!]!
    product(id: ID!): Product
    broken: Product
    me: String
  }
  type Mutation {
    rename(id: ID!, name: String!): Product
  }
  type Product @key(fields: "id") {
    id: ID!
    name: String!
    price: Int
    kind: Kind
  }
  enum Kind {
    BOOK
    TOY
  }
`;
const reviewsTypeDefs = gql`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
  type Product @key(fields: "id") {
    id: ID!
    reviews: [Review!]!
    rating: Float
  }
  type Review {
    id: ID!
    body: String!
    author: String
  }
`;

const PRODUCTS = ['1', '2', '3', '4'].map((id) => ({
  id,
  name: `Product ${id}`,
  price: Number(id) * 100,
  kind: id === '3' ? 'NOT_A_KIND' : Number(id) % 2 ? 'BOOK' : 'TOY',
}));

/** Counts and gates the products root fields, so tests can hold a query in flight. */
const calls = { products: 0 };
let gate: Promise<void> = Promise.resolve();

const products = buildSubgraphSchema({
  typeDefs: productsTypeDefs,
  resolvers: {
    Query: {
      products: async (_: unknown, { first }: { first: number }) => {
        calls.products += 1;
        await gate;
        return PRODUCTS.slice(0, first);
      },
      product: (_: unknown, { id }: { id: string }) => PRODUCTS.find((p) => p.id === id) ?? null,
      broken: () => {
        throw new GraphQLError('No such thing', { extensions: { code: 'NOT_FOUND' } });
      },
      me: (_: unknown, __: unknown, context: TestContext) => context.user,
    },
    Mutation: {
      rename: (_: unknown, { id, name }: { id: string; name: string }) => ({ id, name }),
    },
    Product: {
      __resolveReference: (ref: { id: string }) => PRODUCTS.find((p) => p.id === ref.id),
    },
  },
} as never);

const reviews = buildSubgraphSchema({
  typeDefs: reviewsTypeDefs,
  resolvers: {
    Product: {
      __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
      reviews: ({ id }: { id: string }) => {
        if (id === '2')
          throw new GraphQLError('Reviews are down', { extensions: { code: 'DOWN' } });
        // Product 4's second review has no body: a null in a non-null position.
        return [1, 2].map((n) => ({ id: `${id}-${n}`, body: id === '4' && n === 2 ? null : `ok` }));
      },
      rating: ({ id }: { id: string }) => (id === '1' ? 4.5 : null),
    },
  },
});

const composed = composeServices([
  { name: 'products', url: 'http://products.invalid/graphql', typeDefs: productsTypeDefs },
  { name: 'reviews', url: 'http://reviews.invalid/graphql', typeDefs: reviewsTypeDefs },
]);
if (composed.errors) throw new Error(composed.errors.map((e) => e.message).join('\n'));
const supergraphSdl = composed.supergraphSdl;
const schemas = { products, reviews } as const;
const buildService = (name: string) => new LocalGraphQLDataSource(schemas[name as 'products']);

const serverOptions = { includeStacktraceInErrorResponses: false, introspection: true } as const;

describe('ExecutionGateway', () => {
  let apollo: ApolloServer<TestContext>;
  let ours: ApolloServer<TestContext>;
  let gateway: ExecutionGateway;

  beforeAll(async () => {
    apollo = new ApolloServer<TestContext>({
      ...serverOptions,
      gateway: new ApolloGateway({
        supergraphSdl,
        buildService: ({ name }) => buildService(name),
      }),
    });
    gateway = new ExecutionGateway({
      supergraphSdl,
      buildService,
      logger: undefined,
      callerOf: (context) => (context as TestContext).user,
    });
    ours = new ApolloServer<TestContext>({ ...serverOptions, gateway });
    await Promise.all([apollo.start(), ours.start()]);
  });
  afterAll(async () => {
    await Promise.all([apollo?.stop(), ours?.stop()]);
  });

  const run = async (
    server: ApolloServer<TestContext>,
    query: string,
    variables?: Record<string, unknown>,
    user = 'u1',
  ) => {
    const response = await server.executeOperation(
      { query, variables },
      { contextValue: { user } },
    );
    if (response.body.kind !== 'single') throw new Error('expected a single result');
    return { status: response.http.status, ...response.body.singleResult };
  };

  // Every case names its variables: a missing third element would make Jest pass `done`.
  const CASES: Array<[string, string, Record<string, unknown>]> = [
    ['entities across subgraphs', '{ products { id name price reviews { id body } rating } }', {}],
    ['fewer, by variable', 'query P($n: Int) { products(first: $n) { name rating } }', { n: 1 }],
    [
      'one, found',
      'query One($id: ID!) { product(id: $id) { name reviews { body } } }',
      { id: '1' },
    ],
    [
      'one, missing',
      'query One($id: ID!) { product(id: $id) { name reviews { body } } }',
      { id: '9' },
    ],
    [
      'a condition on an entity fetch',
      'query C($r: Boolean!) { products { id reviews @include(if: $r) { id } rating @skip(if: $r) } }',
      { r: true },
    ],
    [
      'the other branch',
      'query C($r: Boolean!) { products { id reviews @include(if: $r) { id } rating @skip(if: $r) } }',
      { r: false },
    ],
    ['an error at a root field', '{ broken { id } me }', {}],
    ['a variable that does not coerce', 'query One($id: ID!) { product(id: $id) { id } }', {}],
    [
      'aliases, __typename and fragments',
      `query F { all: products(first: 2) { __typename ...P t: __typename } one: product(id: "1") { ... on Product { kind reviews { author } } } }
       fragment P on Product { id label: name reviews { id } }`,
      {},
    ],
    [
      'introspection beside federated fields',
      '{ __typename products(first: 1) { id } __type(name: "Kind") { enumValues { name } } }',
      {},
    ],
    [
      'a mutation and its entities',
      'mutation { rename(id: "1", name: "New") { id name rating } }',
      {},
    ],
  ];

  it.each(CASES)('answers exactly as Apollo’s executor: %s', async (_name, query, variables) => {
    const expected = await run(apollo, query, variables);
    const actual = await run(ours, query, variables);
    expect(JSON.parse(JSON.stringify(actual))).toEqual(JSON.parse(JSON.stringify(expected)));
  });

  it('plans an operation once, whatever its variables', async () => {
    const query = 'query Once($n: Int) { products(first: $n) { id } }';
    for (const n of [1, 2, 3]) expect((await run(ours, query, { n })).data).toBeDefined();
    const entries = gateway.currentGeneration.prepared.size;
    for (const n of [4, 1]) await run(ours, query, { n });
    expect(gateway.currentGeneration.prepared.size).toBe(entries);
  });

  describe('identical queries in flight', () => {
    let open: () => void = () => undefined;
    beforeEach(() => {
      calls.products = 0;
      gate = new Promise<void>((resolve) => (open = resolve));
    });
    afterEach(() => open());

    /** Waits until the gated resolver has been entered `n` times. */
    const entered = async (n: number) => {
      for (let turn = 0; turn < 1000 && calls.products < n; turn++) {
        await new Promise((resolve) => setImmediate(resolve));
      }
    };

    it('share one execution for one caller, and its data', async () => {
      const query = 'query Shared { products { id name } }';
      const first = run(ours, query, {}, 'alice');
      await entered(1);
      const second = run(ours, query, {}, 'alice');
      // The second never reaches the subgraph; let both finish.
      await new Promise((resolve) => setImmediate(resolve));
      open();
      const [a, b] = await Promise.all([first, second]);
      expect(calls.products).toBe(1);
      expect(b.data).toEqual(a.data);
      expect(b.data).toBe(a.data);
    });

    it('never share between callers, nor between different variables', async () => {
      const query = 'query Shared($n: Int) { products(first: $n) { id } me }';
      const results = [
        run(ours, query, { n: 2 }, 'alice'),
        run(ours, query, { n: 2 }, 'bob'),
        run(ours, query, { n: 3 }, 'alice'),
      ];
      await entered(3);
      open();
      const [alice, bob, alice3] = await Promise.all(results);
      expect(calls.products).toBe(3);
      expect(alice.data).toEqual({ products: [{ id: '1' }, { id: '2' }], me: 'alice' });
      expect(bob.data).toEqual({ products: [{ id: '1' }, { id: '2' }], me: 'bob' });
      expect((alice3.data as { products: unknown[] }).products).toHaveLength(3);
    });
  });

  describe('a new supergraph', () => {
    // The same graph, with or without Product.price.
    const compose = (withPrice: boolean) => {
      const result = composeServices([
        {
          name: 'products',
          url: 'http://products.invalid/graphql',
          typeDefs: withPrice
            ? productsTypeDefs
            : gql(print(productsTypeDefs).replace(/\n\s*price: Int/, '')),
        },
        { name: 'reviews', url: 'http://reviews.invalid/graphql', typeDefs: reviewsTypeDefs },
      ]);
      if (result.errors) throw new Error(result.errors.map((e) => e.message).join('\n'));
      return result.supergraphSdl;
    };
    let open: () => void = () => undefined;
    afterEach(() => open());

    it('finishes requests in flight on the old one and runs new ones on the new one', async () => {
      const reloading = new ExecutionGateway({ supergraphSdl, buildService, logger: undefined });
      const server = new ApolloServer<TestContext>({ ...serverOptions, gateway: reloading });
      await server.start();
      try {
        calls.products = 0;
        gate = new Promise<void>((resolve) => (open = resolve));
        const query = '{ products(first: 2) { id price } }';
        const before = run(server, query);
        for (let turn = 0; turn < 1000 && calls.products < 1; turn++) {
          await new Promise((resolve) => setImmediate(resolve));
        }
        const old = reloading.currentGeneration;
        reloading.prepareUpdate(compose(false))();
        expect(reloading.currentGeneration).not.toBe(old);
        open();
        // Validated against the old schema, planned and shaped with it: price is there.
        expect(await before).toMatchObject({
          data: {
            products: [
              { id: '1', price: 100 },
              { id: '2', price: 200 },
            ],
          },
        });
        const after = await run(server, query);
        expect(after.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
        expect((await run(server, '{ products(first: 1) { id name } }')).data).toEqual({
          products: [{ id: '1', name: 'Product 1' }],
        });
        // And back: the field is served again.
        reloading.prepareUpdate(compose(true))();
        expect((await run(server, '{ products(first: 1) { price } }')).data).toEqual({
          products: [{ price: 100 }],
        });
      } finally {
        await server.stop();
      }
    });

    it('refuses a text that is not a supergraph, and keeps serving the current one', async () => {
      const current = gateway.currentGeneration;
      expect(() => gateway.prepareUpdate('type Query { nothing: String }')).toThrow();
      expect(() => gateway.prepareUpdate('not GraphQL at all {')).toThrow();
      expect(gateway.currentGeneration).toBe(current);
      expect((await run(ours, '{ products(first: 1) { id } }')).data).toEqual({
        products: [{ id: '1' }],
      });
    });
  });
});
