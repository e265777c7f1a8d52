import {
  CreateBookingDocument,
  HoldSeatsDocument,
  ReleaseSeatsDocument,
  ShowtimeSeatMapDocument,
  type ShowtimeSeatMapQuery,
} from '../__generated__/graphql';
import { ApiError, onLiveState, request } from '../api';
import { button, h, replaceChildren } from '../dom';
import { countdown, day, money, time } from '../format';
import { t, type MessageKey } from '../i18n';
import { showError, showInfo } from '../notices';
import { href, navigate } from '../router';
import { LiveSeatMap } from '../seat-map/live-seat-map';
import {
  lookOf,
  renderHall,
  seatName,
  type HallView,
  type PlacedSeat,
  type SeatLook,
  type SeatType,
} from '../seat-map/hall-view';
import { sessionUserId, signInMode } from '../session';
import { randomKey, type View } from '../view';

type Showtime = NonNullable<ShowtimeSeatMapQuery['showtime']>;

/** Codes after which the page's seat states are probably behind the server's. */
const STALE_AFTER = new Set(['SEAT_UNAVAILABLE', 'SEATS_NOT_HELD', 'BAD_USER_INPUT']);

/** Where the end of the viewer's hold window is kept, so a reload still counts it down. */
const expiryKey = (userId: string, showtimeId: string) => `moviehub.hold.${userId}.${showtimeId}`;

/**
 * A showtime's live seat map: free seats are held by a click and released by another, other
 * people's holds and sales appear as they happen, the viewer's seats are listed with their
 * prices and the time left on the hold, and "Book" turns them into a booking to pay.
 */
