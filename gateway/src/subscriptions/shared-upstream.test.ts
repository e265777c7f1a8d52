import { GraphQLError } from 'graphql';
import type { UpstreamEvent } from './gateway-types';
import { LocalSubscription } from './local-subscription';
import { SharedUpstream } from './shared-upstream';
import { FakeClient, recordingLogger } from './testing/fakes.fixture';
import type { ClientLease } from './upstream-connections';

const event = (n: number): UpstreamEvent => ({ data: { ticks: { n } } });
const result = (n: number) => ({ done: false, value: { data: { ticks: { n } } } });
const DONE = { done: true, value: undefined };

/** A subscriber whose result is the event's data, its upstream errors under `alias`. */
function subscriber(alias = 'ticks', maxBufferedEvents = 10): LocalSubscription {
  return new LocalSubscription(
    (e) => Promise.resolve({ data: e.data }),
    maxBufferedEvents,
    (errors) =>
      errors.map(
        (error) =>
          new GraphQLError(error.message, {
            path: error.path?.map((segment) => (segment === 'ticks' ? alias : segment)),
            extensions: error.extensions,
          }),
      ),
  );
}

function started() {
  const client = new FakeClient();
  const lease: ClientLease = { client, refs: 1, upstreams: new Set(), live: true };
  let gone = 0;
  const upstream = new SharedUpstream('a', lease, recordingLogger(), () => void (gone += 1));
  upstream.start({ query: 'subscription { ticks { n } }', variables: {} });
  const [subscription] = client.subscriptions;
  return { client, lease, upstream, subscription, gone: () => gone };
}

describe('SharedUpstream', () => {
  it('subscribes upstream once and fans every event out to its subscribers, in order', async () => {
    const { client, lease, upstream, subscription } = started();
    const one = subscriber();
    const two = subscriber();
    upstream.add(one);
    upstream.add(two);
    expect(client.subscriptions).toHaveLength(1);
    expect(subscription.payload).toEqual({ query: 'subscription { ticks { n } }', variables: {} });
    expect(lease.upstreams.has(upstream)).toBe(true);

    subscription.sink.next(event(1));
    subscription.sink.next(event(2));
    for (const local of [one, two]) {
      expect(await local.next()).toEqual(result(1));
      expect(await local.next()).toEqual(result(2));
    }
  });

  it('completes the subscription upstream and gives its lease back once, when the last subscriber leaves', async () => {
    const { lease, upstream, subscription, gone } = started();
    const one = subscriber();
    const two = subscriber();
    upstream.add(one);
    upstream.add(two);

    await one.return();
    expect(subscription.unsubscribed).toBe(false);
    expect(gone()).toBe(0);
    subscription.sink.next(event(1));
    expect(await two.next()).toEqual(result(1));

    await two.return();
    expect(subscription.unsubscribed).toBe(true);
    expect(gone()).toBe(1);
    expect(lease.upstreams.has(upstream)).toBe(false);
    // Whatever comes later changes nothing.
    subscription.sink.complete();
    upstream.end();
    expect(gone()).toBe(1);
  });

  it('ends every subscriber after what it has queued when the upstream completes', async () => {
    const { lease, upstream, subscription, gone } = started();
    const one = subscriber();
    const two = subscriber();
    upstream.add(one);
    upstream.add(two);

    subscription.sink.next(event(1));
    subscription.sink.complete();
    expect(gone()).toBe(1);
    expect(lease.upstreams.size).toBe(0);
    for (const local of [one, two]) {
      expect(await local.next()).toEqual(result(1));
      expect(await local.next()).toEqual(DONE);
    }
    // Completed by the subgraph: nothing to complete upstream.
    expect(subscription.unsubscribed).toBe(false);
  });

  it("ends every subscriber with the subgraph's errors, each in its own response keys", async () => {
    const { upstream, subscription, gone } = started();
    const one = subscriber();
    const two = subscriber('mine');
    upstream.add(one);
    upstream.add(two);

    subscription.sink.error([
      { message: 'not allowed', path: ['ticks'], extensions: { code: 'FORBIDDEN' } },
    ]);
    expect(gone()).toBe(1);
    for (const [local, key] of [
      [one, 'ticks'],
      [two, 'mine'],
    ] as const) {
      const last = await local.next();
      expect(last.value?.errors?.[0]).toMatchObject({
        message: 'not allowed',
        path: [key],
        extensions: { code: 'FORBIDDEN', serviceName: 'a' },
      });
      expect(await local.next()).toEqual(DONE);
    }
  });

  it('tells its subscribers when the connection drops, and carries on', async () => {
    const { upstream, subscription } = started();
    const local = subscriber();
    upstream.add(local);

    upstream.interrupted();
    subscription.sink.next(event(2));
    const notice = await local.next();
    expect(notice.done).toBe(false);
    expect(notice.value?.errors?.[0]?.extensions).toEqual({
      code: 'SERVICE_UNAVAILABLE',
      serviceName: 'a',
    });
    expect(await local.next()).toEqual(result(2));

    subscription.sink.complete();
    upstream.interrupted();
    expect(await local.next()).toEqual(DONE);
  });

  it('completes the subscription upstream when ended by its owner (dispose)', async () => {
    const { upstream, subscription, gone } = started();
    const local = subscriber();
    upstream.add(local);

    upstream.end(undefined, true);
    expect(subscription.unsubscribed).toBe(true);
    expect(gone()).toBe(1);
    expect(await local.next()).toEqual(DONE);
  });

  it('lets an overflowing subscriber go without disturbing the others', async () => {
    const { upstream, subscription, gone } = started();
    const slow = subscriber('ticks', 1);
    const fast = subscriber();
    upstream.add(slow);
    upstream.add(fast);

    subscription.sink.next(event(1));
    subscription.sink.next(event(2));
    expect(upstream.subscribers.has(slow)).toBe(false);
    expect(gone()).toBe(0);
    expect((await slow.next()).value?.errors?.[0]?.extensions.code).toBe(
      'SUBSCRIPTION_BUFFER_OVERFLOW',
    );
    expect(await fast.next()).toEqual(result(1));
    expect(await fast.next()).toEqual(result(2));

    await fast.return();
    expect(subscription.unsubscribed).toBe(true);
    expect(gone()).toBe(1);
  });
});
