import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  buildClientSchema,
  buildSchema,
  getIntrospectionQuery,
  isObjectType,
  printSchema,
  type IntrospectionQuery,
} from 'graphql';
import { startGateway } from '../../gateway/src/gateway';
import { withOverrides } from '../../runtime/config';
import type { RunningService } from '../../runtime/lifecycle';
import { projectRoot } from '../../runtime/paths';
import { buildDemoPlan } from '../../scripts/seed/demo-plan';
import { contractOperation } from '../support/contract';
import { postGraphQL, startTestStack, type TestStack } from '../support/test-stack';

/**
 * The public partner graph (issue 14) through two gateway instances on one Redis: the
 * contract's partner operations with a key, nothing private reachable (not by a field, not by
 * introspection), keys issued and revoked by admins on the private graph, rates shared by
 * every instance, the public graph's own shape limits, and persisted queries.
 */
const plan = buildDemoPlan();
const city = plan.cinemas[0].city;
const publicSdl = readFileSync(join(projectRoot(), 'schema', 'public.graphql'), 'utf8');
const apiSdl = readFileSync(join(projectRoot(), 'schema', 'api.graphql'), 'utf8');

const CREATE_KEY = `mutation ($input: CreateApiKeyInput!) {
  createApiKey(input: $input) { key apiKey { id name requestsPerMinute } }
}`;
const REVOKE_KEY = 'mutation ($id: ID!) { revokeApiKey(id: $id) }';
const LIST_KEYS = `query ($includeRevoked: Boolean) {
  apiKeys(includeRevoked: $includeRevoked) { totalCount edges { node { id name owner requestsPerMinute prefix createdBy revokedAt } } }
}`;

