import {
  buildSchema,
  ERRORS,
  operationFromDocument,
  type Schema,
} from '@apollo/federation-internals';
import { computeResponse } from '@apollo/gateway/dist/resultShaping';
import { OperationTypeNode, parse, type SelectionNode } from 'graphql';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Supergraph } from '@apollo/federation-internals';
import { projectRoot } from '../../../runtime/paths';
import { contractOperations } from '../../../tests/support/contract';
import { compileResultShaper } from './result-shaper';

/** A small schema with what the supergraph lacks: interfaces, unions, nested non-null lists. */
const SDL = `
  type Query {
    node(id: ID!): Node
    nodes: [Node!]!
    search: [Result]
    strict: Thing!
    matrix: [[Int!]]!
    things(first: Int = 2): [Thing!]
  }
  interface Node { id: ID! }
  type Thing implements Node { id: ID! name: String! kind: Kind size: Float tags: [String!] other: Node }
  type Other implements Node { id: ID! flag: Boolean! count: Int }
  union Result = Thing | Other
  enum Kind { BIG SMALL }
`;

const QUERIES = [
  `query Q($id: ID!, $withName: Boolean!, $skipKind: Boolean = false) {
     node(id: $id) { __typename id ... on Thing { name @include(if: $withName) kind @skip(if: $skipKind) tags } ... on Other { flag count } }
     nodes { id t: __typename ... on Thing { other { id ... on Other { flag } } } }
   }`,
  `query { search { __typename ... on Thing { id name size } ... on Other { id count } } strict { id name kind } matrix }`,
  `query R($first: Int) { things(first: $first) { id ...F name } constructor: strict { id } }
   fragment F on Thing { kind size other { __typename id } }`,
  `query { a: node(id: "1") { id } b: node(id: "2") { ... on Node { id } ... on Thing { name } } }`,
];

/** A deterministic pseudo-random source (mulberry32). */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Subgraph-like data for a selection, mostly well-formed, sometimes not: nulls anywhere,
 * wrong leaf values, missing or unknown `__typename`, extra fields, lists of other lengths.
 */
function fakeData(schema: Schema, typeName: string, next: () => number, depth = 0): unknown {
  const type = schema.type(typeName);
  const odd = (p: number) => next() < p;
  if (!type) return null;
  if (type.kind === 'ScalarType' || type.kind === 'EnumType') {
    const pick = next();
    if (type.kind === 'EnumType') return odd(0.1) ? 'HUGE' : pick < 0.5 ? 'BIG' : 'SMALL';
    if (type.name === 'Boolean') return odd(0.1) ? 'yes' : pick < 0.5;
    if (type.name === 'Int') return odd(0.1) ? 1.5 : Math.floor(pick * 100);
    if (type.name === 'Float') return odd(0.1) ? 'x' : pick * 10;
    if (type.name === 'ID')
      return odd(0.1) ? { id: 1 } : odd(0.3) ? 7 : `id${Math.floor(pick * 9)}`;
    return odd(0.05) ? 12 : `s${Math.floor(pick * 9)}`;
  }
  if (depth > 4) return null;
  const objects = ['Thing', 'Other'];
  const concrete =
    type.kind === 'ObjectType' ? type.name : objects[Math.floor(next() * objects.length)];
  const object = schema.type(concrete);
  if (!object || object.kind !== 'ObjectType') return null;
  const value: Record<string, unknown> = {};
  if (!odd(0.2)) value.__typename = odd(0.05) ? 'Nope' : odd(0.03) ? 'Kind' : concrete;
  for (const field of object.fields()) {
    if (odd(0.1)) continue;
    if (odd(0.08)) {
      value[field.name] = null;
      continue;
    }
    const named = field.type!.toString().replace(/[[\]!]/g, '');
    const isList = field.type!.toString().includes('[');
    value[field.name] = isList
      ? Array.from({ length: Math.floor(next() * 3) }, () =>
          odd(0.1) ? null : fakeData(schema, named, next, depth + 1),
        )
      : fakeData(schema, named, next, depth + 1);
  }
  if (odd(0.1)) value.extra = 'not selected';
  return value;
}

function rootData(schema: Schema, next: () => number): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  const query = schema.schemaDefinition.rootType('query')!;
  for (const field of query.fields()) {
    if (field.name.startsWith('_') || next() < 0.05) continue;
    const text = field.type!.toString();
    const named = text.replace(/[[\]!]/g, '');
    const depth = (text.match(/\[/g) ?? []).length;
    const list = (d: number): unknown =>
      d === 0
        ? fakeData(schema, named, next)
        : Array.from({ length: Math.floor(next() * 3) }, () => (next() < 0.1 ? null : list(d - 1)));
    data[field.name] = next() < 0.05 ? null : list(depth);
  }
  // Aliased fields read their own response names.
  for (const alias of ['a', 'b', 'constructor']) data[alias] = fakeData(schema, 'Thing', next);
  return data;
}