export function showtimePage(showtimeId: string): View {
  const root = h(
    'section',
    { class: 'showtime-page', 'data-live': 'connecting' },
    h('p', { class: 'loading' }, t('common.loading')),
  );
  const userId = sessionUserId();
  const busy = new Set<string>();
  let seats = new Map<string, PlacedSeat>();
  let hall: HallView | undefined;
  let expiry: number | null = readExpiry();
  let hadSeats = false;
  let booking = false;
  /** The cinema cancelled the showtime: the map stays, to look at only. */
  let cancelled = false;
  const cancelledNotice = h(
    'p',
    { class: 'notice notice-info cancelled', role: 'alert', 'data-testid': 'cancelled' },
    t('showtime.cancelled'),
  );

  const label = (seatId: string) => {
    const seat = seats.get(seatId);
    return seat ? seatName(seat) : seatId;
  };
  const live = new LiveSeatMap({
    showtimeId,
    onChange: (seatIds) => redraw(seatIds),
    // An open map learns at once that the cinema cancelled the showtime.
    onError: (error) =>
      error.extensions.reason === 'SHOWTIME_CANCELLED' ? markCancelled() : showError(error, label),
  });
  const liveBadge = h('span', { class: 'live-badge' });
  const stopLiveState = onLiveState((state) => {
    root.dataset.live = state;
    liveBadge.dataset.state = state;
    liveBadge.textContent = t(`live.${state}`);
  });

  const panel = h('aside', { class: 'panel', 'aria-live': 'polite' });
  const clock = h('p', { class: 'countdown', 'data-testid': 'countdown' });
  const ticker = setInterval(() => tick(), 1000);
  let prices = new Map<string, number>();

  function readExpiry(): number | null {
    if (!userId) return null;
    const saved = Number(sessionStorage.getItem(expiryKey(userId, showtimeId)));
    return saved > Date.now() ? saved : null;
  }

  function setExpiry(at: number | null): void {
    expiry = at;
    if (!userId) return;
    if (at === null) sessionStorage.removeItem(expiryKey(userId, showtimeId));
    else sessionStorage.setItem(expiryKey(userId, showtimeId), String(at));
  }

  function tick(): void {
    if (expiry === null || live.states.mine().length === 0) {
      clock.textContent = '';
      return;
    }
    clock.textContent = t('seat.expiresIn', { time: countdown(expiry - Date.now()) });
  }

  function redraw(seatIds: readonly string[]): void {
    for (const seatId of seatIds) hall?.update(seatId, live.states.get(seatId), busy.has(seatId));
    root.dataset.version = String(live.states.version);
    drawPanel();
  }

  function drawPanel(): void {
    const mine = live.states
      .mine()
      .map((s) => seats.get(s.seatId))
      .filter((s): s is PlacedSeat => s !== undefined)
      .sort((a, b) => a.row.localeCompare(b.row) || a.number - b.number);
    if (mine.length === 0) {
      if (hadSeats && expiry !== null && Date.now() >= expiry - 2000) showInfo(t('seat.expired'));
      if (hadSeats) setExpiry(null);
    }
    hadSeats = mine.length > 0;
    tick();
    const total = mine.reduce((sum, s) => sum + (prices.get(s.type) ?? 0), 0);
    const hint = signInMode() === 'demo' ? h('p', { class: 'hint' }, t('seat.twoWindows')) : null;
    if (cancelled) {
      replaceChildren(panel, h('h2', {}, t('seat.yourSeats')), h('p', {}, t('showtime.cancelled')));
      return;
    }
    if (!userId) {
      replaceChildren(
        panel,
        h('h2', {}, t('seat.yourSeats')),
        h('p', {}, t('seat.signInToHold')),
        hint,
      );
      return;
    }
    replaceChildren(
      panel,
      h('h2', {}, t('seat.yourSeats')),
      mine.length === 0
        ? h('p', { class: 'muted' }, t('seat.noneHeld'))
        : h(
            'ul',
            { class: 'my-seats' },
            ...mine.map((s) =>
              h(
                'li',
                { 'data-seat': seatName(s) },
                h('span', { class: `swatch type-${s.type.toLowerCase()}` }),
                h('strong', {}, seatName(s)),
                h('span', { class: 'muted' }, t(`seat.type.${s.type}` as MessageKey)),
                h('span', { class: 'price' }, money(prices.get(s.type) ?? 0)),
              ),
            ),
          ),
      mine.length > 0
        ? h('p', { class: 'total' }, h('span', {}, t('seat.total')), h('strong', {}, money(total)))
        : null,
      clock,
      mine.length > 0
        ? h(
            'div',
            { class: 'actions' },
            button(t('seat.releaseAll'), () => void releaseAll(mine), { class: 'secondary' }),
            button(t('seat.book'), () => void book(mine), {
              class: 'primary',
              'data-testid': 'book',
              disabled: booking,
            }),
          )
        : null,
      mine.length > 0 ? h('p', { class: 'muted small' }, t('seat.bookingHint')) : null,
      hint,
    );
  }

  async function change(seatIds: string[], hold: boolean): Promise<void> {
    const sentAt = live.states.version;
    for (const id of seatIds) busy.add(id);
    redraw(seatIds);
    let changed: string[] = [];
    try {
      if (hold) {
        const { holdSeats } = await request(HoldSeatsDocument, { showtimeId, seatIds });
        setExpiry(Date.parse(holdSeats.expiresAt));
        changed = live.states.patch(sentAt, holdSeats.seats);
      } else {
        const { releaseSeats } = await request(ReleaseSeatsDocument, { showtimeId, seatIds });
        changed = live.states.patch(sentAt, releaseSeats.seats);
      }
    } catch (error) {
      if (error instanceof ApiError && error.extensions.reason === 'SHOWTIME_CANCELLED') {
        markCancelled();
        return;
      }
      showError(error, label);
      if (error instanceof ApiError && STALE_AFTER.has(error.code)) void live.refresh();
    } finally {
      for (const id of seatIds) busy.delete(id);
      redraw([...seatIds, ...changed]);
    }
  }

  function onSeat(seatId: string): void {
    if (cancelled) {
      showInfo(t('showtime.cancelled'));
      return;
    }
    if (!userId) {
      showInfo(t('seat.signInToHold'));
      return;
    }
    const state = live.states.get(seatId);
    if (!state || busy.has(seatId)) return;
    const look: SeatLook = lookOf(state);
    if (look === 'AVAILABLE') void change([seatId], true);
    else if (look === 'MINE') void change([seatId], false);
  }

  /**
   * Learnt on load, from a refused hold or from the live states' end: no more live states,
   * holds or bookings here.
   */
  function markCancelled(): void {
    if (!cancelled) {
      cancelled = true;
      root.dataset.status = 'CANCELLED';
      live.dispose();
      liveBadge.hidden = true;
      setExpiry(null);
    }
    // The live states' refusal can come before the page is drawn: then the notice goes in
    // when it is (`render` calls this again).
    const head = root.querySelector('.showtime-head');
    if (head && !cancelledNotice.isConnected) head.after(cancelledNotice);
    drawPanel();
  }

  async function releaseAll(mine: PlacedSeat[]): Promise<void> {
    await change(
      mine.map((s) => s.seatId),
      false,
    );
  }

  async function book(mine: PlacedSeat[]): Promise<void> {
    booking = true;
    drawPanel();
    try {
      const { createBooking } = await request(
        CreateBookingDocument,
        { showtimeId, seatIds: mine.map((s) => s.seatId) },
        { 'Idempotency-Key': randomKey() },
      );
      setExpiry(null);
      navigate(`bookings/${encodeURIComponent(createBooking.id)}`);
    } catch (error) {
      showError(error, label);
      booking = false;
      drawPanel();
    }
  }

  function draw(showtime: Showtime): void {
    const columnOf = new Map(showtime.hall.seats.map((s) => [s.id, s.column]));
    seats = new Map(
      showtime.seatMap.seats.map((s) => [
        s.seatId,
        {
          seatId: s.seatId,
          row: s.row,
          number: s.number,
          type: s.type,
          column: columnOf.get(s.seatId) ?? s.number,
        },
      ]),
    );
    prices = new Map(showtime.prices.map((p) => [p.seatType, p.amount]));
    hall = renderHall(showtime.hall.columns, [...seats.values()], onSeat);
    const types = [...new Set([...seats.values()].map((s) => s.type))];
    replaceChildren(
      root,
      h(
        'header',
        { class: 'showtime-head' },
        h(
          'a',
          {
            href: href(
              `?city=${encodeURIComponent(showtime.hall.cinema.city)}&movie=${encodeURIComponent(showtime.movie.id)}`,
            ),
            'data-nav': true,
            class: 'back',
          },
          `← ${t('nav.showtimes')}`,
        ),
        h(
          'h1',
          {},
          showtime.movie.title,
          ' ',
          h('span', { class: 'rating' }, showtime.movie.ageRating),
        ),
        h(
          'p',
          { class: 'muted' },
          `${showtime.hall.cinema.name} · ${showtime.hall.name} · ${day(showtime.startsAt)}, ${time(showtime.startsAt)} · ${showtime.format} · ${showtime.language}`,
        ),
        liveBadge,
      ),
      h(
        'div',
        { class: 'showtime-body' },
        h('div', { class: 'map' }, hall.element, legend(types, prices)),
        panel,
      ),
    );
    if (showtime.status === 'CANCELLED' || cancelled) {
      // The states as they were, without a subscription: nothing changes any more.
      live.states.reset(showtime.seatMap.version, showtime.seatMap.seats);
      redraw(showtime.seatMap.seats.map((s) => s.seatId));
      markCancelled();
    } else {
      live.start(showtime.seatMap.version, showtime.seatMap.seats);
    }
  }

  void (async () => {
    try {
      const { showtime } = await request(ShowtimeSeatMapDocument, { showtimeId });
      if (!showtime) replaceChildren(root, h('p', {}, t('error.NOT_FOUND')));
      else draw(showtime);
    } catch (error) {
      showError(error);
      replaceChildren(root, h('p', {}, t('common.retry')));
    }
  })();

  return {
    element: root,
    dispose: () => {
      clearInterval(ticker);
      stopLiveState();
      live.dispose();
    },
  };
}

const STATE_LEGEND: SeatLook[] = ['MINE', 'HELD', 'BOOKED', 'BLOCKED'];

/** Which colour is which: the seat types here with their prices, then the states. */
function legend(types: readonly SeatType[], prices: ReadonlyMap<string, number>): HTMLElement {
  const order: SeatType[] = ['STANDARD', 'VIP', 'PREMIUM', 'COUPLE', 'ACCESSIBLE'];
  return h(
    'div',
    { class: 'legend' },
    ...order
      .filter((type) => types.includes(type))
      .map((type) =>
        h(
          'span',
          { class: 'legend-item' },
          h('span', { class: `swatch type-${type.toLowerCase()}` }),
          `${t(`seat.type.${type}` as MessageKey)} · ${money(prices.get(type) ?? 0)}`,
        ),
      ),
    ...STATE_LEGEND.map((look) =>
      h(
        'span',
        { class: 'legend-item' },
        h('span', { class: `swatch look-${look.toLowerCase()}` }),
        t(`seat.state.${look}` as MessageKey),
      ),
    ),
  );
}
