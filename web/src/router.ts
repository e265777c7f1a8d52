/**
 * The page's addresses, under `/app/` (the gateway answers every one of them with the page):
 * - `/app/` (`?city=…&movie=…`): pick a city, a film, a showtime;
 * - `/app/showtimes/:id`: the live seat map;
 * - `/app/bookings/:id`: a booking and its tickets (the confirmation email links here);
 * - `/app/payment/result?bookingId=…&result=…`: where VNPay's return lands (FRONTEND_URL).
 */

export type Route =
  | { readonly name: 'picker'; readonly city: string | null; readonly movieId: string | null }
  | { readonly name: 'showtime'; readonly showtimeId: string }
  | { readonly name: 'booking'; readonly bookingId: string; readonly result: string | null }
  | { readonly name: 'notFound' };

const BASE = import.meta.env.BASE_URL;

/** The URL of a page address: `href('showtimes/1')` is `/app/showtimes/1`. */
export const href = (path: string): string => BASE + path.replace(/^\/+/, '');

export function currentRoute(): Route {
  // `/app` is the page's root too (the gateway serves it without the trailing slash).
  const path = `${location.pathname}/`.startsWith(BASE)
    ? location.pathname.slice(BASE.length)
    : location.pathname.replace(/^\/+/, '');
  const query = new URLSearchParams(location.search);
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0) {
    return { name: 'picker', city: query.get('city'), movieId: query.get('movie') };
  }
  if (parts.length === 2 && parts[0] === 'showtimes')
    return { name: 'showtime', showtimeId: parts[1] };
  if (parts.length === 2 && parts[0] === 'bookings') {
    return { name: 'booking', bookingId: parts[1], result: null };
  }
  if (parts.join('/') === 'payment/result') {
    const bookingId = query.get('bookingId');
    if (bookingId) return { name: 'booking', bookingId, result: query.get('result') ?? 'unknown' };
  }
  return { name: 'notFound' };
}

const listeners = new Set<() => void>();

/** Goes to a page address without reloading the page. */
export function navigate(path: string, { replace = false } = {}): void {
  const url = href(path);
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  for (const listener of listeners) listener();
}

/** Called on every change of address (links, back and forward). */
export function onNavigate(listener: () => void): void {
  listeners.add(listener);
}

/** Plain left clicks on the page's own links stay in the page. */
export function startRouter(): void {
  window.addEventListener('popstate', () => {
    for (const listener of listeners) listener();
  });
  document.addEventListener('click', (event) => {
    const link = (event.target as Element | null)?.closest?.('a[data-nav]');
    if (!(link instanceof HTMLAnchorElement)) return;
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
      return;
    }
    event.preventDefault();
    const url = new URL(link.href);
    navigate(url.pathname.slice(BASE.length) + url.search);
  });
}
