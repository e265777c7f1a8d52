import { locale } from './i18n';

/**
 * Money and times as a Vietnamese cinema shows them, in the page's language. Times are the
 * cinemas' own (Asia/Ho_Chi_Minh), whatever the visitor's time zone.
 */

const CINEMA_TIME_ZONE = 'Asia/Ho_Chi_Minh';

/** Integer VND: "185.000 ₫" / "₫185,000". */
export const money = (amountVnd: number): string =>
  new Intl.NumberFormat(locale(), {
    style: 'currency',
    currency: 'VND',
    maximumFractionDigits: 0,
  }).format(amountVnd);

/** "19:30". */
export const time = (iso: string): string =>
  new Intl.DateTimeFormat(locale(), {
    hour: '2-digit',
    minute: '2-digit',
    hour12: false,
    timeZone: CINEMA_TIME_ZONE,
  }).format(new Date(iso));

/** "Thứ Bảy, 6 tháng 12" / "Saturday 6 December". */
export const day = (iso: string): string =>
  new Intl.DateTimeFormat(locale(), {
    weekday: 'long',
    day: 'numeric',
    month: 'long',
    timeZone: CINEMA_TIME_ZONE,
  }).format(new Date(iso));

/** The cinema's calendar date, "2025-12-06": groups showtimes by day. */
export const dayKey = (iso: string): string =>
  new Intl.DateTimeFormat('en-CA', { timeZone: CINEMA_TIME_ZONE }).format(new Date(iso));

/** A countdown, "9:05". */
export function countdown(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, '0')}`;
}
