import { buildSubgraphSchema } from '@apollo/subgraph';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSchema, Kind, parse, validate, type DocumentNode } from 'graphql';
import gql from 'graphql-tag';
import { contractOperations } from '../tests/support/contract';
import { loadConfig } from './config';
import { projectRoot } from './paths';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './pagination';
import {
  CONNECTION_PAGE,
  checkOperationLimits,
  checkTextArguments,
  operationLimitsPlugin,
  parseWithLimits,
  stringifyWithinCap,
  undeclaredListSizes,
  type OperationLimits,
} from './query-limits';

const sdl = (file: string) => readFileSync(join(projectRoot(), 'schema', file), 'utf8');
const api = buildSchema(sdl('api.graphql'));
const defaults: OperationLimits = loadConfig('gateway', { NODE_ENV: 'test' }).limits;
const unlimited: OperationLimits = {
  maxDepth: Infinity,
  maxFields: Infinity,
  maxAliases: Infinity,
  maxCost: Infinity,
};

const check = (
  query: string | DocumentNode,
  limits: Partial<OperationLimits>,
  variables: Record<string, unknown> = {},
) =>
  checkOperationLimits(
    api,
    typeof query === 'string' ? parse(query) : query,
    undefined,
    variables,
    { ...unlimited, ...limits },
  );

/** The smallest value of one limit that lets `query` through (the measure, seen from outside). */
function measured(
  query: string,
  limit: keyof OperationLimits,
  variables: Record<string, unknown> = {},
): number {
  let low = 0;
  let high = 1;
  while (check(query, { [limit]: high }, variables)) high *= 2;
  while (low + 1 < high) {
    const mid = Math.floor((low + high) / 2);
    if (check(query, { [limit]: mid }, variables)) low = mid;
    else high = mid;
  }
  return high;
}

/** `query Q { ...F0 }` where each fragment spreads the next twice: 2^levels fields expanded. */
function fragmentChain(levels: number): string {
  let doc = 'query Q { ...F0 }\n';
  for (let i = 0; i < levels; i++) doc += `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }\n`;
  return doc + `fragment F${levels} on Query { movies { totalCount } }\n`;
}

