import { ApolloServer, HeaderMap } from '@apollo/server';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  buildSchema,
  getIntrospectionQuery,
  Kind,
  parse,
  validate,
  visit,
  type DocumentNode,
  type ValidationRule,
} from 'graphql';
import gql from 'graphql-tag';
import { contractOperations } from '../tests/support/contract';
import { loadConfig } from './config';
import { projectRoot } from './paths';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './pagination';
import {
  CONNECTION_PAGE,
  MAX_FIELD_COMPARISONS,
  MAX_FRAGMENT_CHAIN,
  MAX_FRAGMENTS,
  MAX_INTROSPECTION_FIELDS,
  MAX_VARIABLE_DEPTH,
  checkFragmentLimits,
  checkOperationLimits,
  checkTextArguments,
  checkVariablesDepth,
  estimateFieldComparisons,
  operationLimitsPlugin,
  parseWithLimits,
  stringifyWithinCap,
  undeclaredListSizes,
  type OperationLimits,
} from './query-limits';

const sdl = (file: string) => readFileSync(join(projectRoot(), 'schema', file), 'utf8');
const api = buildSchema(sdl('api.graphql'));
const configured = loadConfig('gateway', { NODE_ENV: 'test' }).limits;
const defaults: OperationLimits = configured;
/** The partner graph's limits (gateway/src/public/public-limits.ts; runtime imports no gateway). */
const partner: OperationLimits = { maxDepth: 8, maxFields: 300, maxAliases: 20, maxCost: 12_000 };
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

/** `{ ...R0 }` with `length` fragments, each selecting `__typename` and spreading the next. */
function spreadChain(length: number): string {
  let doc = '{ ...R0 }\n';
  for (let i = 0; i < length; i++) {
    doc += `fragment R${i} on Query { __typename ${i + 1 < length ? `...R${i + 1}` : ''} }\n`;
  }
  return doc;
}

/** `count` aliased copies of `field`: `a0: field a1: field …`. */
const aliased = (count: number, field: string) =>
  Array.from({ length: count }, (_, i) => `a${i}: ${field}`).join(' ');

/** `[[[…]]]` nested `depth` lists deep, built without recursion. */
function nestedLists(depth: number): unknown {
  let value: unknown = [];
  for (let i = 1; i < depth; i++) value = [value];
  return value;
}

/** What Apollo Client sends: `__typename` added to every selection set below the root. */
function withTypenames(document: DocumentNode): DocumentNode {
  return visit(document, {
    SelectionSet(set, _key, parent) {
      if (parent && 'kind' in parent && parent.kind === Kind.OPERATION_DEFINITION) return;
      const typename = { kind: Kind.FIELD, name: { kind: Kind.NAME, value: '__typename' } };
      return { ...set, selections: [...set.selections, typename] };
    },
  });
}

/** Selections on one movie: `{ movies { edges { node { … } } } }`. */
const onMovie = (selections: string) => `{ movies { edges { node { ${selections} } } } }`;

/** `count` copies of `selection`, each `#` in it replaced by the copy's number. */
const copies = (count: number, selection: string) =>
  Array.from({ length: count }, (_, i) => selection.replaceAll('#', String(i))).join(' ');

/** Parsed within the token limit every service applies. */
const parseLimited = (source: string) => parse(source, { maxTokens: configured.maxTokens });

/** (a): 600 copies of one field with a sub-selection in one selection set, 2,400 tokens. */
const sameFieldCopies = onMovie(copies(600, 'showtimes { id }'));
/** (b): 100 fragments each selecting `showtimes { id }` four times, spread side by side. */
const repeatingFragments =
  onMovie(copies(100, '...F#')) +
  copies(100, `fragment F# on Movie { ${copies(4, 'showtimes { id }')} }`);
/** 20 copies of `showtimes` each selecting 20 copies of `movie`: never over 20 in one set. */
const nestedCopies = onMovie(copies(20, `showtimes { ${copies(20, 'movie { id }')} }`));

const MOVIE_FIELDS = ['title', 'synopsis', 'durationMinutes', 'ageRating', 'genres', 'director'];

