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

  describe('with a sink', () => {
    /**
     * A subscriber writing through a sink that records what it took, refuses results whose
     * `n` is in `refuse`, and lets the test say when the client has taken each write.
     */
    function direct(maxBufferedEvents = 10, refuse: number[] = []) {
      const executed: number[] = [];
      const writes: Array<{ n: unknown; written: () => void }> = [];
      let detached = 0;
      const local = new LocalSubscription(
        (e) => {
          executed.push(e.data?.n as number);
          return Promise.resolve({ data: e.data });
        },
        maxBufferedEvents,
        (errors) => [...errors],
        {
          write: (r, written) => {
            if (refuse.includes(r.data?.n as number)) return false;
            writes.push({ n: r.data?.n, written });
            return true;
          },
        },
      );
      local.detach = () => void (detached += 1);
      const settle = () => new Promise(setImmediate);
      return { local, executed, writes, detached: () => detached, settle };
    }

    it('writes events straight to the sink while the consumer waits, one write at a time, in order', async () => {
      const { local, writes, executed, settle } = direct();
      let answered = false;
      void local.next().then(() => (answered = true));
      await settle();
      for (const n of [1, 2, 3]) local.deliver({ kind: 'event', event: event(n) });
      await settle();
      // The next event waits until the client has taken the first.
      expect(writes.map((w) => w.n)).toEqual([1]);
      expect(executed).toEqual([1]);
      writes[0].written();
      await settle();
      expect(writes.map((w) => w.n)).toEqual([1, 2]);
      writes[1].written();
      await settle();
      writes[2].written();
      await settle();
      expect(writes.map((w) => w.n)).toEqual([1, 2, 3]);
      expect(executed).toEqual([1, 2, 3]);
      // The consumer got none of them and still waits.
      expect(answered).toBe(false);
      local.deliver({ kind: 'end' });
      await settle();
      expect(answered).toBe(true);
    });

    it('keeps writing directly when the next event comes as soon as a write is taken', async () => {
      const { local, writes, settle } = direct();
      let answered = false;
      void local.next().then(() => (answered = true));
      await settle();
      local.deliver({ kind: 'event', event: event(1) });
      await settle();
      // Taken, and the next event at once (as a fan-out's next event often comes): had the
      // waiting consumer been woken for nothing, it would not be waiting yet to be bypassed.
      writes[0].written();
      local.deliver({ kind: 'event', event: event(2) });
      await settle();
      expect(writes.map((w) => w.n)).toEqual([1, 2]);
      expect(answered).toBe(false);
    });

    it('hands a result the sink refuses to the consumer, executed once, and what follows after it', async () => {
      const { local, writes, executed, settle } = direct(10, [2]);
      const first = local.next();
      await settle();
      for (const n of [1, 2, 3]) local.deliver({ kind: 'event', event: event(n) });
      await settle();
      writes[0].written();
      expect(await first).toEqual(result(2));
      // Behind a result the consumer holds, the rest waits for the consumer: no overtaking.
      await settle();
      expect(writes.map((w) => w.n)).toEqual([1]);
      expect(await local.next()).toEqual(result(3));
      expect(executed).toEqual([1, 2, 3]);
      // Nothing queued any more and the consumer waits: direct again.
      const waiting = local.next();
      await settle();
      local.deliver({ kind: 'event', event: event(4) });
      await settle();
      expect(writes.map((w) => w.n)).toEqual([1, 4]);
      void waiting;
    });

    it('delivers the end after the last write was taken', async () => {
      const { local, writes, settle } = direct();
      const waiting = local.next();
      await settle();
      local.deliver({ kind: 'event', event: event(1) });
      local.deliver({
        kind: 'end',
        errors: [new GraphQLError('gone', { extensions: { code: 'SERVICE_UNAVAILABLE' } })],
      });
      await settle();
      let answered = false;
      void waiting.then(() => (answered = true));
      await settle();
      expect(answered).toBe(false);
      writes[0].written();
      const last = await waiting;
      expect(last.value?.errors?.[0]?.message).toBe('gone');
      expect(await local.next()).toEqual(DONE);
    });

    it('overflows as before when the client does not take its writes', async () => {
      const { local, writes, detached, settle } = direct(2);
      const waiting = local.next();
      await settle();
      local.deliver({ kind: 'event', event: event(1) });
      await settle();
      // Written, never taken: the next ones queue behind it, up to the bound.
      for (const n of [2, 3, 4]) local.deliver({ kind: 'event', event: event(n) });
      await settle();
      expect(writes.map((w) => w.n)).toEqual([1]);
      expect(detached()).toBe(1);
      writes[0].written();
      const { value } = await waiting;
      expect(value?.errors?.map((e: GraphQLError) => e.extensions.code)).toEqual([
        'SUBSCRIPTION_BUFFER_OVERFLOW',
      ]);
      expect(await local.next()).toEqual(DONE);
      expect(writes).toHaveLength(1);
    });

    it('writes nothing more once returned', async () => {
      const { local, writes, settle } = direct();
      const waiting = local.next();
      await settle();
      local.deliver({ kind: 'event', event: event(1) });
      await local.return();
      await settle();
      expect(await waiting).toEqual(DONE);
      expect(writes).toHaveLength(0);
    });
  });
});
