import { Kind, parse, print } from 'graphql';
import { createHash } from 'node:crypto';
import { SubscriptionPlanCache } from './subscription-plan-cache';
import { supergraphSchemas } from './supergraph-schemas';
import { composeTicks } from './testing/ticks.fixture';

const schemas = supergraphSchemas(
  composeTicks({ a: 'http://a.invalid/graphql', b: 'http://b.invalid/graphql' }),
);

/** Plans `source` (its only operation, or the one named). */
function prepare(cache: SubscriptionPlanCache, source: string, operationName?: string) {
  const document = parse(source);
  const operation = document.definitions.find(
    (d) =>
      d.kind === Kind.OPERATION_DEFINITION &&
      (operationName === undefined || d.name?.value === operationName),
  );
  if (operation?.kind !== Kind.OPERATION_DEFINITION) throw new Error('no such operation');
  return cache.prepare(document, operation, operationName);
}

describe('SubscriptionPlanCache', () => {
  it("plans a subscription as its subgraph's subscription, then the rest per event", () => {
    const source = 'subscription { ticks(channel: "x") { n item { name } } }';
    const prepared = prepare(new SubscriptionPlanCache(schemas), source);

    expect(prepared.primary.serviceName).toBe('a');
    expect(print(prepared.primaryDocument)).toBe(print(parse(prepared.primary.operation)));
    const node = prepared.perEventPlan.node;
    expect(node?.kind).toBe('Sequence');
    // The event answers the primary fetch; the rest fetches `name` from "b".
    expect(node?.kind === 'Sequence' && node.nodes[0]).toBe(prepared.primary);
    expect(JSON.stringify(node)).toContain('"serviceName":"b"');
    expect(prepared.source).toBe(print(parse(source)));
    expect(prepared.queryHash).toBe(createHash('sha256').update(prepared.source).digest('hex'));
  });

  it('runs only the primary fetch per event when no other subgraph is asked', () => {
    const prepared = prepare(
      new SubscriptionPlanCache(schemas),
      'subscription { ticks(channel: "x") { n note } }',
    );
    expect(prepared.perEventPlan.node).toBe(prepared.primary);
  });

  it('plans a document once, however it is formatted', () => {
    const cache = new SubscriptionPlanCache(schemas);
    const first = prepare(cache, 'subscription { ticks(channel: "x") { n } }');
    const again = prepare(cache, 'subscription {\n  ticks(channel: "x") {\n    n\n  }\n}\n');
    expect(again).toBe(first);
    expect(cache.size).toBe(1);
  });

  it('keeps a plan per operation of a document', () => {
    const cache = new SubscriptionPlanCache(schemas);
    const source = `
      subscription Numbers { ticks(channel: "x") { n } }
      subscription Names { ticks(channel: "x") { item { name } } }
    `;
    const numbers = prepare(cache, source, 'Numbers');
    const names = prepare(cache, source, 'Names');
    expect(numbers).not.toBe(names);
    expect(numbers.operation.name?.value).toBe('Numbers');
    expect(names.perEventPlan.node?.kind).toBe('Sequence');
    expect(prepare(cache, source, 'Numbers')).toBe(numbers);
  });

  it('keeps plans within their estimated bytes', () => {
    const source = (channel: string) => `subscription { ticks(channel: "${channel}") { n } }`;
    const measure = new SubscriptionPlanCache(schemas);
    prepare(measure, source('0'));
    expect(measure.bytes).toBeGreaterThan(0);
    // Room for two plans of this size, not three.
    const cache = new SubscriptionPlanCache(schemas, 100, 2.5 * measure.bytes);
    const plans = ['1', '2', '3'].map((c) => prepare(cache, source(c)));
    expect(cache.size).toBe(2);
    expect(prepare(cache, source('3'))).toBe(plans[2]);
    expect(prepare(cache, source('1'))).not.toBe(plans[0]);
  });

  it('drops the least recently used plan beyond its capacity', () => {
    const cache = new SubscriptionPlanCache(schemas, 2);
    const source = (channel: string) => `subscription { ticks(channel: "${channel}") { n } }`;
    const one = prepare(cache, source('1'));
    const two = prepare(cache, source('2'));
    const three = prepare(cache, source('3'));
    expect(cache.size).toBe(2);
    expect(prepare(cache, source('3'))).toBe(three);
    expect(prepare(cache, source('2'))).toBe(two);
    // Planned again: it was dropped.
    expect(prepare(cache, source('1'))).not.toBe(one);
    expect(cache.size).toBe(2);
  });

  it('refuses an operation that does not plan to a subscription', () => {
    expect(() => prepare(new SubscriptionPlanCache(schemas), '{ ping }')).toThrow(
      /expected a Subscription plan, got Fetch/,
    );
  });
});