/**
 * A movie page as Apollo Client sends it: 30 colocated fragments spread side by side, `id` in
 * each, 6 of them reading the showtimes (their hall and cinema, a fragment of their own), and
 * `__typename` in every selection set.
 */
function moviePage(): DocumentNode {
  const sections = Array.from({ length: 30 }, (_, i) => {
    const showtimes =
      i < 6
        ? `showtimes(from: $from, city: $city) { id startsAt ${i % 2 ? 'endsAt' : 'format'}
             hall { id name cinema { id name } } ...ShowtimeBadge }`
        : '';
    return `fragment MovieSection${i} on Movie { id ${MOVIE_FIELDS[i % 6]} ${showtimes} }`;
  });
  return withTypenames(
    parse(`query MoviePage($id: ID!, $from: DateTime, $city: String) {
      movie(id: $id) { id ${copies(30, '...MovieSection#')} }
    }
    ${sections.join('\n')}
    fragment ShowtimeBadge on Showtime { id format language subtitles }`),
  );
}

/** A seat page as Apollo Client sends it: 15 fragments on the showtime, each reading its
 * movie, hall and prices again. */
function seatPage(): DocumentNode {
  return withTypenames(
    parse(`query SeatPage($id: ID!) {
      showtime(id: $id) {
        id ${copies(15, '...SeatPanel#')}
        seatMap { version seats { ...SeatCell } }
      }
    }
    ${copies(
      15,
      `fragment SeatPanel# on Showtime {
        id startsAt movie { id title } hall { id name cinema { id name } } prices { seatType amount }
      }`,
    )}
    fragment SeatCell on SeatState { seatId row number type status heldByMe }`),
  );
}