describe('checkOperationLimits', () => {
  it('measures depth, fields and aliases, fragments expanded, introspection ignored', () => {
    const query = `
      query Q { movie(id: "1") { ...M a: title b: title title __typename } }
      fragment M on Movie { showtimes { hall { cinema { name } } } }`;
    expect(measured(query, 'maxDepth')).toBe(5);
    expect(measured(query, 'maxFields')).toBe(8);
    expect(measured(query, 'maxAliases')).toBe(2);
  });

  it('names the limit and its value in a QUERY_TOO_COMPLEX error', () => {
    const error = check('{ movie(id: "1") { showtimes { id } } }', { maxDepth: 2 });
    expect(error?.message).toBe(
      'The operation nests fields deeper than the limit of 2 levels (QUERY_MAX_DEPTH)',
    );
    expect(error?.extensions).toEqual({ code: 'QUERY_TOO_COMPLEX', http: { status: 400 } });
  });

  it('measures each fragment once: a chain that doubles at every level is linear work', () => {
    const document = parse(fragmentChain(40));
    let reads = 0;
    for (const def of document.definitions) {
      if (def.kind !== Kind.FRAGMENT_DEFINITION) continue;
      const { selectionSet } = def;
      Object.defineProperty(def, 'selectionSet', {
        get: () => {
          reads += 1;
          return selectionSet;
        },
      });
    }
    // 2^41 fields: no limit reached means every level was summed, each fragment read once.
    expect(
      checkOperationLimits(api, document, 'Q', {}, { ...unlimited, maxFields: 2 ** 42 }),
    ).toBeNull();
    expect(reads).toBe(41);
    expect(check(fragmentChain(40), { maxFields: 2 ** 40 })?.message).toMatch(
      /limit of 1099511627776 fields/,
    );
  });

  it('stops at the first limit exceeded, even for a chain of a thousand fragments', () => {
    const error = check(fragmentChain(1000), defaults);
    expect(error?.message).toMatch(/limit of 1500 fields/);
  });

  it('does not loop on fragment cycles (invalid documents)', () => {
    const cyclic =
      'query Q { ...A } fragment A on Query { ...B movies { totalCount } } fragment B on Query { ...A }';
    expect(check(cyclic, defaults)).toBeNull();
  });

  it('multiplies by the page asked for, from literals, variables and defaults', () => {
    const query = `query($n: Int) { movies(first: $n) { edges { node { id title } } } }`;
    // 1 (movies) + 1 (edges) + n × (1 node + 2 leaves)
    expect(measured(query, 'maxCost', { n: 5 })).toBe(17);
    expect(measured(query, 'maxCost', { n: 100 })).toBe(302);
    expect(measured(query, 'maxCost')).toBe(62); // first defaults to 20
    // Beyond the maximum the resolver refuses: the estimate stays at the maximum.
    expect(measured(query, 'maxCost', { n: 5000 })).toBe(302);
    const withDefault = `query($n: Int = 3) { movies(first: $n) { edges { node { id } } } }`;
    expect(measured(withDefault, 'maxCost')).toBe(8);
  });

  it('multiplies a connection’s page inside a fragment by the field that spreads it', () => {
    const inline = '{ movies(first: 50) { totalCount edges { node { id } } } }';
    const spread = `{ movies(first: 50) { ...Page } }
      fragment Page on MovieConnection { totalCount edges { node { id } } }`;
    expect(measured(spread, 'maxCost')).toBe(measured(inline, 'maxCost'));
    expect(measured(inline, 'maxCost')).toBe(1 + 1 + 1 + 50 * 2);
  });

  it('refuses nested lists: movie → showtimes → movie → showtimes …', () => {
    const nested = `query($id: ID!) { movie(id: $id) { showtimes { movie { showtimes { movie {
      showtimes { id } } } } } } }`;
    expect(check(nested, defaults, { id: '1' })?.message).toMatch(/QUERY_MAX_COST/);
    const few = `{ movie(id: "1") { showtimes(limit: 5) { movie { showtimes(limit: 5) { id } } } } }`;
    expect(check(few, defaults)).toBeNull();
  });

  it('refuses aliased copies of a large list', () => {
    const copy = (n: number) => `s${n}: showtime(id: "1") { seatMap { seats { seatId status } } }`;
    const copies = (n: number) => `{ ${Array.from({ length: n }, (_, i) => copy(i)).join(' ')} }`;
    expect(check(copies(1), defaults)).toBeNull();
    expect(check(copies(20), defaults)?.message).toMatch(/QUERY_MAX_COST/);
  });

  it('honours @skip and @include', () => {
    const query = `query($deep: Boolean!) {
      movie(id: "1") { id showtimes @include(if: $deep) { hall { seats { id } } } } }`;
    expect(check(query, defaults, { deep: true })?.message).toMatch(/QUERY_MAX_COST/);
    expect(check(query, defaults, { deep: false })).toBeNull();
  });

  it('sizes a subgraph’s _entities by its representations', () => {
    const cinemas = buildSubgraphSchema(gql(sdl('cinemas.graphql')));
    expect(undeclaredListSizes(cinemas)).toEqual([]);
    const query = parse(`query($r: [_Any!]!) { _entities(representations: $r) {
      ... on Movie { showtimes(limit: 10) { id } } } }`);
    const representations = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ __typename: 'Movie', id: String(i) }));
    const cost = (n: number) =>
      checkOperationLimits(
        cinemas,
        query,
        undefined,
        { r: representations(n) },
        {
          ...unlimited,
          maxCost: 1000,
        },
      );
    expect(cost(40)).toBeNull(); // 1 + 40 × (1 + 10 × 1) = 441
    expect(cost(100)?.message).toMatch(/QUERY_MAX_COST/); // 1101
  });

  it('lets every client operation of the contract through with the default limits', () => {
    const checked: string[] = [];
    for (const op of contractOperations()) {
      // Operations of capabilities not built yet do not validate; they are checked once built.
      if (validate(api, op.document).length > 0) continue;
      expect([op.name, check(op.document, defaults)]).toEqual([op.name, null]);
      checked.push(op.name);
    }
    expect(checked).toEqual(expect.arrayContaining(['MovieDetail', 'SeatMap', 'Cinemas', 'Me']));
  });
});

