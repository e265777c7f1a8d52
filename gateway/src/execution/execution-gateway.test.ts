import { composeServices } from '@apollo/composition';
import { ApolloGateway, LocalGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { GraphQLError, print } from 'graphql';
import gql from 'graphql-tag';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ExecutionGateway, type SupergraphGeneration } from './execution-gateway';
import { operationMetricsPlugin, serviceMetrics } from '../../../runtime/metrics';
import type { FetchCache } from './plan-executor';

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
  type Subscription {
    productChanged: Product
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

/** A document of `count` `__typename` aliases, distinct by `name`. */
const typenameAliases = (name: string, count: number, prefix = 'a') =>
  `query ${name} {` +
  Array.from({ length: count }, (_, i) => ` ${prefix}${i}: __typename`).join('') +
  ' }';

/**
 * The heap in use once garbage is collected (V8's `gc`, exposed here for the measurement),
 * with the bytecode of functions not run lately kept: flushed between two measurements, it
 * would count as freed by what happened between them.
 */
function usedHeap(): number {
  setFlagsFromString('--expose-gc');
  setFlagsFromString('--no-flush-bytecode');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

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

  describe('an operation Apollo Server could not select', () => {
    // Apollo Server calls its gateway's executor without an operation when none of the
    // document's is the one asked for, and expects errors back (graphql-js's, which it answers
    // as OPERATION_RESOLUTION_FAILURE): stock Apollo Server over a plain schema is the reference.
    let stock: ApolloServer<TestContext>;
    beforeAll(async () => {
      stock = new ApolloServer<TestContext>({
        ...serverOptions,
        schema: products,
        // A subgraph's schema: Apollo would trace inline, and say so.
        plugins: [ApolloServerPluginInlineTraceDisabled()],
      });
      await stock.start();
    });
    afterAll(async () => {
      await stock?.stop();
    });

    const send = async (
      server: ApolloServer<TestContext>,
      query: string,
      operationName: string | undefined,
    ) => {
      const response = await server.executeOperation(
        { query, operationName },
        { contextValue: { user: 'u1' } },
      );
      if (response.body.kind !== 'single') throw new Error('expected a single result');
      return { status: response.http.status, ...response.body.singleResult };
    };

    it.each([
      ['two operations, no name', 'query A { me } query B { me }', undefined],
      ['a name the document lacks', 'query A { me }', 'B'],
      ['an empty name', 'query A { me }', ''],
      ['an empty name, anonymous operation', '{ me }', ''],
    ])('%s: answered as stock Apollo Server, nothing planned', async (_name, query, name) => {
      const planned = gateway.currentGeneration.prepared.size;
      const expected = await send(stock, query, name);
      expect(expected).toMatchObject({
        status: 400,
        errors: [{ extensions: { code: 'OPERATION_RESOLUTION_FAILURE' } }],
      });
      expect(await send(ours, query, name)).toEqual(expected);
      expect(gateway.currentGeneration.prepared.size).toBe(planned);
    });
  });

  it('answers a subscription over HTTP with a client error naming where they are served', async () => {
    const result = await run(ours, 'subscription { productChanged { id name } }');
    expect(result).toMatchObject({
      status: 400,
      errors: [
        {
          message: 'Subscriptions are served over WebSocket (graphql-transport-ws) on /graphql',
          extensions: { code: 'BAD_REQUEST' },
        },
      ],
    });
    expect(result.data).toBeUndefined();
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

  describe('planned operations', () => {
    it('keeps none estimated over the per-entry maximum: such a document is planned each time', async () => {
      const generation = gateway.currentGeneration;
      const [entries, bytes] = [generation.prepared.size, generation.prepared.totalWeight];
      // 26 KB of `__typename` aliases, which no shape limit counts: about 2 MB once planned.
      const heavy = typenameAliases('Heavy', 1500);
      for (const round of [1, 2]) {
        const result = await run(ours, heavy);
        expect(Object.keys(result.data ?? {})).toHaveLength(1500);
        expect([round, generation.prepared.size]).toEqual([round, entries]);
      }
      expect(generation.prepared.totalWeight).toBe(bytes);
    });

    it('keeps them within their byte budget, least recently used out first', async () => {
      const budget = 1024 * 1024;
      const bounded = new ExecutionGateway({
        supergraphSdl,
        buildService,
        logger: undefined,
        maxPlannedOperationsBytes: budget,
      });
      const server = new ApolloServer<TestContext>({ ...serverOptions, gateway: bounded });
      await server.start();
      try {
        const { prepared } = bounded.currentGeneration;
        // About 150 KB each once planned: far fewer than the 1,000 entries the count allows.
        for (let i = 0; i < 30; i++) await run(server, typenameAliases(`Op${i}`, 100));
        expect(prepared.totalWeight).toBeLessThanOrEqual(budget);
        expect(prepared.size).toBeGreaterThan(2);
        expect(prepared.size).toBeLessThan(10);
        // The most recent are those kept.
        const before = prepared.size;
        await run(server, typenameAliases('Op29', 100));
        expect(prepared.size).toBe(before);
      } finally {
        await server.stop();
      }
    });

    it('are estimated above what they hold (the heap measured without them)', async () => {
      // Apollo Server's own document cache off: the documents' ASTs are then the entries'.
      const measured = new ExecutionGateway({ supergraphSdl, buildService, logger: undefined });
      const server = new ApolloServer<TestContext>({
        ...serverOptions,
        gateway: measured,
        documentStore: null,
      });
      await server.start();
      try {
        const { prepared } = measured.currentGeneration;
        // The federated cases (those planned: a variable that does not coerce stops a request
        // before), each made distinct by an alias; and documents of aliases alone.
        const federated = CASES.filter(
          ([name, query]) =>
            !query.startsWith('mutation') && name !== 'a variable that does not coerce',
        );
        const kinds: Array<[string, (i: number) => Promise<unknown>]> = [
          ['aliases', (i) => run(server, typenameAliases(`T${i}`, 300))],
          [
            'federated',
            (i) =>
              Promise.all(
                federated.map(([, query, variables]) =>
                  run(server, query.replace(/\{/, `{ distinct${i}: __typename `), variables),
                ),
              ),
          ],
        ];
        for (const [kind, send] of kinds) {
          // Once first, for what the first of a kind leaves behind (compiled code, V8's maps).
          await send(-1);
          // The heap also holds what the process does meanwhile (code compiled in the
          // background lands there too, later under load): a measure is taken again, up to
          // three times, and the closest counts. An estimate below what entries hold fails
          // every time.
          let figures = { kind, held: 0, estimated: 0, above: false, near: false };
          for (let attempt = 0; attempt < 3 && !(figures.above && figures.near); attempt++) {
            prepared.clear();
            usedHeap();
            for (let i = 0; i < 20; i++) await send(i + 20 * attempt);
            const estimated = prepared.totalWeight;
            const withEntries = usedHeap();
            prepared.clear();
            const held = withEntries - usedHeap();
            // Above, and not so far above as to waste the budget.
            figures = {
              kind,
              held,
              estimated,
              above: held <= estimated,
              near: estimated < 4 * held,
            };
          }
          expect(figures).toMatchObject({ kind, above: true, near: true });
        }
      } finally {
        await server.stop();
      }
    }, 60_000);
  });

  describe('results made of cached answers', () => {
    let hits = 0;
    const answers = {
      products: PRODUCTS.map(({ id, name }) => ({ __typename: 'Product', id, name })),
      product: { __typename: 'Product', id: '1', name: 'Product 1' },
    };
    const fetchCache: FetchCache = {
      lookup: (fetch) =>
        Promise.resolve(
          fetch.serviceName === 'products'
            ? {
                hit: {
                  data: answers,
                  maxAgeSeconds: 60,
                  expiresAt: Date.now() + 60_000,
                  size: 200,
                },
                store: () => null,
              }
            : null,
        ),
      stamp: () => 'v1',
      countResultHit: () => void hits++,
    };
    let cached: ExecutionGateway;
    let server: ApolloServer<TestContext>;
    let generation: SupergraphGeneration;
    beforeAll(async () => {
      cached = new ExecutionGateway({
        supergraphSdl,
        buildService,
        logger: undefined,
        fetchCache: { cache: fetchCache, usableFor: () => true },
      });
      server = new ApolloServer<TestContext>({ ...serverOptions, gateway: cached });
      await server.start();
      generation = cached.currentGeneration;
    });
    afterAll(async () => {
      await server?.stop();
    });
    beforeEach(() => {
      generation.results.clear();
      hits = 0;
    });

    it('are kept, weighed, and served again', async () => {
      const first = await run(server, '{ products { id name } }');
      expect(generation.results.size).toBe(1);
      expect(generation.results.totalWeight).toBeGreaterThan(0);
      const again = await run(server, '{ products { id name } }');
      expect(hits).toBe(1);
      expect(again.data).toEqual(first.data);
    });

    it('are not kept when the result is large, however small its answers', async () => {
      // 200 characters of answers, shaped into some 300 KB: aliases in each item.
      const query = typenameAliases('Wide', 2000, 'a_long_alias_for_the_typename_').replace(
        /^query Wide \{(.*) \}$/,
        'query Wide { products {$1 } }',
      );
      const result = await run(server, query);
      expect((result.data as { products: unknown[] }).products).toHaveLength(4);
      expect(JSON.stringify(result.data).length).toBeGreaterThan(200 * 1024);
      expect(generation.results.size).toBe(0);
      await run(server, query);
      expect(hits).toBe(0);
    });

    it('are not kept under a key of huge variables', async () => {
      const query = 'query One($id: ID!) { product(id: $id) { id name } }';
      await run(server, query, { id: 'x'.repeat(20_000) });
      expect(generation.results.size).toBe(0);
      await run(server, query, { id: '1' });
      expect(generation.results.size).toBe(1);
    });
  });

  describe('an error answered as INTERNAL_SERVER_ERROR', () => {
    const logged: unknown[][] = [];
    const logger = {
      debug: () => undefined,
      info: () => undefined,
      warn: () => undefined,
      error: (...args: unknown[]) => void logged.push(args),
    };
    let logging: ExecutionGateway;
    type LoggedContext = TestContext & { readonly requestId: string };
    let server: ApolloServer<LoggedContext>;
    beforeAll(async () => {
      logging = new ExecutionGateway({
        supergraphSdl,
        // A subgraph that fails as a client library does: a plain Error, no code.
        buildService: (name) =>
          name === 'reviews'
            ? ({ process: () => Promise.reject(new Error('socket hang up')) } as never)
            : buildService(name),
        logger: undefined,
      });
      server = new ApolloServer<LoggedContext>({
        ...serverOptions,
        gateway: logging,
        logger,
        // As the gateway registers it.
        plugins: [operationMetricsPlugin(serviceMetrics('execution-gateway-test'))],
      });
      await server.start();
    });
    afterAll(async () => {
      await server?.stop();
    });
    beforeEach(() => void logged.splice(0));

    const send = async (query: string, requestId: string) => {
      const response = await server.executeOperation(
        { query },
        { contextValue: { user: 'u1', requestId } },
      );
      if (response.body.kind !== 'single') throw new Error('expected a single result');
      return { status: response.http.status, ...response.body.singleResult };
    };

    it('is logged once, with the request id and the error, when the request fails (500)', async () => {
      const planner = logging.currentGeneration.planning.planner;
      const failure = new TypeError("Cannot read properties of undefined (reading 'kind')");
      const spy = jest.spyOn(planner, 'buildQueryPlan').mockImplementationOnce(() => {
        throw failure;
      });
      try {
        const result = await send('{ products(first: 1) { id } }', 'req-500');
        expect(result.status).toBe(500);
        expect(result.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
      } finally {
        spy.mockRestore();
      }
      expect(logged).toEqual([
        [
          expect.objectContaining({ requestId: 'req-500', err: failure, count: 1 }),
          'answered INTERNAL_SERVER_ERROR',
        ],
      ]);
    });

    it('is logged once per request beside data, with each error told', async () => {
      const result = await send('{ products(first: 2) { id rating } }', 'req-200');
      // Answered with its data (no status set: 200), the reviews' error beside it.
      expect(result.status).toBeUndefined();
      expect(result.data).toBeTruthy();
      expect(result.errors?.length).toBeGreaterThan(0);
      expect(logged).toHaveLength(1);
      expect(logged[0][0]).toMatchObject({
        requestId: 'req-200',
        errors: [{ message: 'socket hang up' }],
      });
    });

    it('is the only error logged: coded answers are not', async () => {
      const result = await send('{ broken { id } }', 'req-coded');
      expect(result.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      await send('query A { me } query B { me }', 'req-unselected');
      await send('subscription { productChanged { id } }', 'req-subscription');
      expect(logged).toEqual([]);
    });
  });
});