describe('the partner graph at /public/graphql', () => {
  let t: TestStack;
  let gateway2: RunningService;
  let publicUrls: [string, string];
  let adminToken: string;

  beforeAll(async () => {
    t = await startTestStack();
    const urls = Object.fromEntries(Object.values(t.stack.subgraphs).map((s) => [s.name, s.url]));
    gateway2 = await startGateway(
      withOverrides(t.config, { http: { host: '127.0.0.1', port: 0 }, subgraphUrls: urls }),
    );
    publicUrls = [
      t.gatewayUrl.replace(/\/graphql$/, '/public/graphql'),
      `http://127.0.0.1:${gateway2.port}/public/graphql`,
    ];
    adminToken = t.token('partner-admin', 'ADMIN');
  });
  afterAll(async () => {
    await gateway2?.stop();
    await t?.stop();
  });

  const issueKey = async (requestsPerMinute = 1000, name = 'Listings site') => {
    const res = await t.query(
      CREATE_KEY,
      { input: { name, owner: 'Cine Guide JSC', requestsPerMinute } },
      { token: adminToken },
    );
    expect(res.errors).toBeUndefined();
    return res.data!.createApiKey as {
      key: string;
      apiKey: { id: string; name: string; requestsPerMinute: number };
    };
  };
  const asPartner = (
    key: string | undefined,
    query: string,
    variables: Record<string, unknown> = {},
    instance: 0 | 1 = 0,
  ) =>
    postGraphQL(publicUrls[instance], query, variables, {
      headers: key ? { 'x-api-key': key } : {},
    });
  const window = () => ({
    city,
    from: new Date().toISOString(),
    to: new Date(Date.now() + 2 * 86_400_000).toISOString(),
  });

  describe('with a key', () => {
    let key: string;
    beforeAll(async () => {
      ({ key } = await issueKey());
    });

    it("answers the contract's partner operations as the private graph does", async () => {
      const listings = await asPartner(key, contractOperation('PartnerListings'), window());
      expect(listings.status).toBe(200);
      expect(listings.errors).toBeUndefined();
      const showtimes = listings.data!.showtimes as any[];
      expect(showtimes.length).toBeGreaterThan(0);
      for (const showtime of showtimes) {
        expect(showtime.hall.cinema.city).toBe(city);
        expect(showtime.movie.title).toEqual(expect.any(String));
        expect(showtime.availableSeats).toBeGreaterThan(0);
      }
      const privateAnswer = await t.query(contractOperation('PartnerListings'), window());
      expect(privateAnswer.data!.showtimes.map((s: any) => s.id)).toEqual(
        showtimes.map((s) => s.id),
      );

      const id = showtimes[0].movie.id as string;
      const movie = await asPartner(key, contractOperation('PartnerMovie'), { id }, 1);
      expect(movie.errors).toBeUndefined();
      expect(movie.data!.movie).toMatchObject({
        id,
        title: expect.any(String),
        synopsis: expect.any(String),
        releaseDate: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/),
      });
    });

    it('lets no shared cache keep a keyed answer, even of catalog data', async () => {
      const query = encodeURIComponent('{ cinemas { id } }');
      const res = await fetch(`${publicUrls[0]}?query=${query}`, {
        headers: { 'x-api-key': key, 'apollo-require-preflight': 'true' },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('private, no-store');
      expect(res.headers.get('vary')).toMatch(/X-Api-Key/i);
    });

    it("gives a showtime's seat counts per type, which add up to its free seats", async () => {
      const showtime = plan.showtimes.find((s) => s.startsAt.getTime() > Date.now() + 86_400_000)!;
      const res = await asPartner(
        key,
        `query ($id: ID!) { showtime(id: $id) { availableSeats availability {
          total available standard { total available } vip { total available }
          couple { total available } premium { total available } accessible { total available } } } }`,
        { id: showtime.id },
      );
      expect(res.errors).toBeUndefined();
      const { availableSeats, availability } = res.data!.showtime;
      expect(availability.available).toBe(availableSeats);
      const perType = Object.values(availability).filter((v) => typeof v === 'object' && v) as {
        total: number;
        available: number;
      }[];
      expect(perType.length).toBeGreaterThan(0);
      expect(perType.reduce((sum, c) => sum + c.available, 0)).toBe(availableSeats);
      expect(perType.reduce((sum, c) => sum + c.total, 0)).toBe(availability.total);
    });

    it('rejects every field the public graph does not have at validation', async () => {
      const publicSchema = buildSchema(publicSdl);
      const apiSchema = buildSchema(apiSdl);
      // A way into each public type, to ask for its fields that are not public.
      const paths: Record<string, (field: string) => string> = {
        Query: (f) => `{ ${f} }`,
        Showtime: (f) => `{ showtime(id: "${plan.showtimes[0].id}") { ${f} } }`,
        Hall: (f) => `{ cinemas { halls { ${f} } } }`,
        Cinema: (f) => `{ cinemas { ${f} } }`,
        Movie: (f) => `{ movie(id: "${plan.movies[0].id}") { ${f} } }`,
      };
      const hidden: string[] = [];
      for (const [typeName, path] of Object.entries(paths)) {
        const publicFields = Object.keys(
          (publicSchema.getType(typeName) as any).getFields() as object,
        );
        const apiType = apiSchema.getType(typeName);
        if (!isObjectType(apiType)) throw new Error(`${typeName} is not in the API schema`);
        for (const field of Object.keys(apiType.getFields())) {
          if (publicFields.includes(field)) continue;
          hidden.push(`${typeName}.${field}`);
          const res = await asPartner(key, path(field));
          expect([`${typeName}.${field}`, res.status, res.errors?.[0].extensions?.code]).toEqual([
            `${typeName}.${field}`,
            400,
            'GRAPHQL_VALIDATION_FAILED',
          ]);
          expect(res.data).toBeUndefined();
        }
      }
      expect(hidden).toEqual(
        expect.arrayContaining(['Query.me', 'Query.booking', 'Query.apiKeys', 'Showtime.seatMap']),
      );
      for (const operation of [
        `mutation { holdSeats(showtimeId: "x", seatIds: ["y"]) { expiresAt } }`,
        `subscription { seatUpdates(showtimeId: "x") { version } }`,
      ]) {
        const res = await asPartner(key, operation);
        expect(res.status).toBe(400);
        expect(res.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      }
    });

    it('suggests only public names for a near miss', async () => {
      const res = await asPartner(key, `{ showtime(id: "x") { seatMa } }`);
      expect(res.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(res.errors?.[0].message).not.toMatch(/seatMap/);
      const typo = await asPartner(key, `{ movi(id: "x") { id } }`);
      expect(typo.errors?.[0].message).toMatch(/Did you mean "movie"/);
    });

    it('introspects as the public schema, and nothing else', async () => {
      // The same documents on the private graph first: what it prepared must not be reused.
      const typeQuery = (name: string) => `{ __type(name: "${name}") { name } }`;
      const privately = await t.query(getIntrospectionQuery());
      expect(JSON.stringify(privately.data)).toContain('"SeatMap"');
      expect((await t.query(typeQuery('User'))).data).toEqual({ __type: { name: 'User' } });

      const res = await asPartner(key, getIntrospectionQuery());
      expect(res.errors).toBeUndefined();
      const seen = printSchema(buildClientSchema(res.data as unknown as IntrospectionQuery));
      expect(seen).toBe(printSchema(buildSchema(publicSdl)));
      for (const name of ['User', 'Booking', 'ApiKey', 'SeatMap', 'SeatState', 'Payment']) {
        const one = await asPartner(key, typeQuery(name), {}, 1);
        expect([name, one.data]).toEqual([name, { __type: null }]);
      }
    });

    it('serves automatic persisted queries, registered on one instance, known on the other', async () => {
      const query = '{ cinemas { id name city } }';
      const sha256Hash = createHash('sha256').update(query).digest('hex');
      const persisted = { persistedQuery: { version: 1, sha256Hash } };
      const send = (body: object, instance: 0 | 1) =>
        fetch(publicUrls[instance], {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': key },
          body: JSON.stringify(body),
        }).then((r) => r.json() as Promise<{ data?: any; errors?: any[] }>);
      const unknown = await send({ extensions: persisted }, 1);
      expect(unknown.errors?.[0].extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
      const registered = await send({ query, extensions: persisted }, 0);
      expect(registered.data?.cinemas).toHaveLength(plan.cinemas.length);
      const byHash = await send({ extensions: persisted }, 1);
      expect(byHash).toEqual(registered);
    });

    it('refuses operations over its depth and cost limits, aliases counted', async () => {
      const listing = `showtimes(city: $city, from: $from, to: $to, limit: 500) {
        id startsAt endsAt format language availableSeats movie { id title } hall { id name cinema { id name } } }`;
      const vars = '($city: String!, $from: DateTime!, $to: DateTime!)';
      const one = await asPartner(key, `query ${vars} { a: ${listing} }`, window());
      expect(one.errors).toBeUndefined();
      const two = await asPartner(key, `query ${vars} { a: ${listing} b: ${listing} }`, window());
      expect(two.status).toBe(400);
      expect(two.errors?.[0]).toMatchObject({
        message: expect.stringMatching(/cost/i),
        extensions: { code: 'QUERY_TOO_COMPLEX' },
      });
      // The private graph, with its own limits, takes the same operation.
      const privately = await t.query(`query ${vars} { a: ${listing} b: ${listing} }`, window());
      expect(privately.errors).toBeUndefined();

      const deep = await asPartner(
        key,
        `{ movie(id: "${plan.movies[0].id}") { showtimes(limit: 1) { hall { cinema {
          halls { cinema { halls { cinema { id } } } } } } } } }`,
      );
      expect(deep.errors?.[0]).toMatchObject({
        message: expect.stringMatching(/depth/i),
        extensions: { code: 'QUERY_TOO_COMPLEX' },
      });
    });
  });

  describe('keys', () => {
    it('refuses a request without a key, with a malformed one, or one never issued', async () => {
      const query = '{ cinemas { id } }';
      for (const key of [undefined, 'not-a-key', `mh_live_${'A'.repeat(43)}`]) {
        const res = await asPartner(key, query);
        expect([key, res.status, res.errors?.[0].extensions?.code]).toEqual([
          key,
          401,
          'UNAUTHENTICATED',
        ]);
        expect(res.data).toBeUndefined();
      }
    });

    it('refuses a GET without a key however its query string is padded', async () => {
      // Express parses 1,000 parameters; Apollo reads the raw string: both must agree.
      const padding = Array.from({ length: 1001 }, (_, i) => `p${i}=1`).join('&');
      const query = encodeURIComponent('{ cinemas { id } }');
      const res = await fetch(`${publicUrls[0]}?${padding}&query=${query}`, {
        headers: { 'apollo-require-preflight': 'true' },
      });
      expect(res.status).toBe(401);
      const body = (await res.json()) as {
        data?: unknown;
        errors: { extensions: { code: string } }[];
      };
      expect(body.data).toBeUndefined();
      expect(body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    });

    it('are issued, listed and revoked by admins only, the key shown once and kept hashed', async () => {
      const issued = await issueKey(120, 'Kiosk');
      expect(issued.key).toMatch(/^mh_live_[A-Za-z0-9_-]{43}$/);
      expect(issued.apiKey).toMatchObject({ name: 'Kiosk', requestsPerMinute: 120 });

      const listed = await t.query(LIST_KEYS, {}, { token: adminToken });
      expect(listed.errors).toBeUndefined();
      const node = listed.data!.apiKeys.edges.find((e: any) => e.node.id === issued.apiKey.id).node;
      expect(node).toMatchObject({
        owner: 'Cine Guide JSC',
        prefix: issued.key.slice(0, 12),
        createdBy: 'partner-admin',
        revokedAt: null,
      });
      expect(JSON.stringify(listed.data)).not.toContain(issued.key);
      const stored: unknown[] = await t.stack.subgraphs.users.dataSource.query(
        'SELECT * FROM api_keys WHERE id = $1',
        [issued.apiKey.id],
      );
      expect(JSON.stringify(stored)).not.toContain(issued.key);

      for (const [token, code] of [
        [t.token('someone', 'CUSTOMER'), 'FORBIDDEN'],
        [t.token('door', 'STAFF'), 'FORBIDDEN'],
        [undefined, 'UNAUTHENTICATED'],
      ] as const) {
        const create = await t.query(CREATE_KEY, { input: { name: 'x', owner: 'y' } }, { token });
        const list = await t.query(LIST_KEYS, {}, { token });
        const revoke = await t.query(REVOKE_KEY, { id: issued.apiKey.id }, { token });
        for (const res of [create, list, revoke]) {
          expect(res.errors?.[0].extensions?.code).toBe(code);
        }
      }

      const bad = await t.query(
        CREATE_KEY,
        { input: { name: 'x', owner: 'y', requestsPerMinute: 0 } },
        { token: adminToken },
      );
      expect(bad.errors?.[0].extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        field: 'requestsPerMinute',
      });
      const unknown = await t.query(
        REVOKE_KEY,
        { id: '00000000-0000-4000-8000-000000000000' },
        { token: adminToken },
      );
      expect(unknown.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    });

    it('stop working at once on every gateway instance when revoked', async () => {
      const { key, apiKey } = await issueKey();
      const query = '{ cinemas { id } }';
      for (const instance of [0, 1] as const) {
        expect((await asPartner(key, query, {}, instance)).status).toBe(200);
      }
      const revoked = await t.query(REVOKE_KEY, { id: apiKey.id }, { token: adminToken });
      expect(revoked.data).toEqual({ revokeApiKey: true });
      for (const instance of [1, 0] as const) {
        const res = await asPartner(key, query, {}, instance);
        expect([instance, res.status, res.errors?.[0].extensions?.code]).toEqual([
          instance,
          401,
          'UNAUTHENTICATED',
        ]);
      }
      const again = await t.query(REVOKE_KEY, { id: apiKey.id }, { token: adminToken });
      expect(again.data).toEqual({ revokeApiKey: false });
      const active = await t.query(LIST_KEYS, {}, { token: adminToken });
      expect(active.data!.apiKeys.edges.map((e: any) => e.node.id)).not.toContain(apiKey.id);
    });

    it('limit each key to its rate across instances: RATE_LIMITED with when to retry', async () => {
      const { key } = await issueKey(2);
      const query = '{ cinemas { id } }';
      const first = await asPartner(key, query, {}, 0);
      expect(first.status).toBe(200);
      expect({
        limit: first.headers.get('ratelimit-limit'),
        remaining: first.headers.get('ratelimit-remaining'),
        reset: first.headers.get('ratelimit-reset'),
        policy: first.headers.get('ratelimit-policy'),
      }).toEqual({ limit: '2', remaining: '1', reset: '30', policy: '2;w=60' });
      expect((await asPartner(key, query, {}, 1)).status).toBe(200);

      const over = await asPartner(key, query, {}, 0);
      expect(over.status).toBe(429);
      expect(over.data).toBeUndefined();
      const retryAfter = Number(over.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(30);
      expect(over.headers.get('ratelimit-remaining')).toBe('0');
      expect(over.errors?.[0].extensions).toEqual({ code: 'RATE_LIMITED', retryAfter });
      expect((await asPartner(key, query, {}, 1)).status).toBe(429);

      // Another key has its own rate.
      const { key: other } = await issueKey(2);
      expect((await asPartner(other, query, {}, 1)).status).toBe(200);
    });
  });

  it('shows Sandbox on the public schema to a browser, asking for the X-Api-Key header', async () => {
    const res = await fetch(publicUrls[0], { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    const page = await res.text();
    expect(page).toMatch(/sandbox/i);
    expect(page).toContain('X-Api-Key');
  });
});

describe('the partner graph without Redis (the embedded default)', () => {
  let t: TestStack;
  let publicUrl: string;
  beforeAll(async () => {
    t = await startTestStack({ env: { REDIS_URL: '' }, seed: false });
    publicUrl = t.gatewayUrl.replace(/\/graphql$/, '/public/graphql');
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('checks keys with the users subgraph, limits them in the gateway, and revokes at once', async () => {
    const admin = t.token('partner-admin', 'ADMIN');
    const issued = await t.query(
      CREATE_KEY,
      { input: { name: 'Kiosk', owner: 'Partner', requestsPerMinute: 2 } },
      { token: admin },
    );
    const { key, apiKey } = issued.data!.createApiKey;
    const ask = () =>
      postGraphQL(publicUrl, '{ cinemas { id } }', {}, { headers: { 'x-api-key': key } });
    expect((await ask()).data).toEqual({ cinemas: [] });
    expect((await ask()).status).toBe(200);
    const over = await ask();
    expect([over.status, over.errors?.[0].extensions?.code]).toEqual([429, 'RATE_LIMITED']);

    await t.query(REVOKE_KEY, { id: apiKey.id }, { token: admin });
    const revoked = await ask();
    expect([revoked.status, revoked.errors?.[0].extensions?.code]).toEqual([
      401,
      'UNAUTHENTICATED',
    ]);
  });
});
