import type { GraphQLDataSource } from '@apollo/gateway';
import { composeServices } from '@apollo/composition';
import { parse, print, type GraphQLObjectType } from 'graphql';
import gql from 'graphql-tag';
import * as publicApi from './index';
import { FederatedSubscriptions, type FederatedSubscriptionsOptions } from './index';
import { recordingLogger } from './testing/fakes.fixture';
import { startTicksSubgraphs, type TicksSubgraphs } from './testing/servers.fixture';
import {
  iteratorOf,
  opened,
  pubsub,
  singleResult,
  subgraphA,
  subgraphB,
  TICKS,
  type TestContext,
} from './testing/ticks.fixture';

// The front through its public API, against real subgraphs: planning, sharing, per-subscriber
// execution and the iterator's life. Each piece has its own unit tests beside it.
describe('FederatedSubscriptions', () => {
  let subgraphs: TicksSubgraphs;
  let subscriptions: FederatedSubscriptions<TestContext>;
  const extraInstances: FederatedSubscriptions<TestContext>[] = [];
  const log = recordingLogger();

  function newInstance(
    options: Partial<FederatedSubscriptionsOptions<TestContext>> = {},
  ): FederatedSubscriptions<TestContext> {
    const instance = new FederatedSubscriptions<TestContext>({
      supergraphSdl: subgraphs.supergraphSdl,
      serviceMap: subgraphs.serviceMap,
      subscriptionUrl: () => subgraphs.a.wsUrl,
      upstreamHeaders: (context) => ({ 'x-user': context.user }),
      logger: log,
      ...options,
    });
    extraInstances.push(instance);
    return instance;
  }

  beforeAll(async () => {
    subgraphs = await startTicksSubgraphs();
    subscriptions = new FederatedSubscriptions<TestContext>({
      supergraphSdl: subgraphs.supergraphSdl,
      serviceMap: subgraphs.serviceMap,
      subscriptionUrl: (serviceName) => {
        if (serviceName !== 'a') throw new Error(`no subscriptions on ${serviceName}`);
        return subgraphs.a.wsUrl;
      },
      upstreamHeaders: (context) => ({ 'x-user': context.user }),
      logger: log,
    });
  });

  afterEach(async () => {
    await Promise.all(
      [...opened].map(async (iterator) => {
        await iterator.return?.();
      }),
    );
    opened.clear();
  });

  afterAll(async () => {
    await subscriptions?.dispose();
    await Promise.all(extraInstances.map((instance) => instance.dispose()));
    await subgraphs?.stop();
  });

  it('resolves fields of another subgraph on every event', async () => {
    const ticks = iteratorOf(
      await subscriptions.subscribe({
        document: parse(
          'subscription { ticks(channel: "x") { n seenBy item { id name viewerTag } } }',
        ),
        variables: {},
        context: { user: 'u1' },
      }),
    );
    const first = ticks.next();
    await pubsub.until(() => pubsub.count('x') === 1);

    pubsub.publish('x', { n: 1, itemId: 'i1' });
    pubsub.publish('x', { n: 2, itemId: 'i2' });

    expect(await first).toEqual({
      done: false,
      value: {
        data: {
          ticks: {
            n: 1,
            seenBy: 'u1',
            item: { id: 'i1', name: 'Item i1', viewerTag: 'seen by u1' },
          },
        },
      },
    });
    expect(await ticks.next()).toEqual({
      done: false,
      value: {
        data: {
          ticks: {
            n: 2,
            seenBy: 'u1',
            item: { id: 'i2', name: 'Item i2', viewerTag: 'seen by u1' },
          },
        },
      },
    });

    await ticks.return?.();
    expect(subscriptions.activeUpstreamCount()).toBe(0);
    await pubsub.until(() => pubsub.count('x') === 0);
  });

  it('shares one upstream subscription between identical subscribers until the last leaves', async () => {
    const subscribe = (user: string) =>
      subscriptions.subscribe({
        document: parse('subscription { ticks(channel: "shared") { n item { name viewerTag } } }'),
        variables: {},
        context: { user },
      });
    const one = iteratorOf(await subscribe('u1'));
    const two = iteratorOf(await subscribe('u2'));
    expect(subscriptions.activeUpstreamCount()).toBe(1);

    const oneFirst = one.next();
    const twoFirst = two.next();
    await pubsub.until(() => pubsub.count('shared') === 1);
    pubsub.publish('shared', { n: 1, itemId: 'i1' });
    pubsub.publish('shared', { n: 2, itemId: 'i2' });

    // Both get every event; fields of other subgraphs are fetched with each one's own context.
    const tick = (n: number, user: string) => ({
      done: false,
      value: {
        data: { ticks: { n, item: { name: `Item i${n}`, viewerTag: `seen by ${user}` } } },
      },
    });
    expect(await oneFirst).toEqual(tick(1, 'u1'));
    expect(await twoFirst).toEqual(tick(1, 'u2'));
    expect(await one.next()).toEqual(tick(2, 'u1'));
    expect(await two.next()).toEqual(tick(2, 'u2'));
    expect(pubsub.count('shared')).toBe(1);

    await one.return?.();
    expect(subscriptions.activeUpstreamCount()).toBe(1);
    const twoThird = two.next();
    pubsub.publish('shared', { n: 3, itemId: 'i3' });
    expect(await twoThird).toEqual(tick(3, 'u2'));
    expect(await one.next()).toEqual({ done: true, value: undefined });

    await two.return?.();
    expect(subscriptions.activeUpstreamCount()).toBe(0);
    // The subgraph sees the subscription closed: its source stream was returned.
    await pubsub.until(() => pubsub.count('shared') === 0);
    expect(await two.next()).toEqual({ done: true, value: undefined });
  });

  it("carries no subscriber's fields into another's result from a shared event", async () => {
    const subscribe = (user: string) =>
      subscriptions.subscribe({
        document: parse('subscription { ticks(channel: "isolated") { n item { viewerTag } } }'),
        context: { user },
      });
    const known = iteratorOf(await subscribe('u1'));
    const stranger = iteratorOf(await subscribe('stranger'));
    expect(subscriptions.activeUpstreamCount()).toBe(1);

    const knownFirst = known.next();
    await pubsub.until(() => pubsub.count('isolated') === 1);
    pubsub.publish('isolated', { n: 1, itemId: 'i1' });
    expect(await knownFirst).toEqual({
      done: false,
      value: { data: { ticks: { n: 1, item: { viewerTag: 'seen by u1' } } } },
    });
    // Executed only now, after u1's entity data was merged into u1's copy of the same event.
    expect(await stranger.next()).toEqual({
      done: false,
      value: { data: { ticks: { n: 1, item: { viewerTag: null } } } },
    });

    await Promise.all([known.return?.(), stranger.return?.()]);
    await pubsub.until(() => pubsub.count('isolated') === 0);
  });

  it('keeps subscribers apart whose shareKey differs, each upstream with its own headers', async () => {
    const perUser = newInstance({ shareKey: (context) => context.user });
    const subscribe = (user: string) =>
      perUser.subscribe({
        document: TICKS,
        variables: { channel: 'per-user' },
        context: { user },
      });
    const one = iteratorOf(await subscribe('u1'));
    const two = iteratorOf(await subscribe('u2'));
    const oneAgain = iteratorOf(await subscribe('u1'));
    expect(perUser.activeUpstreamCount()).toBe(2);

    const nexts = [one.next(), two.next(), oneAgain.next()];
    await pubsub.until(() => pubsub.count('per-user') === 2);
    pubsub.publish('per-user', { n: 7, itemId: 'i7' });
    const results = await Promise.all(nexts);
    for (const result of results) {
      expect(result).toEqual({
        done: false,
        value: { data: { ticks: { n: 7, item: { id: 'i7', name: 'Item i7' } } } },
      });
    }

    // seenBy is computed by the subscription's own subgraph from the upstream headers.
    const seen = iteratorOf(
      await perUser.subscribe({
        document: parse('subscription { ticks(channel: "per-user-2") { seenBy } }'),
        context: { user: 'u2' },
      }),
    );
    const seenFirst = seen.next();
    await pubsub.until(() => pubsub.count('per-user-2') === 1);
    pubsub.publish('per-user-2', { n: 1, itemId: 'i1' });
    expect(await seenFirst).toEqual({ done: false, value: { data: { ticks: { seenBy: 'u2' } } } });

    await Promise.all(
      [one, two, oneAgain, seen].map(async (iterator) => {
        await iterator.return?.();
      }),
    );
    expect(perUser.activeUpstreamCount()).toBe(0);
    await pubsub.until(() => pubsub.count('per-user') + pubsub.count('per-user-2') === 0);
  });

  it('forwards per-event errors of the subscription subgraph with the data it sent', async () => {
    const ticks = iteratorOf(
      await subscriptions.subscribe({
        document: parse('subscription { ticks(channel: "errors") { n note item { name } } }'),
        context: { user: 'u1' },
      }),
    );
    const first = ticks.next();
    await pubsub.until(() => pubsub.count('errors') === 1);
    pubsub.publish('errors', { n: 1, itemId: 'i1', fail: true });

    const { value } = await first;
    expect(value?.data).toEqual({ ticks: { n: 1, note: null, item: { name: 'Item i1' } } });
    expect(value?.errors).toHaveLength(1);
    expect(value?.errors?.[0]?.message).toBe('note is broken for this tick');
    expect(value?.errors?.[0]?.path).toEqual(['ticks', 'note']);
    expect(value?.errors?.[0]?.extensions).toMatchObject({ serviceName: 'a' });

    await ticks.return?.();
    await pubsub.until(() => pubsub.count('errors') === 0);
  });

  it('ends the iterator when the upstream subscription completes', async () => {
    const ticks = iteratorOf(
      await subscriptions.subscribe({
        document: TICKS,
        variables: { channel: 'ending' },
        context: { user: 'u1' },
      }),
    );
    const first = ticks.next();
    await pubsub.until(() => pubsub.count('ending') === 1);
    pubsub.publish('ending', { n: 1, itemId: 'i1' });
    pubsub.end('ending');

    expect((await first).value?.data).toEqual({
      ticks: { n: 1, item: { id: 'i1', name: 'Item i1' } },
    });
    expect(await ticks.next()).toEqual({ done: true, value: undefined });
    expect(subscriptions.activeUpstreamCount()).toBe(0);
  });

  it('drops a subscriber that does not pull its events, freeing the upstream', async () => {
    const small = newInstance({ maxBufferedEvents: 2 });
    const ticks = iteratorOf(
      await small.subscribe({
        document: TICKS,
        variables: { channel: 'slow' },
        context: { user: 'u1' },
      }),
    );
    await pubsub.until(() => pubsub.count('slow') === 1);
    for (const n of [1, 2, 3]) pubsub.publish('slow', { n, itemId: `i${n}` });
    // The third event overflows the buffer: the subscriber is detached, the upstream completed.
    await pubsub.until(() => pubsub.count('slow') === 0);
    expect(small.activeUpstreamCount()).toBe(0);

    const { value } = await ticks.next();
    expect(value?.errors?.[0]?.extensions.code).toBe('SUBSCRIPTION_BUFFER_OVERFLOW');
    expect(await ticks.next()).toEqual({ done: true, value: undefined });
  });

  it('ends every subscription and closes upstreams on dispose()', async () => {
    const instance = newInstance();
    const ticks = iteratorOf(
      await instance.subscribe({
        document: TICKS,
        variables: { channel: 'dispose' },
        context: { user: 'u1' },
      }),
    );
    const first = ticks.next();
    await pubsub.until(() => pubsub.count('dispose') === 1);

    await instance.dispose();
    expect(await first).toEqual({ done: true, value: undefined });
    expect(instance.activeUpstreamCount()).toBe(0);
    await pubsub.until(() => pubsub.count('dispose') === 0);
    const late = singleResult(
      await instance.subscribe({
        document: TICKS,
        variables: { channel: 'dispose' },
        context: { user: 'u1' },
      }),
    );
    expect(late.errors?.[0]?.extensions.code).toBe('SERVICE_UNAVAILABLE');
  });

  it('rejects invalid operations without opening anything', async () => {
    const invalid = singleResult(
      await subscriptions.subscribe({
        document: parse('subscription { ticks(channel: "x") { n nope } }'),
        context: { user: 'u1' },
      }),
    );
    expect(invalid.errors?.length).toBeGreaterThan(0);
    expect(invalid.errors?.[0]?.message).toMatch(/nope/);
    expect(invalid.errors?.map((e) => e.extensions.code)).toEqual(
      invalid.errors?.map(() => 'GRAPHQL_VALIDATION_FAILED'),
    );

    const missingVariable = singleResult(
      await subscriptions.subscribe({ document: TICKS, context: { user: 'u1' } }),
    );
    expect(missingVariable.errors?.[0]?.extensions.code).toBe('BAD_USER_INPUT');

    const query = singleResult(
      await subscriptions.subscribe({ document: parse('{ ping }'), context: { user: 'u1' } }),
    );
    expect(query.errors?.[0]?.extensions.code).toBe('BAD_REQUEST');

    expect(subscriptions.activeUpstreamCount()).toBe(0);
  });

  it('shares one upstream whatever the aliases and variable names, each subscriber in its own shape', async () => {
    const first = iteratorOf(
      await subscriptions.subscribe({
        document: parse(`subscription($channel: ID!) {
          ticks(channel: $channel) {
            n
            short: label(prefix: "s")
            other: label(prefix: "long")
            item { id name }
          }
        }`),
        variables: { channel: 'aliases' },
        context: { user: 'u1' },
      }),
    );
    const second = iteratorOf(
      await subscriptions.subscribe({
        document: parse(`subscription Renamed($c: ID!) {
          mine: ticks(channel: $c) {
            number: n
            ...Labels
            thing: item { name ident: id }
          }
        }
        fragment Labels on Tick { tag: label(prefix: "s") long: label(prefix: "long") n }`),
        variables: { c: 'aliases' },
        context: { user: 'u2' },
      }),
    );
    expect(subscriptions.activeUpstreamCount()).toBe(1);

    const firstNext = first.next();
    const secondNext = second.next();
    await pubsub.until(() => pubsub.count('aliases') === 1);
    pubsub.publish('aliases', { n: 4, itemId: 'i4' });
    expect(await firstNext).toEqual({
      done: false,
      value: {
        data: {
          ticks: { n: 4, short: 's 4', other: 'long 4', item: { id: 'i4', name: 'Item i4' } },
        },
      },
    });
    expect(await secondNext).toEqual({
      done: false,
      value: {
        data: {
          mine: {
            number: 4,
            tag: 's 4',
            long: 'long 4',
            n: 4,
            thing: { name: 'Item i4', ident: 'i4' },
          },
        },
      },
    });

    await Promise.all([first.return?.(), second.return?.()]);
    expect(subscriptions.activeUpstreamCount()).toBe(0);
    await pubsub.until(() => pubsub.count('aliases') === 0);
  });

  it('fetches the fields of other subgraphs once per event for subscribers with an equal resultShareKey', async () => {
    let fetches = 0;
    const b = subgraphs.serviceMap.b;
    const counted: GraphQLDataSource<TestContext> = {
      process: (options) => {
        fetches += 1;
        return b.process(options);
      },
    };
    const shared = newInstance({
      serviceMap: { a: subgraphs.serviceMap.a, b: counted },
      resultShareKey: () => '',
    });
    const subscribe = (user: string) =>
      shared.subscribe({ document: TICKS, variables: { channel: 'results' }, context: { user } });
    const one = iteratorOf(await subscribe('u1'));
    const two = iteratorOf(await subscribe('u2'));

    const nexts = [one.next(), two.next()];
    await pubsub.until(() => pubsub.count('results') === 1);
    pubsub.publish('results', { n: 5, itemId: 'i5' });
    const tick = {
      done: false,
      value: { data: { ticks: { n: 5, item: { id: 'i5', name: 'Item i5' } } } },
    };
    expect(await Promise.all(nexts)).toEqual([tick, tick]);
    expect(fetches).toBe(1);

    await Promise.all([one.return?.(), two.return?.()]);
    await pubsub.until(() => pubsub.count('results') === 0);
  });

  describe('with viewer fields', () => {
    /** `Mark.mine` computed at the gateway from the hidden `Mark.owner`; 'anon' is nobody. */
    const viewerInstance = (
      publicServices: string[],
      serviceMap: FederatedSubscriptionsOptions<TestContext>['serviceMap'] = subgraphs.serviceMap,
    ) =>
      newInstance({
        serviceMap,
        shareKey: (context) => context.user,
        resultShareKey: (context) => context.user,
        viewerFields: {
          fields: { 'Mark.mine': 'owner' },
          key: (context) => (context.user === 'anon' ? null : context.user),
          context: () => ({ user: 'shared' }),
          publicServices,
        },
      });
    const marks = [
      { id: 'm1', owner: 'u1' },
      { id: 'm2', owner: 'u2' },
      { id: 'm3', owner: null },
    ];

    it('shares one upstream and one execution whoever subscribes, each seeing only its own marks', async () => {
      let fetches = 0;
      const b = subgraphs.serviceMap.b;
      const counted: GraphQLDataSource<TestContext> = {
        process: (options) => {
          fetches += 1;
          return b.process(options);
        },
      };
      const viewers = viewerInstance(['a', 'b'], { a: subgraphs.serviceMap.a, b: counted });
      const plain = parse(
        'subscription { ticks(channel: "viewers") { n seenBy item { name } marks { id mine } } }',
      );
      const subscribe = (user: string, document = plain) =>
        viewers.subscribe({ document, context: { user } });
      const one = iteratorOf(await subscribe('u1'));
      const two = iteratorOf(await subscribe('u2'));
      const nobody = iteratorOf(await subscribe('anon'));
      // The same selection in another shape: still the one upstream.
      const aliased = iteratorOf(
        await subscribe(
          'u2',
          parse(`subscription { t: ticks(channel: "viewers") {
            seenBy n item { name } list: marks { own: mine ...M }
          } }
          fragment M on Mark { key: id mine }`),
        ),
      );
      expect(viewers.activeUpstreamCount()).toBe(1);

      const nexts = [one.next(), two.next(), nobody.next(), aliased.next()];
      await pubsub.until(() => pubsub.count('viewers') === 1);
      pubsub.publish('viewers', { n: 1, itemId: 'i1', marks });
      const [first, second, anonymous, shaped] = await Promise.all(nexts);
      // Opened as the shared caller (seenBy is answered from the upstream's headers).
      const tick = (mine: boolean[]) => ({
        done: false,
        value: {
          data: {
            ticks: {
              n: 1,
              seenBy: 'shared',
              item: { name: 'Item i1' },
              marks: marks.map(({ id }, i) => ({ id, mine: mine[i] })),
            },
          },
        },
      });
      expect(first).toEqual(tick([true, false, false]));
      expect(second).toEqual(tick([false, true, false]));
      expect(anonymous).toEqual(tick([false, false, false]));
      expect(shaped).toEqual({
        done: false,
        value: {
          data: {
            t: {
              seenBy: 'shared',
              n: 1,
              item: { name: 'Item i1' },
              list: [
                { own: false, key: 'm1', mine: false },
                { own: true, key: 'm2', mine: true },
                { own: false, key: 'm3', mine: false },
              ],
            },
          },
        },
      });
      // One fetch of the other subgraph per selection, not per subscriber: two selections.
      expect(fetches).toBe(2);
      // Nobody whose mark is not in the event gets a copy: the anonymous result is shared.
      expect(JSON.stringify(anonymous)).not.toMatch(/u1|u2/);

      for (const it of [one, two, nobody, aliased]) await it.return?.();
      expect(viewers.activeUpstreamCount()).toBe(0);
      await pubsub.until(() => pubsub.count('viewers') === 0);
    });

    it('keeps per-caller upstreams when a fetch goes to a subgraph that answers per caller', async () => {
      // b's viewerTag is per caller, and b is not public here.
      const viewers = viewerInstance(['a']);
      const document = parse(
        'subscription { ticks(channel: "callers") { seenBy item { viewerTag } marks { id mine } } }',
      );
      const one = iteratorOf(await viewers.subscribe({ document, context: { user: 'u1' } }));
      const two = iteratorOf(await viewers.subscribe({ document, context: { user: 'u2' } }));
      expect(viewers.activeUpstreamCount()).toBe(2);

      const nexts = [one.next(), two.next()];
      await pubsub.until(() => pubsub.count('callers') === 2);
      pubsub.publish('callers', { n: 1, itemId: 'i1', marks: marks.slice(0, 2) });
      const [first, second] = await Promise.all(nexts);
      expect(first.value?.data).toEqual({
        ticks: {
          seenBy: 'u1',
          item: { viewerTag: 'seen by u1' },
          marks: [
            { id: 'm1', mine: true },
            { id: 'm2', mine: false },
          ],
        },
      });
      expect(second.value?.data).toEqual({
        ticks: {
          seenBy: 'u2',
          item: { viewerTag: 'seen by u2' },
          marks: [
            { id: 'm1', mine: false },
            { id: 'm2', mine: true },
          ],
        },
      });

      await Promise.all([one.return?.(), two.return?.()]);
      await pubsub.until(() => pubsub.count('callers') === 0);
    });

    it('never lets a client select the hidden source field', async () => {
      const viewers = viewerInstance(['a', 'b']);
      const refused = singleResult(
        await viewers.subscribe({
          document: parse('subscription { ticks(channel: "x") { marks { id owner } } }'),
          context: { user: 'u1' },
        }),
      );
      expect(refused.errors?.[0]?.extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(viewers.activeUpstreamCount()).toBe(0);
    });
  });

  describe('a new supergraph', () => {
    /** The same graph without `Tick.note` (a text edit that stays a valid composition). */
    const withoutNote = () =>
      composeServices([
        {
          name: 'a',
          url: subgraphs.a.url,
          typeDefs: gql(print(subgraphA.typeDefs).replace(/\n\s*note: String/, '')),
        },
        { name: 'b', url: subgraphs.b.url, typeDefs: subgraphB.typeDefs },
      ]).supergraphSdl!;

    it('keeps subscriptions whose fields remain and ends those it cannot run, coded', async () => {
      const instance = newInstance({ endSpreadMs: 0 });
      const keeps = iteratorOf(
        await instance.subscribe({
          document: parse('subscription { ticks(channel: "reload") { n item { name } } }'),
          context: { user: 'u1' },
        }),
      );
      const ends = iteratorOf(
        await instance.subscribe({
          document: parse('subscription { ticks(channel: "reload") { n note } }'),
          context: { user: 'u1' },
        }),
      );
      const first = [keeps.next(), ends.next()];
      await pubsub.until(() => pubsub.count('reload') === 2);
      pubsub.publish('reload', { n: 1, itemId: 'i1' });
      await Promise.all(first);

      expect(() => instance.prepareUpdate('type Query { x: Int }')).toThrow();
      const change = instance.prepareUpdate(withoutNote())();
      expect(change).toEqual({ kept: 1, moved: 0, ending: 1 });
      const tick = instance.schema.getType('Tick') as GraphQLObjectType;
      expect(Object.keys(tick.getFields())).not.toContain('note');

      const ended = await ends.next();
      expect(ended.value.errors[0].extensions.code).toBe('SUPERGRAPH_CHANGED');
      expect(ended.value.errors[0].message).toContain('note');
      expect((await ends.next()).done).toBe(true);

      // The other one stays on its upstream, now executed with the new plan.
      const next = keeps.next();
      pubsub.publish('reload', { n: 2, itemId: 'i2' });
      expect(await next).toEqual({
        done: false,
        value: { data: { ticks: { n: 2, item: { name: 'Item i2' } } } },
      });
      expect(instance.activeUpstreamCount()).toBe(1);
      await pubsub.until(() => pubsub.count('reload') === 1);

      // Subscribing anew is checked against the new supergraph.
      const refused = singleResult(
        await instance.subscribe({
          document: parse('subscription { ticks(channel: "reload") { note } }'),
          context: { user: 'u1' },
        }),
      );
      expect(refused.errors?.[0]?.extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
      await keeps.return?.();
    });
  });

  it('exports the front and its types only', () => {
    expect(Object.keys(publicApi)).toEqual(['FederatedSubscriptions']);
  });
});
