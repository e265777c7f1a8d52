import { getOperationAST, parse } from 'graphql';
import { SubscriptionPlanCache } from './subscription-plan-cache';
import { supergraphSchemas } from './supergraph-schemas';
import { composeTicks } from './testing/ticks.fixture';
import { upstreamRequest } from './upstream-request';
import {
  personalise,
  shareableAcrossViewers,
  slotsByKey,
  viewerFieldMap,
  type ViewerSlot,
} from './viewer-fields';

const schemas = supergraphSchemas(
  composeTicks({ a: 'http://a.invalid/graphql', b: 'http://b.invalid/graphql' }),
);
const plans = new SubscriptionPlanCache(schemas);
const fields = viewerFieldMap({ 'Mark.mine': 'owner' });

const plan = (source: string) => {
  const document = parse(source);
  return plans.prepare(document, getOperationAST(document)!, undefined);
};

describe('viewer fields', () => {
  it('are named Type.field with a source', () => {
    expect(fields.get('Mark')?.get('mine')).toBe('owner');
    const bad: Record<string, string>[] = [
      { mine: 'owner' },
      { 'Mark.mine.x': 'owner' },
      { 'Mark.mine': '' },
    ];
    for (const fields of bad) {
      expect(() => viewerFieldMap(fields)).toThrow(/Type\.field/);
    }
  });

  it('ask upstream for the hidden source instead, and read back false plus where each value was', () => {
    const prepared = plan(
      'subscription { ticks(channel: "c") { n list: marks { id own: mine again: mine } } }',
    );
    const request = upstreamRequest(schemas.supergraphSchema, prepared.primaryDocument, {}, fields);
    expect(request.viewerFieldsReplaced).toBe(true);
    expect(request.query).toContain('owner');
    expect(request.query).not.toContain('mine');
    // The same request whoever asks, and whatever the viewer field is called.
    const other = upstreamRequest(
      schemas.supergraphSchema,
      plan('subscription { ticks(channel: "c") { n marks { mine id } } }').primaryDocument,
      {},
      fields,
    );
    expect(other.query).toBe(request.query);

    const slots: ViewerSlot[] = [];
    const data = request.toSubscriberData(
      {
        ticks: {
          n: 1,
          marks: [
            { id: 'm1', owner: 'u1' },
            { id: 'm2', owner: null },
          ],
        },
      },
      slots,
    );
    expect(data).toEqual({
      ticks: {
        n: 1,
        list: [
          { id: 'm1', own: false, again: false },
          { id: 'm2', own: false, again: false },
        ],
      },
    });
    expect(slots).toEqual([
      { path: ['ticks', 'list', 0, 'own'], value: 'u1' },
      { path: ['ticks', 'list', 0, 'again'], value: 'u1' },
    ]);
  });

  it('let subscribers share only plans whose every fetch is public and no later fetch asks for one', () => {
    const marksOnly = plan('subscription { ticks(channel: "c") { n marks { id mine } } }');
    const withB = plan('subscription { ticks(channel: "c") { marks { mine } item { name } } }');
    expect(
      shareableAcrossViewers(schemas.supergraphSchema, marksOnly, fields, new Set(['a'])),
    ).toBe(true);
    expect(shareableAcrossViewers(schemas.supergraphSchema, withB, fields, new Set(['a']))).toBe(
      false,
    );
    expect(
      shareableAcrossViewers(schemas.supergraphSchema, withB, fields, new Set(['a', 'b'])),
    ).toBe(true);
    // A fetch after the primary that asks for a viewer field would answer it for nobody.
    const later = {
      ...marksOnly,
      perEventPlan: {
        kind: 'QueryPlan' as const,
        node: { kind: 'Sequence' as const, nodes: [marksOnly.primary, { ...marksOnly.primary }] },
      },
    };
    expect(shareableAcrossViewers(schemas.supergraphSchema, later, fields, new Set(['a']))).toBe(
      false,
    );
    // A viewer field whose source the supergraph does not have cannot be replaced.
    expect(
      shareableAcrossViewers(
        schemas.supergraphSchema,
        marksOnly,
        viewerFieldMap({ 'Mark.mine': 'nowhere' }),
        new Set(['a']),
      ),
    ).toBe(false);
  });

  it('give a subscriber the shared result itself unless the event names its key, and then a copy', () => {
    const seats = [
      { id: 'm1', mine: false },
      { id: 'm2', mine: false },
      { id: 'm3', mine: false },
    ];
    const result = { data: { ticks: { n: 1, other: { x: 1 }, marks: seats } } };
    const shared = {
      result,
      slots: slotsByKey([
        { path: ['ticks', 'marks', 0, 'mine'], value: 'u1' },
        { path: ['ticks', 'marks', 2, 'mine'], value: 'u1' },
        { path: ['ticks', 'marks', 1, 'mine'], value: 'u2' },
        // Nulled by the executor, or not a boolean: left alone.
        { path: ['ticks', 'gone', 0, 'mine'], value: 'u1' },
        { path: ['ticks', 'n'], value: 'u1' },
      ]),
    };
    expect(personalise(shared, null)).toBe(result);
    expect(personalise(shared, 'u3')).toBe(result);

    const mine = personalise(shared, 'u1');
    expect(mine.data).toEqual({
      ticks: {
        n: 1,
        other: { x: 1 },
        marks: [
          { id: 'm1', mine: true },
          { id: 'm2', mine: false },
          { id: 'm3', mine: true },
        ],
      },
    });
    // Only what leads to the changed fields is new; the shared result is untouched.
    const ticks = (mine.data as typeof result.data).ticks;
    expect(ticks.other).toBe(result.data.ticks.other);
    expect(ticks.marks[1]).toBe(seats[1]);
    expect(seats.every((s) => !s.mine)).toBe(true);
    expect(
      (personalise(shared, 'u2').data as typeof result.data).ticks.marks.map((m) => m.mine),
    ).toEqual([false, true, false]);
  });
});
