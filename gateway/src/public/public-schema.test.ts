import { composeServices } from '@apollo/composition';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  buildSchema,
  lexicographicSortSchema,
  parse,
  printSchema,
  validate,
  type GraphQLSchema,
} from 'graphql';
import { projectRoot } from '../../../runtime/paths';
import { contractOperations } from '../../../tests/support/contract';
import { publicApiSchema } from './public-schema';

const FEDERATION =
  'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@tag"])';

/** A supergraph of two small subgraphs (no `@inaccessible` anywhere: the link is added). */
function supergraph(catalog: string, accounts = 'type Query { me: String }'): string {
  const result = composeServices([
    { name: 'catalog', typeDefs: parse(`${FEDERATION}\n${catalog}`), url: 'http://catalog' },
    { name: 'accounts', typeDefs: parse(`${FEDERATION}\n${accounts}`), url: 'http://accounts' },
  ]);
  if (result.errors) throw new Error(result.errors.map((e) => e.message).join('\n'));
  return result.supergraphSdl;
}

/** Printed in one order, whatever order the types were defined in. */
const sorted = (schema: GraphQLSchema) => printSchema(lexicographicSortSchema(schema));
const print = (sdl: string) => sorted(publicApiSchema(sdl)!);

describe('publicApiSchema', () => {
  it('keeps tagged types and, of them, tagged fields; values follow the fields using them', () => {
    const sdl = supergraph(`
      type Query {
        film(id: ID!, cut: Cut, where: Place): Film @tag(name: "public")
        secret: Secret
      }
      type Mutation { rate(id: ID!, stars: Int!): Film }
      type Film @key(fields: "id") @tag(name: "public") {
        id: ID! @tag(name: "public")
        title: String! @tag(name: "public")
        rating: Rating @tag(name: "public")
        budget: Int
        owner: Secret
      }
      enum Cut { THEATRICAL DIRECTOR }
      enum Rating { P K T13 }
      enum Unused { A }
      input Place { city: String!, near: Near }
      input Near { lat: Float!, lng: Float! }
      type Secret { value: String! @tag(name: "public") }
    `);
    expect(print(sdl)).toBe(
      sorted(
        buildSchema(`
          type Query { film(id: ID!, cut: Cut, where: Place): Film }
          type Film { id: ID! title: String! rating: Rating }
          enum Cut { THEATRICAL DIRECTOR }
          enum Rating { P K T13 }
          input Place { city: String!, near: Near }
          input Near { lat: Float!, lng: Float! }
        `),
      ),
    );
  });

  it('merges the tags every subgraph puts on a shared entity', () => {
    const sdl = supergraph(
      `type Query { film(id: ID!): Film @tag(name: "public") }
       type Film @key(fields: "id") @tag(name: "public") { id: ID! @tag(name: "public") }`,
      `type Query { me: String }
       type Film @key(fields: "id") @tag(name: "public") {
         id: ID!
         showings: Int @tag(name: "public")
         buyers: [String!]
       }`,
    );
    expect(print(sdl)).toMatch(/type Film \{\s+id: ID!\s+showings: Int\s+\}/);
  });

  it('is null for a supergraph that tags no query field public', () => {
    expect(publicApiSchema(supergraph('type Query { film: String }'))).toBeNull();
    const typeOnly = supergraph(
      'type Query { film: Film } type Film @tag(name: "public") { id: ID! @tag(name: "public") }',
    );
    expect(publicApiSchema(typeOnly)).toBeNull();
  });

  it('ignores other tags', () => {
    const sdl = supergraph(
      'type Query { a: String @tag(name: "public") b: String @tag(name: "internal") }',
    );
    expect(print(sdl)).toMatch(/type Query \{\s+a: String\s+\}/);
  });

  it('fails, naming them, on a public field whose type is not public', () => {
    const sdl = supergraph(`
      type Query { film: Film @tag(name: "public") }
      type Film { id: ID! @tag(name: "public") }
    `);
    expect(() => publicApiSchema(sdl)).toThrow(/"Film".*"Query\.film"/);
  });

  it('fails on a public type without a public field', () => {
    const sdl = supergraph(`
      type Query { film: Film @tag(name: "public") }
      type Film @tag(name: "public") { id: ID! }
    `);
    expect(() => publicApiSchema(sdl)).toThrow(/Film/);
  });
});

describe('the committed public schema', () => {
  const read = (file: string) => readFileSync(join(projectRoot(), 'schema', file), 'utf8');
  const committed = read('public.graphql');
  const schema = buildSchema(committed);

  it('is what the committed supergraph derives', () => {
    expect(sorted(buildSchema(committed))).toBe(print(read('supergraph.graphql')));
  });

  it("validates the contract's partner operations", () => {
    const partner = contractOperations().filter((op) => op.file === 'partner.graphql');
    expect(partner.map((op) => op.name)).toEqual(['PartnerListings', 'PartnerMovie']);
    for (const op of partner)
      expect([op.name, validate(schema, op.document)]).toEqual([op.name, []]);
  });

  it('has nothing about users, bookings, payments, loyalty, holds, holders or keys', () => {
    const names = Object.values(schema.getTypeMap()).flatMap((type) => [
      type.name,
      ...('getFields' in type ? Object.keys(type.getFields()) : []),
    ]);
    const forbidden =
      /user|booking|payment|loyalty|hold|ticket|refund|promotion|apikey|seatmap|^me$/i;
    expect(names.filter((name) => forbidden.test(name))).toEqual([]);
    expect(schema.getMutationType()).toBeUndefined();
    expect(schema.getSubscriptionType()).toBeUndefined();
  });
});
