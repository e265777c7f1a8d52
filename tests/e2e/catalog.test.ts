import { buildDemoPlan } from '../../scripts/seed/demo-plan';
import { contractOperation } from '../support/contract';
import { startTestStack, type TestStack } from '../support/test-stack';
import { waitFor } from '../support/wait-for';

const plan = buildDemoPlan();
const DAY = 86_400_000;

/** The movies subgraph learns of the demo showtimes through the event backbone. */
async function projectionCaughtUp(t: TestStack): Promise<void> {
  await waitFor(
    async () => {
      const rows = await t.stack.subgraphs.movies.dataSource.query(
        'SELECT count(*)::int AS n FROM movie_showings',
      );
      return rows[0].n === plan.showtimes.length ? true : undefined;
    },
    'the showings projection',
    60_000,
  );
}

describe('the catalog in depth', () => {
  let t: TestStack;
  beforeAll(async () => {
    t = await startTestStack();
    await projectionCaughtUp(t);
  });
  afterAll(async () => {
    await t?.stop();
  });

  const search = async (text: string, genre?: string) => {
    const res = await t.query(contractOperation('SearchMovies'), { text, genre });
    expect(res.errors).toBeUndefined();
    return res.data!.movies.edges.map((e: any) => e.node.title) as string[];
  };

  describe('search', () => {
    it('ignores case and Vietnamese diacritics, best match first', async () => {
      expect((await search('lat mat'))[0]).toBe('Lật Mặt 7: Một Điều Ước');
      expect((await search('DAT RUNG phuong nam'))[0]).toBe('Đất Rừng Phương Nam');
    });

    it('tolerates a typo', async () => {
      expect((await search('Openheimer'))[0]).toBe('Oppenheimer');
      expect((await search('gladiater'))[0]).toBe('Gladiator II');
    });

    it('finds by cast and director', async () => {
      const oppenheimer = plan.movies.find((m) => m.title === 'Oppenheimer')!;
      expect(await search(oppenheimer.director)).toContain('Oppenheimer');
      expect(await search(oppenheimer.cast[0])).toContain('Oppenheimer');
    });

    it('filters by genre', async () => {
      const titles = await search('a', 'Animation');
      const animated = new Set(
        plan.movies.filter((m) => m.genres.includes('Animation')).map((m) => m.title),
      );
      expect(titles.length).toBeGreaterThan(0);
      expect(titles.every((title) => animated.has(title))).toBe(true);
    });

    it('finds nothing for nonsense', async () => {
      expect(await search('zzqxjv')).toEqual([]);
    });
  });

  it('NowShowing in a city lists exactly the movies with showtimes there, without calling cinemas', async () => {
    const now = Date.now();
    const daNang = new Set(plan.cinemas.filter((c) => c.city === 'Đà Nẵng').map((c) => c.id));
    const hallsThere = new Set(plan.halls.filter((h) => daNang.has(h.cinemaId)).map((h) => h.id));
    const nowShowing = new Set(
      plan.movies.filter((m) => m.status === 'NOW_SHOWING').map((m) => m.id),
    );
    const expected = new Set(
      plan.showtimes
        .filter(
          (s) =>
            hallsThere.has(s.hallId) && s.startsAt.getTime() >= now && nowShowing.has(s.movieId),
        )
        .map((s) => s.movieId),
    );
    await t.stack.subgraphs.cinemas.stop(); // the answer must not depend on cinemas
    const res = await t.query(contractOperation('NowShowing'), { city: 'da nang', first: 100 });
    expect(res.errors).toBeUndefined();
    const ids = new Set(res.data!.movies.edges.map((e: any) => e.node.id));
    expect(ids).toEqual(expected);
    expect(res.data!.movies.totalCount).toBe(expected.size);
  });
});