/** What a shaping produced, comparable: data as JSON, errors as message and path, or a throw. */
function outcome(run: () => { data: unknown; errors: readonly unknown[] }) {
  try {
    const { data, errors } = run();
    return {
      data: JSON.stringify(data),
      errors: (errors as Array<{ message: string; path?: unknown; extensions?: unknown }>).map(
        (e) => ({ message: e.message, path: e.path, extensions: e.extensions }),
      ),
    };
  } catch (error) {
    return { thrown: (error as Error).message };
  }
}

function compare(schema: Schema, query: string, variables: Record<string, unknown>, seeds: number) {
  const operation = operationFromDocument(schema, parse(query), { validate: false });
  const shaper = compileResultShaper(operation);
  const introspect = (selection: SelectionNode) => ({ introspected: selection.kind });
  let differences = 0;
  for (let seed = 1; seed <= seeds; seed++) {
    const input = rootData(schema, random(seed));
    const ours = outcome(() => shaper.shape(structuredClone(input), variables, introspect));
    const apollo = outcome(() =>
      computeResponse({
        operation,
        variables,
        input: structuredClone(input),
        introspectionHandling: introspect as never,
      }),
    );
    expect(ours).toEqual(apollo);
    if (JSON.stringify(ours) !== JSON.stringify(apollo)) differences += 1;
  }
  return differences;
}

describe('compileResultShaper', () => {
  const schema = buildSchema(SDL);

  it.each(QUERIES.map((q, i) => [i, q]))(
    'shapes exactly as Apollo’s computeResponse (query %i, 400 random inputs)',
    (_i, query) => {
      for (const variables of [
        { id: '1', withName: true },
        { id: '1', withName: false, skipKind: true },
        { first: 1 },
      ]) {
        expect(compare(schema, query, variables, 400)).toBe(0);
      }
    },
  );

  it('builds its completion errors only when they are read (a subgraph error drops them)', () => {
    const operation = operationFromDocument(schema, parse('{ strict { id } }'), {
      validate: false,
    });
    const shaper = compileResultShaper(operation);
    const build = jest.spyOn(ERRORS.INVALID_GRAPHQL, 'err');
    try {
      const shaped = shaper.shape({ strict: null }, {}, () => null);
      expect(shaped.data).toBeNull();
      expect(build).not.toHaveBeenCalled();
      expect(shaped.errors.map((e) => [e.message, e.path])).toEqual([
        ['Cannot return null for non-nullable field Query.strict.', ['strict']],
      ]);
      expect(shaped.errors).toBe(shaped.errors);
      expect(build).toHaveBeenCalledTimes(1);
    } finally {
      build.mockRestore();
    }
  });

  it('throws as Apollo does for a skip condition without a boolean value', () => {
    const query = QUERIES[0];
    expect(compare(schema, query, { id: '1' }, 20)).toBe(0);
  });

  it('shapes every contract query on the supergraph as Apollo does', () => {
    const sdl = readFileSync(join(projectRoot(), 'schema', 'supergraph.graphql'), 'utf8');
    const apiSchema = Supergraph.build(sdl).apiSchema();
    const queries = contractOperations().filter((o) => o.kind === OperationTypeNode.QUERY);
    expect(queries.length).toBeGreaterThan(5);
    for (const op of queries) {
      const operation = operationFromDocument(apiSchema, op.document, { validate: false });
      const shaper = compileResultShaper(operation);
      for (let seed = 1; seed <= 30; seed++) {
        const input = contractData(apiSchema, operation.selectionSet.toString(), random(seed));
        const ours = outcome(() => shaper.shape(structuredClone(input), {}, () => null));
        const apollo = outcome(() =>
          computeResponse({
            operation,
            variables: {},
            input: structuredClone(input),
            introspectionHandling: () => null,
          }),
        );
        expect(ours).toEqual(apollo);
      }
    }
  });
});

/** Data for any operation of the supergraph: every root field filled from its type. */
function contractData(schema: Schema, _selection: string, next: () => number) {
  const data: Record<string, unknown> = {};
  const query = schema.schemaDefinition.rootType('query')!;
  const fill = (typeText: string, depth: number): unknown => {
    if (next() < 0.05) return null;
    if (typeText.endsWith('!')) return fill(typeText.slice(0, -1), depth);
    if (typeText.startsWith('[')) {
      return Array.from({ length: Math.floor(next() * 3) }, () =>
        fill(typeText.slice(1, -1), depth + 1),
      );
    }
    const type = schema.type(typeText);
    if (!type) return null;
    if (type.kind === 'EnumType') return next() < 0.9 ? type.values[0].name : 'NOT_A_VALUE';
    if (type.kind === 'ScalarType') {
      if (type.name === 'Int') return Math.floor(next() * 10);
      if (type.name === 'Float') return next();
      if (type.name === 'Boolean') return next() < 0.5;
      return `v${Math.floor(next() * 9)}`;
    }
    if (type.kind !== 'ObjectType' || depth > 5) return null;
    const value: Record<string, unknown> = { __typename: type.name };
    for (const field of type.fields()) value[field.name] = fill(field.type!.toString(), depth + 1);
    return value;
  };
  for (const field of query.fields()) {
    if (!field.name.startsWith('_')) data[field.name] = fill(field.type!.toString(), 0);
  }
  return data;
}