describe('declared list sizes', () => {
  it("count a list of undeclared size (another team's subgraph) as one item", () => {
    const schema = buildSchema(`
      type Query { products: [Product!]! }
      type Product { id: ID! name: String! reviews: [Review!]! }
      type Review { id: ID! body: String! product: Product! }
    `);
    const cost = (maxCost: number) =>
      checkOperationLimits(
        schema,
        parse('{ products { id name reviews { id body product { id name } } } }'),
        null,
        {},
        { ...unlimited, maxCost },
      );
    expect(cost(9)).toBeNull(); // 1 + 1 × (2 + 1 + 1 × (2 + 3))
    expect(cost(8)?.message).toMatch(/QUERY_MAX_COST/);
  });

  it('cover every list of the API schema and of each subgraph', () => {
    expect(undeclaredListSizes(api)).toEqual([]);
    for (const name of ['users', 'movies', 'cinemas', 'bookings']) {
      expect([name, undeclaredListSizes(buildSubgraphSchema(gql(sdl(`${name}.graphql`))))]).toEqual(
        [name, []],
      );
    }
  });

  it('size connections by their `first`, as runtime/pagination.ts bounds it', () => {
    expect([CONNECTION_PAGE.default, CONNECTION_PAGE.max]).toEqual([
      DEFAULT_PAGE_SIZE,
      MAX_PAGE_SIZE,
    ]);
    const schema = buildSchema(`
      type Query { reviews(first: Int): ReviewConnection! }
      type ReviewConnection { edges: [ReviewEdge!]! }
      type ReviewEdge { node: Review! }
      type Review { id: ID! }
    `);
    expect(undeclaredListSizes(schema)).toEqual([]);
    const cost = (first: number) =>
      checkOperationLimits(
        schema,
        parse(`{ reviews(first: ${first}) { edges { node { id } } } }`),
        null,
        {},
        {
          ...unlimited,
          maxCost: 100,
        },
      );
    expect(cost(49)).toBeNull(); // 2 + 49 × 2
    expect(cost(50)?.message).toMatch(/QUERY_MAX_COST/);
  });

  it('name a new list without one, and a connection without a page size', () => {
    const schema = buildSchema(`
      type Query { movie: Movie, reviews: [Review!]!, moreMovies: MovieConnection! }
      type Movie { id: ID! }
      type Review { id: ID! }
      type MovieConnection { edges: [MovieEdge!]! }
      type MovieEdge { node: Movie! }
    `);
    expect(undeclaredListSizes(schema)).toEqual(['Query.reviews', 'Query.moreMovies']);
  });
});

describe('checkTextArguments', () => {
  const text = (query: string, variables: Record<string, unknown> = {}) =>
    checkTextArguments(parse(query), undefined, variables);

  it('refuses control characters in literals and variables, naming the innermost field', () => {
    expect(text('{ movies(filter: { search: "a\\u0000b" }) { totalCount } }')?.extensions).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'search',
      http: { status: 400 },
    });
    const viaVariable = text(
      'query($t: String) { movies(filter: { search: $t }) { totalCount } }',
      { t: 'x\u001by' },
    );
    expect(viaVariable?.extensions?.field).toBe('search');
    const viaInput = text(
      'mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { id } }',
      { input: { name: 'A\u0000' } },
    );
    expect(viaInput?.message).toBe('name must not contain control characters');
    const inFragment = text(
      'query { ...F } fragment F on Query { movies(filter: { genre: "\\u0001" }) { totalCount } }',
    );
    expect(inFragment?.extensions?.field).toBe('genre');
  });

  it('lets tabs, line breaks and any other text through', () => {
    expect(
      text('query($t: String) { movies(filter: { search: $t }) { totalCount } }', {
        t: 'Lật Mặt\t7\r\n🎬',
      }),
    ).toBeNull();
  });
});

describe('parseWithLimits', () => {
  it('refuses a document over the token limit with GRAPHQL_PARSE_FAILED naming it', () => {
    expect(() => parseWithLimits(`{ ${'a '.repeat(200)} }`, 100)).toThrow(
      expect.objectContaining({
        message:
          'Syntax Error: the document has more than 100 tokens, the limit (QUERY_MAX_TOKENS); parsing stopped',
        extensions: expect.objectContaining({ code: 'GRAPHQL_PARSE_FAILED' }),
      }),
    );
    expect(parseWithLimits('{ a }', 100).definitions).toHaveLength(1);
  });
});

describe('stringifyWithinCap', () => {
  it('serializes once, and refuses a result over the cap in bytes (not characters)', () => {
    const stringify = stringifyWithinCap(2048);
    expect(stringify({ data: { a: 'x'.repeat(100) } })).toBe(
      JSON.stringify({ data: { a: 'x'.repeat(100) } }) + '\n',
    );
    const big = JSON.parse(stringify({ data: { a: 'x'.repeat(3000) } }));
    expect(big).toEqual({
      errors: [
        {
          message:
            'The response would be over the 2 KiB limit (RESPONSE_MAX_BYTES): ask for less (smaller pages, fewer fields)',
          extensions: { code: 'RESPONSE_TOO_LARGE' },
        },
      ],
    });
    // 1000 characters, 3000 bytes in UTF-8.
    expect(JSON.parse(stringify({ data: { a: 'ắ'.repeat(1000) } })).errors[0].extensions.code).toBe(
      'RESPONSE_TOO_LARGE',
    );
  });
});

