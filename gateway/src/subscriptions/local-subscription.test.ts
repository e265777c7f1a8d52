import { GraphQLError } from 'graphql';
import type { UpstreamEvent } from './gateway-types';
import { LocalSubscription } from './local-subscription';
import { resolvable, type Resolvable } from './testing/fakes.fixture';

const event = (n: number): UpstreamEvent => ({ data: { n } });
const result = (n: number) => ({ done: false, value: { data: { n } } });
const DONE = { done: true, value: undefined };

/** A subscriber whose execution is the event's data, with its calls and detaches counted. */
function subscriber(maxBufferedEvents = 10) {
  const executed: UpstreamEvent[] = [];
  let detached = 0;
  const local = new LocalSubscription(
    (e) => {
      executed.push(e);
      return Promise.resolve({ data: e.data });
    },
    maxBufferedEvents,
    // The subscriber's own paths: `mine` where the upstream says `ticks`.
    (errors) =>
      errors.map(
        (error) =>
          new GraphQLError(error.message, {
            path: error.path?.map((segment) => (segment === 'ticks' ? 'mine' : segment)),
            extensions: error.extensions,
          }),
      ),
  );
  local.detach = () => void (detached += 1);
  return { local, executed, detached: () => detached };
}

describe('LocalSubscription', () => {
  it('answers events in the order they arrived, executing each only when pulled', async () => {
    const { local, executed } = subscriber();
    for (const n of [1, 2, 3]) local.deliver({ kind: 'event', event: event(n) });
    expect(executed).toHaveLength(0);

    expect(await local.next()).toEqual(result(1));
    expect(executed).toHaveLength(1);
    expect(await local.next()).toEqual(result(2));
    expect(await local.next()).toEqual(result(3));
  });

  it('waits for an event when nothing is queued', async () => {
    const { local } = subscriber();
    const next = local.next();
    local.deliver({ kind: 'event', event: event(1) });
    expect(await next).toEqual(result(1));
  });

  it('answers concurrent next() calls in order, one execution at a time', async () => {
    const executions: { event: UpstreamEvent; done: Resolvable }[] = [];
    const calledFor = (n: number) => executions.map((e) => e.event.data?.n).includes(n);
    const local = new LocalSubscription(
      async (e) => {
        const done = resolvable();
        executions.push({ event: e, done });
        await done;
        return { data: e.data };
      },
      10,
      (errors) => [...errors],
    );
    const first = local.next();
    const second = local.next();
    local.deliver({ kind: 'event', event: event(1) });
    local.deliver({ kind: 'event', event: event(2) });

    const answered: number[] = [];
    void first.then(() => answered.push(1));
    void second.then(() => answered.push(2));
    await new Promise(setImmediate);
    // The second event waits for the first one's result: a slow consumer is a queue, not load.
    expect(calledFor(1)).toBe(true);
    expect(calledFor(2)).toBe(false);

    executions[0].done.resolve();
    expect(await first).toEqual(result(1));
    await new Promise(setImmediate);
    executions[1].done.resolve();
    expect(await second).toEqual(result(2));
    expect(answered).toEqual([1, 2]);
  });

  it('drops its queue for one SUBSCRIPTION_BUFFER_OVERFLOW result past its bound, and detaches', async () => {
    const { local, executed, detached } = subscriber(2);
    for (const n of [1, 2, 3]) local.deliver({ kind: 'event', event: event(n) });
    expect(detached()).toBe(1);
    local.deliver({ kind: 'event', event: event(4) });

    const { value } = await local.next();
    expect(value?.data).toBeUndefined();
    expect(value?.errors?.map((e: GraphQLError) => e.extensions.code)).toEqual([
      'SUBSCRIPTION_BUFFER_OVERFLOW',
    ]);
    expect(await local.next()).toEqual(DONE);
    // The dropped events were never executed.
    expect(executed).toHaveLength(0);
  });

  it('queues the end even when full: it never overflows', async () => {
    const { local } = subscriber(1);
    local.deliver({ kind: 'event', event: event(1) });
    local.deliver({ kind: 'end' });
    expect(await local.next()).toEqual(result(1));
    expect(await local.next()).toEqual(DONE);
  });

  it('answers a notice as a result with errors, and carries on', async () => {
    const { local } = subscriber();
    const errors = [
      new GraphQLError('reconnecting', { extensions: { code: 'SERVICE_UNAVAILABLE' } }),
    ];
    local.deliver({ kind: 'notice', errors });
    local.deliver({ kind: 'event', event: event(2) });

    const notice = await local.next();
    expect(notice.done).toBe(false);
    expect(notice.value?.errors?.[0]?.message).toBe('reconnecting');
    expect(await local.next()).toEqual(result(2));
  });

  it('ends with a last result of the upstream errors in its own paths, then done', async () => {
    const { local, detached } = subscriber();
    local.deliver({ kind: 'event', event: event(1) });
    local.deliver({
      kind: 'end',
      errors: [new GraphQLError('refused', { path: ['ticks', 'n'], extensions: { code: 'X' } })],
    });
    local.deliver({ kind: 'event', event: event(2) });

    expect(await local.next()).toEqual(result(1));
    const last = await local.next();
    expect(last.done).toBe(false);
    expect(last.value?.errors?.[0]).toMatchObject({ message: 'refused', path: ['mine', 'n'] });
    expect(detached()).toBe(1);
    expect(await local.next()).toEqual(DONE);
  });

  it('return() detaches at once, answers a waiting next() with done and ignores later events', async () => {
    const { local, executed, detached } = subscriber();
    const waiting = local.next();
    expect(await local.return()).toEqual(DONE);
    expect(detached()).toBe(1);
    expect(await waiting).toEqual(DONE);

    local.deliver({ kind: 'event', event: event(1) });
    expect(await local.next()).toEqual(DONE);
    expect(executed).toHaveLength(0);
  });

  it('throw() closes and rethrows', async () => {
    const { local, detached } = subscriber();
    local.deliver({ kind: 'event', event: event(1) });
    const failure = new Error('client gone');
    await expect(local.throw(failure)).rejects.toBe(failure);
    expect(detached()).toBe(1);
    expect(await local.next()).toEqual(DONE);
  });
});
