import { ApiError } from './api-error';
import { errorKey, t } from './i18n';

/** Codes whose sentence says everything: the server's (English) message would only repeat it. */
const SELF_EXPLAINED = new Set([
  'SEAT_UNAVAILABLE',
  'HOLD_LIMIT_EXCEEDED',
  'RATE_LIMITED',
  'SEATS_NOT_HELD',
  'DUPLICATE_BOOKING',
  'CANCELLATION_WINDOW_CLOSED',
  'NETWORK',
]);

export interface ErrorText {
  readonly text: string;
  /** The server's own words, for codes the sentence does not fully explain. */
  readonly detail?: string;
}

/** An error in the page's language; `seatLabel` turns seat ids into "A5". */
export function errorText(
  error: unknown,
  seatLabel: (seatId: string) => string = (id) => id,
): ErrorText {
  if (!(error instanceof ApiError)) {
    return { text: t('error.other', { code: 'CLIENT' }), detail: String(error) };
  }
  const key = errorKey(error.code);
  const seatIds = Array.isArray(error.extensions.seatIds) ? error.extensions.seatIds : [];
  const retryAfter = error.extensions.retryAfter;
  const text = key
    ? t(key, {
        seats: seatIds.map((id) => seatLabel(String(id))).join(', '),
        seconds: typeof retryAfter === 'number' ? retryAfter : '…',
      })
    : t('error.other', { code: error.code });
  return SELF_EXPLAINED.has(error.code) ? { text } : { text, detail: error.message };
}
