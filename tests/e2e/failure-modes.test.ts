import { internalReadinessHeaders } from '../../runtime/health';
import { contractOperation } from '../support/contract';
import { startTestStack, type TestStack } from '../support/test-stack';

const movieIdOf = async (t: TestStack): Promise<string> => {
  const list = await t.query(contractOperation('NowShowing'), { first: 1 });
  return list.data!.movies.edges[0].node.id;
};

describe('with one subgraph stopped', () => {
  let t: TestStack;
  beforeAll(async () => {
    t = await startTestStack();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('answers the other subgraphs’ fields, with an error naming the missing service', async () => {
    const id = await movieIdOf(t);
    await t.stack.subgraphs.cinemas.stop();

    const res = await t.query(contractOperation('MovieDetail'), { id });
    expect(res.status).toBe(200);
    expect(res.data?.movie).toMatchObject({ id, title: expect.any(String) });
    expect(res.errors).toEqual([
      expect.objectContaining({
        message: 'Service "cinemas" is unavailable',
        extensions: expect.objectContaining({
          code: 'SERVICE_UNAVAILABLE',
          serviceName: 'cinemas',
        }),
      }),
    ]);

    const readyUrl = t.gatewayUrl.replace(/\/graphql$/, '/ready');
    const ready = await fetch(readyUrl, {
      headers: internalReadinessHeaders(t.config.internalSecret, 'gateway', 'operator'),
    });
    expect(ready.status).toBe(503);
    const report = (await ready.json()) as { status: string; checks: Record<string, string> };
    expect(report.status).toBe('unavailable');
    expect(report.checks.cinemas).toMatch(/^down: cinemas subgraph unreachable/);
    expect(report.checks.movies).toBe('ok');

    // Anyone else learns the status, not which host is down or why.
    const anonymous = await fetch(readyUrl);
    expect(anonymous.status).toBe(503);
    expect(await anonymous.json()).toEqual({ status: 'unavailable' });
  });
});

describe('in production mode', () => {
  let t: TestStack;
  beforeAll(async () => {
    t = await startTestStack({
      env: {
        NODE_ENV: 'production',
        CORS_ORIGINS: 'https://moviehub.example',
        CLERK_AUTHORIZED_PARTIES: 'https://moviehub.example',
        LOG_LEVEL: 'silent',
      },
    });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('answers a malformed query with GRAPHQL_PARSE_FAILED and no stack trace', async () => {
    const res = await t.query('{ movies(');
    expect(res.errors?.[0].extensions).toEqual({ code: 'GRAPHQL_PARSE_FAILED' });
  });

  it('keeps domain error codes but never a stack trace', async () => {
    const res = await t.query('query { movie(id: "nope") { id } }');
    expect(res.errors?.[0].extensions).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'id',
      serviceName: 'movies',
    });
  });

  it('turns introspection off and serves no Sandbox', async () => {
    const res = await t.query('{ __schema { types { name } } }');
    expect(res.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const page = await fetch(t.gatewayUrl, { headers: { accept: 'text/html' } });
    expect(await page.text()).not.toMatch(/sandbox/i);
  });

  it('only lets allowlisted origins through CORS', async () => {
    const allowed = await fetch(t.gatewayUrl, {
      method: 'OPTIONS',
      headers: { origin: 'https://moviehub.example', 'access-control-request-method': 'POST' },
    });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://moviehub.example');
    const other = await fetch(t.gatewayUrl, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('masks unexpected errors: no SQL, no stack, no message leaves the server', async () => {
    // Break the movies database under the running service: every query now fails in SQL.
    await t.stack.subgraphs.movies.dataSource.query('ALTER TABLE movies RENAME TO movies_gone');
    try {
      const res = await t.query(contractOperation('NowShowing'), {});
      expect(res.errors).toEqual([
        expect.objectContaining({
          message: 'Internal server error',
          extensions: { code: 'INTERNAL_SERVER_ERROR', serviceName: 'movies' },
        }),
      ]);
      expect(JSON.stringify(res)).not.toMatch(/movies_gone|relation|SELECT|at /);
    } finally {
      await t.stack.subgraphs.movies.dataSource.query('ALTER TABLE movies_gone RENAME TO movies');
    }
  });
});
