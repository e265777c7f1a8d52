import { internalReadinessHeaders } from '../../runtime/health';
import { contractOperation } from '../support/contract';
import { startTestStack, type TestStack } from '../support/test-stack';

describe('the supergraph through the gateway, on the demo data', () => {
  let t: TestStack;
  beforeAll(async () => {
    t = await startTestStack();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('NowShowing lists movies now showing, paginated with stable cursors', async () => {
    const first = await t.query(contractOperation('NowShowing'), { first: 10 });
    expect(first.errors).toBeUndefined();
    const page1 = first.data!.movies;
    expect(page1.totalCount).toBeGreaterThanOrEqual(24);
    expect(page1.edges).toHaveLength(10);
    expect(page1.pageInfo.hasNextPage).toBe(true);
    const second = await t.query(contractOperation('NowShowing'), {
      first: 10,
      after: page1.pageInfo.endCursor,
    });
    const ids1 = page1.edges.map((e: any) => e.node.id);
    const ids2 = second.data!.movies.edges.map((e: any) => e.node.id);
    expect(ids2).toHaveLength(10);
    expect(ids1.filter((id: string) => ids2.includes(id))).toEqual([]);
  });

  it('NowShowing refuses a page larger than 100 with BAD_USER_INPUT naming the field', async () => {
    const res = await t.query(contractOperation('NowShowing'), { first: 101 });
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
  });

  it('SearchMovies ignores case and Vietnamese diacritics', async () => {
    const res = await t.query(contractOperation('SearchMovies'), { text: 'lat mat' });
    expect(res.errors).toBeUndefined();
    const titles = res.data!.movies.edges.map((e: any) => e.node.title);
    expect(titles).toContain('Lật Mặt 7: Một Điều Ước');
  });

  it('MovieDetail crosses movies and cinemas: movie → showtimes → hall → cinema', async () => {
    const list = await t.query(contractOperation('NowShowing'), { first: 1 });
    const id = list.data!.movies.edges[0].node.id;
    const res = await t.query(contractOperation('MovieDetail'), { id });
    expect(res.errors).toBeUndefined();
    const movie = res.data!.movie;
    expect(movie.id).toBe(id);
    expect(movie.showtimes.length).toBeGreaterThan(0);
    for (const s of movie.showtimes) {
      expect(new Date(s.endsAt).getTime()).toBeGreaterThan(new Date(s.startsAt).getTime());
      expect(s.availableSeats).toBeGreaterThan(0);
      expect(s.hall.cinema.name).toMatch(/MovieHub/);
    }
  });

  it('MovieDetail narrows showtimes to one city, accents ignored', async () => {
    const list = await t.query(contractOperation('NowShowing'), { first: 1 });
    const id = list.data!.movies.edges[0].node.id;
    const res = await t.query(contractOperation('MovieDetail'), { id, city: 'da nang' });
    expect(res.errors).toBeUndefined();
    const cities = new Set(res.data!.movie.showtimes.map((s: any) => s.hall.cinema.city));
    expect([...cities].every((c) => c === 'Đà Nẵng')).toBe(true);
  });

  it('Cinemas lists the cinemas of a city with their halls', async () => {
    const all = await t.query(contractOperation('Cinemas'), {});
    expect(all.data!.cinemas).toHaveLength(6);
    expect(new Set(all.data!.cinemas.map((c: any) => c.city)).size).toBe(3);
    const hanoi = await t.query(contractOperation('Cinemas'), { city: 'Hà Nội' });
    expect(hanoi.data!.cinemas).toHaveLength(2);
    for (const c of hanoi.data!.cinemas) {
      expect(c.halls.length).toBeGreaterThan(0);
      expect(c.halls.every((h: any) => h.capacity > 0)).toBe(true);
    }
  });

  it('a query crossing all four subgraphs: me → bookings → showtime → movie, hall → cinema', async () => {
    const res = await t.query(
      `query { me { id name bookings(first: 10) { totalCount edges { node {
          bookingCode finalAmount
          showtime { startsAt movie { title } hall { cinema { name } } } } } } } }`,
      {},
      { token: t.token('demo-customer') },
    );
    expect(res.errors).toBeUndefined();
    const me = res.data!.me;
    expect(me).toMatchObject({ id: 'demo-customer', name: expect.any(String) });
    expect(me.bookings.totalCount).toBe(2);
    for (const { node } of me.bookings.edges) {
      expect(node.showtime.movie.title).toEqual(expect.any(String));
      expect(node.showtime.hall.cinema.name).toMatch(/MovieHub/);
    }
  });

  it('answers a malformed query with GRAPHQL_PARSE_FAILED', async () => {
    const res = await t.query('query { movies( ');
    expect(res.status).toBe(400);
    expect(res.errors?.[0].extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
  });

  it('gives every response a request id, and keeps one the client sent', async () => {
    const res = await t.query('{ __typename }', {}, { headers: { 'x-request-id': 'req-abc.123' } });
    expect(res.headers.get('x-request-id')).toBe('req-abc.123');
    const fresh = await t.query('{ __typename }');
    expect(fresh.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses a GET query without a CSRF-safe header (CSRF prevention)', async () => {
    const url = `${t.gatewayUrl}?query=${encodeURIComponent('{ __typename }')}`;
    const res = await fetch(url);
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/CSRF/i);
  });

  it('serves Apollo Sandbox to a browser on GET /graphql', async () => {
    const res = await fetch(t.gatewayUrl, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/sandbox/i);
  });

  it('is healthy and ready, naming each dependency', async () => {
    const base = t.gatewayUrl.replace(/\/graphql$/, '');
    expect((await fetch(`${base}/health`)).status).toBe(200);
    const anonymous = await fetch(`${base}/ready`);
    expect(anonymous.status).toBe(200);
    expect(await anonymous.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${base}/ready`, {
      headers: internalReadinessHeaders(t.config.internalSecret, 'gateway', 'operator'),
    });
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      status: 'ok',
      checks: { users: 'ok', movies: 'ok', cinemas: 'ok', bookings: 'ok', redis: 'ok' },
    });
  });

  it("keeps idle connections open longer than the callers' pools keep them (no reuse race)", async () => {
    // Node's 5 s default closed sockets the gateway's pool was about to reuse: a mutation
    // failed with ECONNRESET under load. Pools close a second before the announced timeout.
    const services = [t.stack.gateway, ...Object.values(t.stack.subgraphs)];
    for (const service of services) {
      const res = await fetch(`http://127.0.0.1:${service.port}/health`);
      expect([service.name, res.headers.get('keep-alive')]).toEqual([service.name, 'timeout=65']);
    }
  });
});
