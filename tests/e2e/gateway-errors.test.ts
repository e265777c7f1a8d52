// What a client gets wrong is answered as a client error with Apollo's code, on the private
// graph and on the partner graph, over POST and GET: a document whose operation cannot be
// selected, a subscription sent over HTTP. Never a 500.
import { startTestStack, type TestStack } from '../support/test-stack';

interface Answer {
  status: number;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
  data?: unknown;
}

const MULTIPLE = 'Must provide operation name if query contains multiple operations.';

/** Documents Apollo Server selects no operation in, with graphql-js's message for each. */
const NOT_SELECTED: Array<[string, { query: string; operationName?: string }, string]> = [
  ['two operations, no name', { query: 'query A { __typename } query B { __typename }' }, MULTIPLE],
  [
    'a name the document lacks',
    { query: 'query A { __typename }', operationName: 'B' },
    'Unknown operation named "B".',
  ],
  [
    'an empty name',
    { query: 'query A { __typename }', operationName: '' },
    'Unknown operation named "".',
  ],
];

const SUBSCRIPTION = 'subscription ($id: ID!) { seatUpdates(showtimeId: $id) { version } }';

describe('client errors at the gateway', () => {
  let t: TestStack;
  let publicUrl: string;
  let key: string;

  beforeAll(async () => {
    t = await startTestStack({ seed: false });
    publicUrl = t.gatewayUrl.replace(/\/graphql$/, '/public/graphql');
    const created = await t.query(
      'mutation ($input: CreateApiKeyInput!) { createApiKey(input: $input) { key } }',
      { input: { name: 'Errors test', owner: 'Tests', requestsPerMinute: 1000 } },
      { token: t.token('errors-admin', 'ADMIN') },
    );
    expect(created.errors).toBeUndefined();
    key = (created.data!.createApiKey as { key: string }).key;
  });
  afterAll(async () => {
    await t?.stop();
  });

  const answerOf = async (res: Response): Promise<Answer> => {
    expect(res.headers.get('content-type')).toMatch(/^application\/(graphql-response\+)?json/);
    return { status: res.status, ...((await res.json()) as Omit<Answer, 'status'>) };
  };
  const post = async (url: string, body: object, headers: Record<string, string> = {}) =>
    answerOf(
      await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      }),
    );
  const get = async (url: string, params: Record<string, string>, headers = {}) =>
    answerOf(
      await fetch(`${url}?${new URLSearchParams(params).toString()}`, {
        // Apollo's CSRF prevention lets through a GET that a browser would have preflighted.
        headers: { 'apollo-require-preflight': 'true', ...headers },
      }),
    );

  const resolutionFailure = (message: string) => ({
    status: 400,
    errors: [{ message, extensions: { code: 'OPERATION_RESOLUTION_FAILURE' } }],
  });

  describe.each([
    ['the private graph', () => [t.gatewayUrl, {}] as const],
    ['the partner graph', () => [publicUrl, { 'x-api-key': key }] as const],
  ])('%s: a document whose operation cannot be selected', (_graph, target) => {
    it.each(NOT_SELECTED)('%s: 400 OPERATION_RESOLUTION_FAILURE over POST', async (_c, body, m) => {
      const [url, headers] = target();
      expect(await post(url, body, headers)).toMatchObject(resolutionFailure(m));
    });

    it.each(NOT_SELECTED)('%s: 400 OPERATION_RESOLUTION_FAILURE over GET', async (_c, body, m) => {
      const [url, headers] = target();
      const params: Record<string, string> = { query: body.query };
      if (body.operationName !== undefined) params.operationName = body.operationName;
      expect(await get(url, params, headers)).toMatchObject(resolutionFailure(m));
    });
  });

  it('answers a subscription POSTed to /graphql 400 BAD_REQUEST, saying where they are served', async () => {
    const answer = await post(t.gatewayUrl, { query: SUBSCRIPTION, variables: { id: '1' } });
    expect(answer).toMatchObject({
      status: 400,
      errors: [
        {
          message: 'Subscriptions are served over WebSocket (graphql-transport-ws) on /graphql',
          extensions: { code: 'BAD_REQUEST' },
        },
      ],
    });
    expect(answer.data).toBeUndefined();
  });

  it('answers a subscription sent by GET 405, as before', async () => {
    const answer = await get(t.gatewayUrl, {
      query: SUBSCRIPTION,
      variables: JSON.stringify({ id: '1' }),
    });
    expect(answer).toMatchObject({
      status: 405,
      errors: [{ extensions: { code: 'BAD_REQUEST' } }],
    });
  });

  it('answers a persisted query Apollo cannot take 400 BAD_REQUEST, not INTERNAL_SERVER_ERROR', async () => {
    for (const persistedQuery of [
      { version: 1, sha256Hash: 'a'.repeat(64) }, // not the hash of the text sent
      { version: 2, sha256Hash: 'a'.repeat(64) },
      'x',
    ]) {
      expect(
        await post(t.gatewayUrl, { query: '{ __typename }', extensions: { persistedQuery } }),
      ).toMatchObject({ status: 400, errors: [{ extensions: { code: 'BAD_REQUEST' } }] });
    }
  });

  it('still answers the operation a name selects', async () => {
    const answer = await post(t.gatewayUrl, {
      query: 'query A { __typename } query B { b: __typename }',
      operationName: 'B',
    });
    expect(answer).toMatchObject({ status: 200, data: { b: 'Query' } });
  });
});
