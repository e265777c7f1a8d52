import {
  PickerCinemasDocument,
  PickerMoviesDocument,
  PickerShowtimesDocument,
  type PickerShowtimesQuery,
} from '../__generated__/graphql';
import { request } from '../api';
import { h, replaceChildren } from '../dom';
import { day, dayKey, time } from '../format';
import { locale, t } from '../i18n';
import { showError } from '../notices';
import { href } from '../router';
import type { View } from '../view';

/** How far ahead the showtimes go. */
const DAYS_AHEAD = 7;

type Showtime = NonNullable<NonNullable<PickerShowtimesQuery['movie']>['showtimes']>[number];

/**
 * The cities and each city's films, asked once per visit: every step of the picker draws the
 * steps before it again, and these change when the schedule does (rarely), not per click.
 */
const catalog = new Map<string, Promise<unknown>>();
function once<T>(key: string, load: () => Promise<T>): Promise<T> {
  let kept = catalog.get(key) as Promise<T> | undefined;
  if (!kept) {
    kept = load();
    catalog.set(key, kept);
    kept.catch(() => catalog.delete(key));
  }
  return kept;
}

const pickerLink = (city: string, movieId?: string) =>
  href(
    `?city=${encodeURIComponent(city)}${movieId ? `&movie=${encodeURIComponent(movieId)}` : ''}`,
  );

/**
 * Three steps on one page, each kept in the address (`?city=…&movie=…`) so that back and
 * forward and a shared link work: a city, a film now showing there, a showtime of the next
 * seven days (by day, then cinema).
 */
export function pickerPage(city: string | null, movieId: string | null): View {
  const cities = h('div', { class: 'chips', role: 'list' });
  const films = h('div', { class: 'films' });
  const showtimes = h('div', { class: 'showtimes' });
  const root = h(
    'section',
    { class: 'picker' },
    h('h1', {}, t('app.title')),
    step(1, t('picker.city'), cities),
    city ? step(2, t('picker.film'), films) : null,
    city && movieId ? step(3, t('picker.showtime'), showtimes) : null,
  );

  void (async () => {
    try {
      replaceChildren(cities, h('p', { class: 'loading' }, t('common.loading')));
      const { cinemas } = await once('cinemas', () => request(PickerCinemasDocument, {}));
      const names = [...new Set(cinemas.map((c) => c.city))].sort((a, b) =>
        a.localeCompare(b, locale()),
      );
      replaceChildren(
        cities,
        ...names.map((name) =>
          h(
            'a',
            {
              class: 'chip',
              role: 'listitem',
              href: pickerLink(name),
              'data-nav': true,
              'aria-current': name === city ? 'true' : null,
            },
            name,
          ),
        ),
      );
      if (!city) {
        root.append(h('p', { class: 'muted' }, t('picker.pickCity')));
        return;
      }
      replaceChildren(films, h('p', { class: 'loading' }, t('common.loading')));
      const { movies } = await once(`movies:${city}`, () =>
        request(PickerMoviesDocument, { city }),
      );
      const list = movies.edges.map((e) => e.node);
      replaceChildren(
        films,
        list.length === 0 ? h('p', { class: 'muted' }, t('picker.noFilms', { city })) : null,
        ...list.map((movie) =>
          h(
            'a',
            {
              class: 'film-card',
              href: pickerLink(city, movie.id),
              'data-nav': true,
              'aria-current': movie.id === movieId ? 'true' : null,
            },
            h('span', { class: 'poster', 'aria-hidden': 'true' }, movie.title.slice(0, 1)),
            h('strong', {}, movie.title),
            h(
              'span',
              { class: 'muted' },
              `${movie.ageRating} · ${t('picker.minutes', { n: movie.durationMinutes })}`,
            ),
            h('span', { class: 'muted small' }, movie.genres.join(', ')),
          ),
        ),
      );
      if (!movieId) {
        films.append(h('p', { class: 'muted' }, t('picker.pickFilm')));
        return;
      }
      replaceChildren(showtimes, h('p', { class: 'loading' }, t('common.loading')));
      const from = new Date();
      const to = new Date(from.getTime() + DAYS_AHEAD * 86_400_000);
      const { movie } = await request(PickerShowtimesDocument, {
        movieId,
        city,
        from: from.toISOString(),
        to: to.toISOString(),
      });
      const upcoming = movie?.showtimes ?? [];
      replaceChildren(
        showtimes,
        upcoming.length === 0 ? h('p', { class: 'muted' }, t('picker.noShowtimes')) : null,
        ...byDay(upcoming),
      );
      // The film list is long: the last step is what the visitor looks for now.
      showtimes.parentElement?.scrollIntoView({ block: 'start' });
    } catch (error) {
      showError(error);
    }
  })();

  return { element: root };
}

function step(n: number, title: string, body: HTMLElement): HTMLElement {
  return h('div', { class: 'step' }, h('h2', {}, h('span', { class: 'step-n' }, n), title), body);
}

/** Showtimes grouped by the cinema's calendar day, then by cinema, earliest first. */
function byDay(showtimes: readonly Showtime[]): HTMLElement[] {
  const days = new Map<string, Showtime[]>();
  for (const s of [...showtimes].sort((a, b) => a.startsAt.localeCompare(b.startsAt))) {
    const key = dayKey(s.startsAt);
    days.set(key, [...(days.get(key) ?? []), s]);
  }
  return [...days.values()].map((list) => {
    const cinemas = new Map<string, Showtime[]>();
    for (const s of list) {
      cinemas.set(s.hall.cinema.id, [...(cinemas.get(s.hall.cinema.id) ?? []), s]);
    }
    return h(
      'div',
      { class: 'day' },
      h('h3', {}, day(list[0].startsAt)),
      ...[...cinemas.values()].map((shows) =>
        h(
          'div',
          { class: 'cinema' },
          h(
            'p',
            { class: 'cinema-name' },
            shows[0].hall.cinema.name,
            h('span', { class: 'muted small' }, ` · ${shows[0].hall.cinema.address}`),
          ),
          h(
            'div',
            { class: 'times' },
            ...shows.map((s) =>
              h(
                'a',
                {
                  class: 'time',
                  href: href(`showtimes/${encodeURIComponent(s.id)}`),
                  'data-nav': true,
                  'data-showtime-id': s.id,
                  'data-starts-at': s.startsAt,
                },
                h('strong', {}, time(s.startsAt)),
                h('span', { class: 'small' }, `${s.format} · ${s.hall.name}`),
                h('span', { class: 'small muted' }, t('picker.seatsLeft', { n: s.availableSeats })),
              ),
            ),
          ),
        ),
      ),
    );
  });
}