describe('checkOperationLimits', () => {
  it('measures depth, fields and aliases, fragments expanded, __typename as a field', () => {
    const query = `
      query Q { movie(id: "1") { ...M a: title b: title title __typename } }
      fragment M on Movie { showtimes { hall { cinema { name } } } }`;
    expect(measured(query, 'maxDepth')).toBe(5);
    expect(measured(query, 'maxFields')).toBe(9);
    expect(measured(query, 'maxAliases')).toBe(2);
  });

  it('counts __typename as any scalar: its aliases, its fields, its cost under lists', () => {
    // 27 KB, 4,800 tokens: once free of every limit, and 4 s of work under the seat lists.
    const seats = `{ cinemas { halls { seats { ${aliased(1600, '__typename')} } } } }`;
    expect(check(seats, defaults)?.message).toBe(
      'The operation uses more than the limit of 100 aliases (QUERY_MAX_ALIASES)',
    );
    expect(check(seats, defaults)?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
    const halls = `{ cinemas { halls { ${aliased(1000, '__typename')} } } }`;
    expect(check(halls, partner)?.message).toMatch(/limit of 20 aliases/);
    // Each counts once per item of the lists around it: 1 + 100 × (1 + 30 × 1).
    expect(measured('{ cinemas { halls { __typename } } }', 'maxCost')).toBe(3101);
    expect(measured('{ cinemas { halls { __typename } } }', 'maxFields')).toBe(3);
    // Repeated without aliases: each one a field, as `title title` is.
    expect(measured(`{ movie(id: "1") { ${'__typename '.repeat(50)} } }`, 'maxFields')).toBe(51);
    const manyPlain = `{ cinemas { halls { seats { ${'__typename '.repeat(1501)} } } } }`;
    expect(check(manyPlain, defaults)?.message).toMatch(/QUERY_MAX_FIELDS/);
  });

  it('lets the contract’s operations through as Apollo Client sends them, __typename everywhere', () => {
    const checked: string[] = [];
    for (const op of contractOperations()) {
      if (validate(api, op.document).length > 0) continue; // as in the test above
      const sent = withTypenames(op.document);
      expect(validate(api, sent)).toEqual([]);
      const limits = op.file === 'partner.graphql' ? partner : defaults;
      expect([op.name, check(sent, limits)]).toEqual([op.name, null]);
      checked.push(op.name);
    }
    expect(checked).toEqual(
      expect.arrayContaining(['SeatMap', 'MovieDetail', 'PartnerListings', 'PartnerMovie']),
    );
  });

  it('counts __schema and __type as fields, at most a couple per operation', () => {
    // Sandbox's query: one __schema, 15 levels deep (not limited inside introspection).
    const sandbox = getIntrospectionQuery({
      descriptions: true,
      specifiedByUrl: true,
      directiveIsRepeatable: true,
      schemaDescription: true,
      inputValueDeprecation: true,
      oneOf: true,
    });
    expect(check(sandbox, defaults)).toBeNull();
    expect(check(sandbox, partner)).toBeNull();
    expect(measured(sandbox, 'maxFields')).toBeGreaterThan(200); // what it selects counts
    expect(
      check('{ __schema { queryType { name } } __type(name: "Movie") { name } }', defaults),
    ).toBeNull();
    // 700 aliased copies of the whole schema blocked the process 3.5 s.
    const copies = `{ ${aliased(700, '__schema { ...S }')} } fragment S on __Schema { types { name } }`;
    expect(check(copies, defaults)?.message).toMatch(/limit of 2 introspection fields/);
    const three = `{ ${aliased(MAX_INTROSPECTION_FIELDS + 1, '__type(name: "Movie") { name }')} }`;
    expect(check(three, unlimited)).toEqual(
      expect.objectContaining({
        message: `The operation selects more than the limit of ${MAX_INTROSPECTION_FIELDS} introspection fields (__schema, __type)`,
        extensions: { code: 'QUERY_TOO_COMPLEX', http: { status: 400 } },
      }),
    );
    // Spread twice, counted twice.
    expect(
      check('{ ...I ...I ...I } fragment I on Query { __schema { queryType { name } } }', unlimited)
        ?.message,
    ).toMatch(/introspection fields/);
    // Aliases inside introspection count too.
    expect(check(`{ __schema { types { ${aliased(21, 'name')} } } }`, partner)?.message).toMatch(
      /limit of 20 aliases/,
    );
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

describe('estimateFieldComparisons', () => {
  it('counts each pair of same-named fields and the pairs below it, as graphql-js compares them', () => {
    // 179,700 pairs of `showtimes`, each comparing its pair of `id` below by reference (1/16).
    expect(estimateFieldComparisons(parse(sameFieldCopies))).toBeCloseTo(
      ((600 * 599) / 2) * (1 + 1 / 16),
    );
    // Different response names are never compared.
    expect(estimateFieldComparisons(parse(onMovie(copies(600, 's#: showtimes { id }'))))).toBe(0);
    // Leaves of one field compare by reference; leaves of different fields under one name
    // conflict, a conflict per pair (50 × 50 of them).
    expect(estimateFieldComparisons(parse(onMovie(copies(100, 'id'))))).toBeCloseTo(
      (100 * 99) / 2 / 16,
    );
    expect(estimateFieldComparisons(parse(onMovie(copies(50, 'a: id a: title'))))).toBeGreaterThan(
      50 * 50,
    );
  });

  it('follows pairs below pairs, which a count per selection set would miss', () => {
    // 400 `movie` fields meet under `showtimes`: 79,800 pairs (150 ms to validate).
    expect(estimateFieldComparisons(parse(nestedCopies))).toBeGreaterThan((400 * 399) / 2);
    // A booking's and a movie's `node` return different types: their `status` fields conflict,
    // 8 × 8 for each of the 8 × 8 pairs of `node`, though each side alone compares cheaply.
    const node = `node { ${copies(8, 'status')} }`;
    const acrossTypes = `{ movies { edges {
      ${copies(8, `... on BookingEdge { ${node} } ... on MovieEdge { ${node} }`)}
    } } }`;
    expect(estimateFieldComparisons(parse(acrossTypes))).toBeGreaterThan(64 * 64);
    const oneType = `{ movies { edges { ${copies(16, `... on MovieEdge { ${node} }`)} } } }`;
    expect(estimateFieldComparisons(parse(oneType))).toBeLessThan(1000);
  });

  it('expands fragments where they are spread, each once, and follows no cycle', () => {
    // 400 fields under one name: 79,800 pairs less the 600 within the fragments.
    expect(estimateFieldComparisons(parse(repeatingFragments))).toBeGreaterThan(79_200);
    // A fragment spread twice is compared once; within itself, once where it is defined.
    const twice = `${onMovie('...F ...F')} fragment F on Movie { ${copies(4, 'showtimes { id }')} }`;
    expect(estimateFieldComparisons(parse(twice))).toBeCloseTo(6 * (1 + 1 / 16));
    const cyclic = `${onMovie('...A id')} fragment A on Movie { id ...B }
      fragment B on Movie { showtimes { id } ...A ...Nowhere }`;
    expect(estimateFieldComparisons(parse(cyclic))).toBeGreaterThan(0);
  });

  it('walks deep nesting without recursion', () => {
    // Two copies of a chain 1,200 fields deep (the token limit allows 1,600): a pair at each.
    const chain = `${'movie { showtimes { '.repeat(600)} id ${'} } '.repeat(600)}`;
    const deep = parse(`{ ${chain} ${chain} }`, { maxTokens: 10_000 });
    expect(estimateFieldComparisons(deep)).toBeCloseTo(1200 + 1 / 16);
  });

  it('puts what clients send far below the limit', () => {
    const clients: [string, DocumentNode][] = [
      ['introspection', parse(getIntrospectionQuery())],
      ['movie page', moviePage()],
      ['seat page', seatPage()],
      ...contractOperations().map((op): [string, DocumentNode] => [
        op.name,
        withTypenames(op.document),
      ]),
    ];
    const estimates = clients.map(([name, document]) => [name, estimateFieldComparisons(document)]);
    expect(
      estimates.filter(([, estimate]) => Number(estimate) >= MAX_FIELD_COMPARISONS / 5),
    ).toEqual([]);
    expect(estimates.length).toBeGreaterThan(10);
    // Real documents, Apollo Client's way: they validate.
    expect(validate(api, moviePage())).toEqual([]);
    expect(validate(api, seatPage())).toEqual([]);
  });
});

describe('checkFragmentLimits', () => {
  it('refuses 500 fragments each spreading the next, which took a second to validate', () => {
    const document = parse(spreadChain(500)); // 18 KB, within the token limit
    expect(checkFragmentLimits(document)).toEqual(
      expect.objectContaining({
        message: `The document defines more than the limit of ${MAX_FRAGMENTS} fragments`,
        extensions: { code: 'QUERY_TOO_COMPLEX', http: { status: 400 } },
      }),
    );
  });

  it('refuses chains deeper than the limit, however they nest', () => {
    expect(checkFragmentLimits(parse(spreadChain(MAX_FRAGMENT_CHAIN)))).toBeNull();
    expect(checkFragmentLimits(parse(spreadChain(MAX_FRAGMENT_CHAIN + 1)))?.message).toBe(
      `The document chains fragment spreads more than the limit of ${MAX_FRAGMENT_CHAIN} fragments deep`,
    );
    // Spreads inside fields and inline fragments chain as well.
    let nested = '{ movie(id: "1") { ...M0 } }\n';
    for (let i = 0; i <= MAX_FRAGMENT_CHAIN; i++) {
      nested += `fragment M${i} on Movie { showtimes { movie { ... on Movie { ...M${i + 1} } } } }\n`;
    }
    nested += `fragment M${MAX_FRAGMENT_CHAIN + 1} on Movie { id }\n`;
    expect(checkFragmentLimits(parse(nested))?.message).toMatch(/chains fragment spreads/);
  });

  it('lets through what clients send: many fragments side by side, the introspection query', () => {
    let wide = `{ ${Array.from({ length: MAX_FRAGMENTS }, (_, i) => `...W${i}`).join(' ')} }\n`;
    for (let i = 0; i < MAX_FRAGMENTS; i++) wide += `fragment W${i} on Query { __typename }\n`;
    expect(checkFragmentLimits(parse(wide))).toBeNull();
    expect(checkFragmentLimits(parse(wide + 'fragment X on Query { __typename }'))).not.toBeNull();
    expect(checkFragmentLimits(parse(getIntrospectionQuery()))).toBeNull();
    for (const op of contractOperations()) expect(checkFragmentLimits(op.document)).toBeNull();
  });

  it('refuses same-named fields repeated beyond what validation compares in milliseconds', () => {
    const refusal = expect.objectContaining({
      message:
        'The document repeats fields under one response name more than validation allows: ' +
        'comparing them pairwise, fragments expanded and sub-selections in turn, would take ' +
        `over the limit of ${MAX_FIELD_COMPARISONS} comparisons; select each field once per ` +
        'selection set, or give the copies different aliases',
      extensions: { code: 'QUERY_TOO_COMPLEX', http: { status: 400 } },
    });
    // 100–200 ms, 240 ms and 150 ms of validation, all within the token limit.
    for (const source of [sameFieldCopies, repeatingFragments, nestedCopies]) {
      expect(checkFragmentLimits(parseLimited(source))).toEqual(refusal);
    }
    // As many copies as validation compares in a few milliseconds pass.
    expect(checkFragmentLimits(parse(onMovie(copies(60, 'showtimes { id }'))))).toBeNull();
    expect(checkFragmentLimits(parse(onMovie(copies(300, 'id'))))).toBeNull();
    expect(checkFragmentLimits(moviePage())).toBeNull();
    expect(checkFragmentLimits(seatPage())).toBeNull();
  });

  it('leaves cycles and unknown fragments to validation', () => {
    const cyclic = '{ ...A } fragment A on Query { ...B } fragment B on Query { ...A ...Nowhere }';
    expect(checkFragmentLimits(parse(cyclic))).toBeNull();
    expect(validate(api, parse(cyclic)).length).toBeGreaterThan(0);
  });

  it('runs within parseWithLimits, which the graphql-ws paths call before validating', () => {
    expect(() => parseWithLimits(spreadChain(500), 5000)).toThrow(
      expect.objectContaining({
        extensions: expect.objectContaining({ code: 'QUERY_TOO_COMPLEX' }),
      }),
    );
    expect(() => parseWithLimits(spreadChain(MAX_FRAGMENT_CHAIN + 1), 5000)).toThrow(
      /chains fragment spreads/,
    );
    expect(() => parseWithLimits(sameFieldCopies, 5000)).toThrow(
      expect.objectContaining({
        message: expect.stringContaining(`limit of ${MAX_FIELD_COMPARISONS} comparisons`),
        extensions: expect.objectContaining({ code: 'QUERY_TOO_COMPLEX' }),
      }),
    );
    expect(parseWithLimits(spreadChain(3), 5000).definitions).toHaveLength(4);
  });
});

describe('checkVariablesDepth', () => {
  it('refuses values nested deeper than the limit, without overflowing itself', () => {
    // 10 KB of JSON that made the gateway answer 500 "Maximum call stack size exceeded".
    expect(checkVariablesDepth({ x: nestedLists(5000) })).toEqual(
      expect.objectContaining({
        message: `Variable "$x" nests lists or objects deeper than the limit of ${MAX_VARIABLE_DEPTH} levels`,
        extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } },
      }),
    );
    expect(() => JSON.stringify(nestedLists(100_000))).toThrow(RangeError);
    expect(checkVariablesDepth({ x: nestedLists(100_000) })?.extensions?.code).toBe(
      'BAD_USER_INPUT',
    );
  });

  it('counts lists and objects alike, and lets ordinary input through', () => {
    expect(checkVariablesDepth({ x: nestedLists(MAX_VARIABLE_DEPTH) })).toBeNull();
    expect(checkVariablesDepth({ x: nestedLists(MAX_VARIABLE_DEPTH + 1) })).not.toBeNull();
    let objects: unknown = { leaf: 'a' };
    for (let i = 1; i < 4; i++) objects = { inner: [objects] };
    expect(checkVariablesDepth({ o: objects }, 7)).toBeNull(); // 3 × (object, list) + 1
    expect(checkVariablesDepth({ o: objects }, 6)?.message).toMatch(/"\$o"/);
    expect(
      checkVariablesDepth({
        input: { name: 'A', seatIds: ['1', '2'], filter: { search: null, page: 2 } },
        n: 5,
      }),
    ).toBeNull();
    expect(checkVariablesDepth(null)).toBeNull();
    expect(checkVariablesDepth(undefined)).toBeNull();
  });

  it('comes first in checkOperationLimits, which the graphql-ws paths call with the variables', () => {
    const error = checkOperationLimits(
      api,
      parse('{ __typename }'),
      undefined,
      { x: nestedLists(5000) },
      defaults,
    );
    expect(error?.extensions?.code).toBe('BAD_USER_INPUT');
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

  it('refuses variables nested too deep before reading them (the memo serializes them)', async () => {
    const run = pluginCheck(operationLimitsPlugin(defaults));
    const unused = await run(parse('{ __typename }'), { x: nestedLists(5000) });
    expect(unused).toEqual(
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }) }),
    );
    const read = await run(parse('query($n: Int) { movies(first: $n) { totalCount } }'), {
      n: nestedLists(5000),
    });
    expect(read?.message).toMatch(/"\$n" nests lists or objects deeper/);
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

describe('operationLimitsPlugin in Apollo Server', () => {
  /** The definitions of each document validated: this rule runs in graphql-js's own pass. */
  let validated: number[] = [];
  const recording: ValidationRule = () => ({
    Document: (document) => {
      validated.push(document.definitions.length);
    },
  });
  const server = new ApolloServer({
    schema: api,
    parseOptions: { maxTokens: configured.maxTokens },
    validationRules: [recording],
    plugins: [operationLimitsPlugin(defaults)],
  });
  beforeAll(() => server.start());
  afterAll(() => server.stop());

  const post = async (body: object) => {
    const headers = new HeaderMap([['content-type', 'application/json']]);
    const response = await server.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: 'POST', headers, search: '', body },
      context: () => Promise.resolve({}),
    });
    const text = response.body.kind === 'complete' ? response.body.string : '';
    // No status set: the integration answers 200.
    return { status: response.status ?? 200, body: JSON.parse(text) as { errors?: unknown[] } };
  };

  it('refuses a chain of fragments before validation runs, every time it is sent', async () => {
    validated = [];
    const refusal = [
      expect.objectContaining({
        message: `The document defines more than the limit of ${MAX_FRAGMENTS} fragments`,
        extensions: { code: 'QUERY_TOO_COMPLEX' },
      }),
    ];
    const res = await post({ query: spreadChain(500) });
    expect([res.status, res.body.errors]).toEqual([400, refusal]);
    // Apollo validated its one-definition stand-in, never the 501 definitions.
    expect(validated).toEqual([1]);
    // Apollo kept the stand-in for this text (its document store): refused again.
    const again = await post({ query: spreadChain(500) });
    expect([again.status, again.body.errors]).toEqual([400, refusal]);
    const deep = await post({ query: spreadChain(MAX_FRAGMENT_CHAIN + 1), operationName: 'X' });
    expect(deep.status).toBe(400);
    expect(deep.body.errors).toEqual([
      expect.objectContaining({ message: expect.stringMatching(/chains fragment spreads/) }),
    ]);
    expect(validated.every((definitions) => definitions === 1)).toBe(true);
    validated = [];
    const ok = await post({ query: spreadChain(3) });
    expect([ok.status, ok.body]).toEqual([200, { data: { __typename: 'Query' } }]);
    expect(validated).toEqual([4]);
  });

  it('refuses repeated same-named fields before validation runs', async () => {
    validated = [];
    for (const query of [sameFieldCopies, repeatingFragments]) {
      const res = await post({ query });
      expect([res.status, res.body.errors]).toEqual([
        400,
        [
          expect.objectContaining({
            message: expect.stringContaining(`limit of ${MAX_FIELD_COMPARISONS} comparisons`),
            extensions: { code: 'QUERY_TOO_COMPLEX' },
          }),
        ],
      ]);
    }
    // Apollo validated the one-definition stand-ins, never the documents.
    expect(validated).toEqual([1, 1]);
  });

  it('answers variables nested 5,000 deep with BAD_USER_INPUT, not a 500', async () => {
    const res = await post({ query: '{ __typename }', variables: { x: nestedLists(5000) } });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT' } }),
    ]);
  });
});