describe('operationLimitsPlugin', () => {
  /** The plugin's check of one request, as Apollo Server calls it: the error, or null. */
  const pluginCheck = (plugin: ReturnType<typeof operationLimitsPlugin>) => {
    return async (document: DocumentNode, variables: Record<string, unknown>) => {
      const listener = await plugin.requestDidStart!({} as never);
      try {
        await listener!.didResolveOperation!({
          schema: api,
          document,
          operationName: undefined,
          request: { variables },
        } as never);
        return null;
      } catch (error) {
        return error as Error;
      }
    };
  };

  it('remembers a document’s result only for the values of the variables the checks read', async () => {
    const run = pluginCheck(operationLimitsPlugin(defaults));
    // One parsed document, as Apollo hands every request with the same text.
    const document = parse(`query($deep: Boolean!, $n: Int, $t: String) {
      movies(first: $n, filter: { search: $t }) { edges { node { id } } }
      movie(id: "1") { id showtimes @include(if: $deep) { hall { seats { id } } } } }`);
    expect(await run(document, { deep: false, n: 5, t: 'a' })).toBeNull();
    expect((await run(document, { deep: true, n: 5, t: 'a' }))?.message).toMatch(/QUERY_MAX_COST/);
    expect(await run(document, { deep: false, n: 5, t: 'a' })).toBeNull();
    // Page sizes read through variables change the estimate...
    expect(await run(document, { deep: false, n: 100, t: 'a' })).toBeNull();
    expect((await run(document, { deep: false, n: 100, t: 'a\u0000' }))?.message).toBe(
      'search must not contain control characters',
    );
    // ...and so does a variable absent rather than given (its default applies).
    expect(await run(document, { deep: false, t: 'a' })).toBeNull();
    expect((await run(document, { deep: true, n: 5, t: 'a' }))?.message).toMatch(/QUERY_MAX_COST/);
    expect((await run(document, { deep: false, n: 5, t: 'b\u0001' }))?.message).toBe(
      'search must not contain control characters',
    );
  });

  it('follows the path a skipped branch opens: a variable read only there counts', async () => {
    const run = pluginCheck(operationLimitsPlugin({ ...defaults, maxCost: 500 }));
    const document = parse(`query($skip: Boolean!, $n: Int) {
      movies(first: 1) @skip(if: $skip) { edges { node { showtimes(limit: $n) { id } } } } }`);
    expect(await run(document, { skip: true, n: 500 })).toBeNull();
    expect(await run(document, { skip: false, n: 5 })).toBeNull();
    // Skipped before, with the same $n: the walk now reaches $n and refuses it.
    expect((await run(document, { skip: false, n: 500 }))?.message).toMatch(/QUERY_MAX_COST/);
    expect(await run(document, { skip: true, n: 500 })).toBeNull();
  });
});

describe('stringifyWithinCap, sharing serializations', () => {
  it('serializes a shared data object once, and nothing else from memory', () => {
    const stringify = stringifyWithinCap(2048, { shareSerialization: true });
    const data = { a: 'x' };
    const first = stringify({ data });
    const spy = jest.spyOn(JSON, 'stringify');
    try {
      expect(stringify({ data })).toBe(first);
      expect(spy).not.toHaveBeenCalled();
      // Another object, or the same data with errors or extensions: serialized as it is.
      expect(stringify({ data: { a: 'y' } })).toBe('{"data":{"a":"y"}}\n');
      expect(stringify({ data, errors: [{ message: 'm' }] })).toContain('"errors"');
      expect(stringify({ data, extensions: { e: 1 } })).toContain('"extensions"');
      expect(spy).toHaveBeenCalledTimes(3);
    } finally {
      spy.mockRestore();
    }
    // Without the option, every call serializes.
    const plain = stringifyWithinCap(2048);
    const again = jest.spyOn(JSON, 'stringify');
    try {
      plain({ data });
      plain({ data });
      expect(again).toHaveBeenCalledTimes(2);
    } finally {
      again.mockRestore();
    }
  });
});
