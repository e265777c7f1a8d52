import { buildSchema, parse } from 'graphql';
import { upstreamRequest } from './upstream-request';

const schema = buildSchema(`
  type Query { ping: String }
  type Subscription { updates(channel: ID!, kind: Kind = ALL): Update! }
  enum Kind { ALL SOME }
  type Update {
    version: Int!
    label(prefix: String!): String
    items: [Item!]!
    node: Node
  }
  type Item { id: ID! name: String }
  interface Node { id: ID! }
  type Seat implements Node { id: ID! row: String }
  type Hall implements Node { id: ID! name: String }
`);

const request = (operation: string, variables: Record<string, unknown> = {}) =>
  upstreamRequest(schema, parse(operation), variables);

describe('upstreamRequest', () => {
  it('gives one request for operations that differ only in aliases, order, duplicates, fragments and variable names', () => {
    const plain = request(
      'subscription($c: ID!) { updates(channel: $c) { version items { id name } } }',
      { c: '7' },
    );
    const written = [
      request(
        'subscription($channel: ID!) { u: updates(channel: $channel) { list: items { name i: id } v: version } }',
        { channel: '7' },
      ),
      request(
        `subscription($x: ID!) { updates(channel: $x) { ...F items { id } ... on Update { version } } }
         fragment F on Update { items { name } version }`,
        { x: '7' },
      ),
      request(
        'subscription($c: ID!, $on: Boolean!) { updates(channel: $c) { version version items { id name id } debug: version @skip(if: $on) } }',
        { c: '7', on: true },
      ),
    ];
    for (const other of written) {
      expect(other.query).toBe(plain.query);
      expect(other.variables).toEqual(plain.variables);
    }
    expect(plain.variables).toEqual({ v0: '7' });
  });

  it('keeps requests apart that ask for different things', () => {
    const base = request('subscription { updates(channel: "1") { version } }');
    for (const other of [
      request('subscription { updates(channel: "2") { version } }'),
      request('subscription { updates(channel: "1", kind: SOME) { version } }'),
      request('subscription { updates(channel: "1") { version items { id } } }'),
      request('subscription { updates(channel: "1") { version label(prefix: "a") } }'),
    ]) {
      expect(other.query).not.toBe(base.query);
    }
    const withB = request('subscription { updates(channel: "1") { label(prefix: "b") } }');
    const withA = request('subscription { updates(channel: "1") { label(prefix: "a") } }');
    expect(withA.query).not.toBe(withB.query);
  });

  it("reads each shared event back in the subscriber's own shape", () => {
    const subscriber = request(
      `subscription($c: ID!) {
        mine: updates(channel: $c) {
          v: version
          short: label(prefix: "s")
          long: label(prefix: "l")
          things: items { key: id }
          node { id ... on Seat { where: row } ... on Hall { name } }
        }
      }`,
      { c: '1' },
    );
    const [shortKey, longKey] = ['s', 'l'].map((prefix) => {
      const alone = request(
        `subscription { updates(channel: "1") { label(prefix: "${prefix}") } }`,
      );
      return /(label_[0-9a-f]+): label/.exec(alone.query)![1];
    });
    // What the subgraph answers to the canonical request.
    const event = {
      updates: {
        version: 3,
        [shortKey]: 's!',
        [longKey]: 'l!',
        items: [{ id: 'i1' }, { id: 'i2' }],
        node: { __typename: 'Seat', id: 'n1', row: 'C' },
      },
    };
    expect(subscriber.query).toMatch(/node \{\s+__typename/);
    expect(subscriber.toSubscriberData(event)).toEqual({
      mine: {
        v: 3,
        short: 's!',
        long: 'l!',
        things: [{ key: 'i1' }, { key: 'i2' }],
        node: { id: 'n1', where: 'C' },
      },
    });
    expect(subscriber.toSubscriberPath(['updates', 'items', 1, 'id'])).toEqual([
      'mine',
      'things',
      1,
      'key',
    ]);
    expect(subscriber.toSubscriberPath(['updates', shortKey])).toEqual(['mine', 'short']);
  });

  it('copies the event when the subscriber uses no alias of its own', () => {
    const subscriber = request('subscription { updates(channel: "1") { version } }');
    const event = { updates: { version: 1 } };
    const copy = subscriber.toSubscriberData(event);
    expect(copy).toEqual(event);
    expect(copy).not.toBe(event);
  });
});
