import type { GraphQLDataSource, GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { getOperationAST, parse, type ExecutionResult } from 'graphql';
import {
  eventRequestContext,
  executeEvent,
  SharedEventResults,
  type SubscriberExecution,
} from './event-execution';
import type { UpstreamEvent } from './gateway-types';
import { SubscriptionPlanCache } from './subscription-plan-cache';
import { supergraphSchemas } from './supergraph-schemas';
import { recordingLogger } from './testing/fakes.fixture';
import { composeTicks, type TestContext } from './testing/ticks.fixture';
import { upstreamRequest } from './upstream-request';

const schemas = supergraphSchemas(
  composeTicks({ a: 'http://a.invalid/graphql', b: 'http://b.invalid/graphql' }),
);
const plans = new SubscriptionPlanCache(schemas);

/** Subgraph "b" answering `_entities` itself, remembering who asked. */
function itemsSource() {
  const callers: unknown[] = [];
  const source: GraphQLDataSource<TestContext> = {
    process: (options: GraphQLDataSourceProcessOptions<TestContext>) => {
      callers.push(options.context);
      const representations = options.request.variables?.representations as { id: string }[];
      return Promise.resolve({
        data: { _entities: representations.map(({ id }) => ({ name: `Item ${id}` })) },
      });
    },
  };
  return { source, callers };
}

/** Subgraph "a": the event answers its fetch, so it must never be called. */
const unreachable: GraphQLDataSource = {
  process: () => Promise.reject(new Error('the primary fetch must be answered by the event')),
};

function execution(
  source: string,
  context: TestContext,
  b: GraphQLDataSource<TestContext>,
): SubscriberExecution & { readonly log: ReturnType<typeof recordingLogger> } {
  const document = parse(source);
  const operation = getOperationAST(document);
  if (!operation) throw new Error('no operation');
  const prepared = plans.prepare(document, operation, undefined);
  const log = recordingLogger();
  return {
    schemas,
    prepared,
    request: upstreamRequest(schemas.supergraphSchema, prepared.primaryDocument, {}),
    serviceMap: { a: unreachable, b },
    requestContext: eventRequestContext({
      schemas,
      prepared,
      document,
      operation,
      operationName: undefined,
      variables: {},
      context,
      logger: log,
    }),
    logger: log,
    log,
  };
}

describe('executeEvent', () => {
  it("answers the primary fetch with the event and fetches other subgraphs' fields with the subscriber's context", async () => {
    const items = itemsSource();
    const run = execution(
      'subscription { ticks(channel: "x") { n item { id name } } }',
      { user: 'u1' },
      items.source,
    );
    const event: UpstreamEvent = {
      data: { ticks: { n: 1, item: { __typename: 'Item', id: 'i1' } } },
    };
    expect(await executeEvent(run, event)).toEqual({
      data: { ticks: { n: 1, item: { id: 'i1', name: 'Item i1' } } },
    });
    expect(items.callers).toEqual([{ user: 'u1' }]);
  });

  it("reads the shared event in the subscriber's own aliases, its errors' paths too", async () => {
    const run = execution(
      'subscription { mine: ticks(channel: "x") { number: n remark: note } }',
      { user: 'u1' },
      itemsSource().source,
    );
    // As the subgraph sends it: to the normalised upstream request, in canonical keys.
    const event: UpstreamEvent = {
      data: { ticks: { n: 2, note: null } },
      errors: [{ message: 'note is broken', path: ['ticks', 'note'] }],
    };
    const result = await executeEvent(run, event);
    expect(result.data).toEqual({ mine: { number: 2, remark: null } });
    expect(result.errors?.[0]).toMatchObject({
      message: 'note is broken',
      path: ['mine', 'remark'],
    });
  });

  it('leaves the shared event as it came: entity data is merged into a copy', async () => {
    const run = execution(
      'subscription { ticks(channel: "x") { n item { name } } }',
      { user: 'u1' },
      itemsSource().source,
    );
    const event: UpstreamEvent = {
      data: { ticks: { n: 3, item: { __typename: 'Item', id: 'i3' } } },
    };
    const before = structuredClone(event);
    expect((await executeEvent(run, event)).data).toEqual({
      ticks: { n: 3, item: { name: 'Item i3' } },
    });
    expect(event).toEqual(before);
  });

  it('answers a failing execution with INTERNAL_SERVER_ERROR and logs it', async () => {
    const run = execution(
      'subscription { ticks(channel: "x") { n } }',
      { user: 'u1' },
      itemsSource().source,
    );
    // The plan as planned, which the gateway's executor refuses to run.
    const refused: SubscriberExecution = {
      ...run,
      prepared: {
        ...run.prepared,
        perEventPlan: {
          kind: 'QueryPlan',
          node: { kind: 'Subscription', primary: run.prepared.primary },
        },
      },
    };
    const result = await executeEvent(refused, { data: { ticks: { n: 1 } } });
    expect(result.data).toBeUndefined();
    expect(result.errors?.[0]).toMatchObject({
      message: 'Executing the subscription event failed',
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
    expect(run.log.lines.join('\n')).toMatch(/subscriptions not supported/);
  });
});

describe('SharedEventResults', () => {
  it('executes once per (event, key), for whoever asks first', async () => {
    const results = new SharedEventResults();
    let executions = 0;
    const execute = (): Promise<ExecutionResult> =>
      Promise.resolve({ data: { run: ++executions } });
    const one: UpstreamEvent = { data: { n: 1 } };
    const two: UpstreamEvent = { data: { n: 1 } };

    const first = results.once('anonymous', one, execute);
    expect(results.once('anonymous', one, execute)).toBe(first);
    expect(await first).toEqual({ data: { run: 1 } });
    // Another key, or another event (even an equal one), runs again.
    expect(await results.once('u1', one, execute)).toEqual({ data: { run: 2 } });
    expect(await results.once('anonymous', two, execute)).toEqual({ data: { run: 3 } });
  });
});