describe('admin writes and the event backbone', () => {
  let t: TestStack;
  let admin: string;
  beforeAll(async () => {
    t = await startTestStack();
    admin = t.token('user_admin', 'ADMIN');
    await projectionCaughtUp(t);
  });
  afterAll(async () => {
    await t?.stop();
  });

  const createMovie = (input: Record<string, unknown>, token = admin) =>
    t.query(contractOperation('CreateMovie'), { input }, { token });
  const movieInput = {
    title: 'Chị Chị Em Em 3',
    durationMinutes: 112,
    ageRating: 'T16',
    releaseDate: '2026-12-01',
    genres: ['Drama'],
    director: 'Kathy Uyên',
    cast: ['Chi Pu', 'Ngọc Trinh'],
    status: 'NOW_SHOWING',
  };

  it('CreateMovie: ADMIN only, every field validated', async () => {
    const customer = await createMovie(movieInput, t.token('user_c'));
    expect(customer.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const anonymous = await t.query(contractOperation('CreateMovie'), { input: movieInput });
    expect(anonymous.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    for (const [patch, field] of [
      [{ title: ' ' }, 'title'],
      [{ durationMinutes: 0 }, 'durationMinutes'],
      [{ releaseDate: '2026-02-30' }, 'releaseDate'],
      [{ posterUrl: 'javascript:alert(1)' }, 'posterUrl'],
    ] as const) {
      const res = await createMovie({ ...movieInput, ...patch });
      expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    }
    const ok = await createMovie(movieInput);
    expect(ok.errors).toBeUndefined();
    expect(ok.data!.createMovie).toEqual({ id: expect.any(String), title: 'Chị Chị Em Em 3' });
  });

  it('CreateHall builds the seat layout; ScheduleShowtime computes the end and refuses overlaps', async () => {
    const cinemaId = plan.cinemas.find((c) => c.city === 'Hà Nội')!.id;
    const hall = await t.query(
      contractOperation('CreateHall'),
      {
        input: {
          cinemaId,
          name: 'Hall 9',
          rows: 5,
          columns: 9,
          aisleColumns: [5],
          rowTypes: [{ row: 'E', type: 'COUPLE' }],
          seatOverrides: [{ row: 'A', column: 1, type: 'ACCESSIBLE' }],
        },
      },
      { token: admin },
    );
    expect(hall.errors).toBeUndefined();
    expect(hall.data!.createHall).toMatchObject({
      name: 'Hall 9',
      rows: 5,
      columns: 9,
      capacity: 40,
    });
    const hallId = hall.data!.createHall.id;

    const movie = await createMovie({ ...movieInput, title: 'Lịch Trình Mới' });
    const movieId = movie.data!.createMovie.id;
    const startsAt = new Date(Math.ceil((Date.now() + 2 * DAY) / 3_600_000) * 3_600_000);
    const prices = [
      { seatType: 'STANDARD', amount: 90000 },
      { seatType: 'COUPLE', amount: 200000 },
      { seatType: 'ACCESSIBLE', amount: 70000 },
    ];
    const schedule = (start: Date, extra: Record<string, unknown> = {}) =>
      t.query(
        contractOperation('ScheduleShowtime'),
        {
          input: {
            movieId,
            hallId,
            startsAt: start.toISOString(),
            format: '2D',
            language: 'Vietnamese',
            prices,
            ...extra,
          },
        },
        { token: admin },
      );

    const first = await schedule(startsAt);
    expect(first.errors).toBeUndefined();
    // 112 min + 15 min of trailers, rounded up to 5 minutes.
    expect(Date.parse(first.data!.scheduleShowtime.endsAt) - startsAt.getTime()).toBe(130 * 60_000);

    const overlapping = await schedule(new Date(startsAt.getTime() + 60 * 60_000));
    expect(overlapping.errors?.[0].extensions?.code).toBe('SHOWTIME_CONFLICT');
    // The cleaning gap (15 min after the end) counts as busy too.
    const inCleaning = await schedule(new Date(startsAt.getTime() + 140 * 60_000));
    expect(inCleaning.errors?.[0].extensions?.code).toBe('SHOWTIME_CONFLICT');
    const after = await schedule(new Date(startsAt.getTime() + 145 * 60_000));
    expect(after.errors).toBeUndefined();

    const past = await schedule(new Date(Date.now() - 60_000));
    expect(past.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'startsAt',
    });
    const farAway = await schedule(new Date('9999-12-31T23:00:00Z'));
    expect(farAway.errors?.[0]).toMatchObject({
      message: 'startsAt must be within 2 years from now',
      extensions: { code: 'BAD_USER_INPUT', field: 'startsAt' },
    });
    const unpriced = await schedule(new Date(startsAt.getTime() + DAY), {
      prices: prices.slice(0, 1),
    });
    expect(unpriced.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'prices',
    });
    const badFormat = await schedule(new Date(startsAt.getTime() + DAY), { format: '4DX' });
    expect(badFormat.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'format',
    });
  });

  it('a showtime scheduled while movies is down reaches movies(filter: { city }) when it is back', async () => {
    const created = await createMovie({ ...movieInput, title: 'Phim Mới Ở Đà Nẵng' });
    const movieId = created.data!.createMovie.id;
    // Cinemas learns the movie's running time from the movies stream.
    await waitFor(async () => {
      const rows = await t.stack.subgraphs.cinemas.dataSource.query(
        'SELECT 1 FROM movie_runtimes WHERE movie_id = $1',
        [movieId],
      );
      return rows.length ? true : undefined;
    }, 'the movie in cinemas');
    const inDaNang = async () => {
      const res = await t.query(contractOperation('NowShowing'), { city: 'Đà Nẵng', first: 100 });
      return res.data?.movies.edges.some((e: any) => e.node.id === movieId) ?? false;
    };
    expect(await inDaNang()).toBe(false);

    await t.stack.subgraphs.movies.stop();
    const hallId = plan.halls.find(
      (h) => h.cinemaId === plan.cinemas.find((c) => c.city === 'Đà Nẵng')!.id,
    )!.id;
    const startsAt = new Date(Math.ceil((Date.now() + 20 * DAY) / 3_600_000) * 3_600_000);
    const scheduled = await t.query(
      contractOperation('ScheduleShowtime'),
      {
        input: {
          movieId,
          hallId,
          startsAt: startsAt.toISOString(),
          format: '2D',
          language: 'Vietnamese',
          prices: ['STANDARD', 'VIP', 'COUPLE', 'ACCESSIBLE'].map((seatType) => ({
            seatType,
            amount: 85000,
          })),
        },
      },
      { token: admin },
    );
    expect(scheduled.errors).toBeUndefined();

    await t.restartSubgraph('movies');
    await waitFor(async () => ((await inDaNang()) ? true : undefined), 'the showtime in movies');
  });

  it('a cinema that moves city takes its coming showtimes with it in movies(filter: { city })', async () => {
    const gql = (q: string, v: Record<string, unknown>) => t.query(q, v, { token: admin });
    const cinema = await gql(
      'mutation($i: CreateCinemaInput!) { createCinema(input: $i) { id } }',
      {
        i: {
          name: 'MovieHub Ninh Kiều',
          city: 'Cần Thơ',
          address: '1 Hai Bà Trưng',
          latitude: 10.03,
          longitude: 105.78,
        },
      },
    );
    const cinemaId = cinema.data!.createCinema.id;
    const hall = await gql(contractOperation('CreateHall'), {
      input: { cinemaId, name: 'Hall 1', rows: 2, columns: 4 },
    });
    const movieId = plan.movies.find((m) => m.status === 'NOW_SHOWING')!.id;
    const scheduled = await gql(contractOperation('ScheduleShowtime'), {
      input: {
        movieId,
        hallId: hall.data!.createHall.id,
        startsAt: new Date(Date.now() + 3 * DAY).toISOString(),
        format: '2D',
        language: 'Vietnamese',
        prices: [{ seatType: 'STANDARD', amount: 70000 }],
      },
    });
    expect(scheduled.errors).toBeUndefined();
    const playsIn = async (city: string) => {
      const res = await t.query(contractOperation('NowShowing'), { city, first: 100 });
      return res.data!.movies.edges.some((e: any) => e.node.id === movieId);
    };
    await waitFor(
      async () => ((await playsIn('Cần Thơ')) ? true : undefined),
      'the showtime in Cần Thơ',
    );

    const moved = await gql(
      'mutation($id: ID!, $i: UpdateCinemaInput!) { updateCinema(id: $id, input: $i) { city } }',
      {
        id: cinemaId,
        i: { city: 'Huế' },
      },
    );
    expect(moved.data!.updateCinema.city).toBe('Huế');
    await waitFor(async () => ((await playsIn('Hue')) ? true : undefined), 'the showtime in Huế');
    expect(await playsIn('Cần Thơ')).toBe(false);
  });
});
