import {
  BookingTicketsDocument,
  CancelBookingDocument,
  StartPaymentDocument,
  type BookingTicketsQuery,
} from '../__generated__/graphql';
import { request } from '../api';
import { button, h, replaceChildren } from '../dom';
import { countdown, day, money, time } from '../format';
import { t, type MessageKey } from '../i18n';
import { showError } from '../notices';
import { href } from '../router';
import { sessionUserId } from '../session';
import type { View } from '../view';

type Booking = NonNullable<BookingTicketsQuery['booking']>;

/** What VNPay's return said (the gateway's `result`), as the page words it. */
const RESULTS: Record<string, { key: MessageKey; tone: string }> = {
  success: { key: 'result.success', tone: 'good' },
  failed: { key: 'result.failed', tone: 'bad' },
  invalid: { key: 'result.invalid', tone: 'warn' },
  unknown: { key: 'result.unknown', tone: 'info' },
};

/** While a payment is being settled, the booking is read again this often, this many times. */
const SETTLE_POLL_MS = 2000;
const SETTLE_POLLS = 15;

/**
 * One booking of the signed-in customer: PENDING ones can be paid (on VNPay's page, which
 * comes back to `/app/payment/result`) or cancelled; paid ones show their tickets, each with
 * its QR code (the signed code the door scans) and barcode. `result` is VNPay's answer when
 * the visitor just came back from paying: the booking itself is the truth (only VNPay's IPN
 * settles a payment), so while it is still PENDING after a successful or unknown result the
 * page reads it again for a while.
 */
export function bookingPage(bookingId: string, result: string | null): View {
  const root = h(
    'section',
    { class: 'booking-page' },
    h('p', { class: 'loading' }, t('common.loading')),
  );
  const banner = result ? (RESULTS[result] ?? RESULTS.unknown) : undefined;
  let disposed = false;
  let polls = 0;
  let pollTimer: ReturnType<typeof setTimeout> | undefined;
  let clockTimer: ReturnType<typeof setInterval> | undefined;

  async function load(): Promise<void> {
    if (!sessionUserId()) {
      replaceChildren(root, resultBanner(), h('p', {}, t('booking.signIn')));
      return;
    }
    try {
      const { booking } = await request(BookingTicketsDocument, { id: bookingId });
      if (disposed) return;
      if (!booking) {
        replaceChildren(root, resultBanner(), h('p', {}, t('error.NOT_FOUND')));
        return;
      }
      draw(booking);
      const settling =
        booking.status === 'PENDING' && (result === 'success' || result === 'unknown');
      if (settling && polls < SETTLE_POLLS) {
        polls += 1;
        pollTimer = setTimeout(() => void load(), SETTLE_POLL_MS);
      }
    } catch (error) {
      showError(error);
    }
  }

  function resultBanner(): HTMLElement | null {
    return banner
      ? h(
          'p',
          { class: `banner banner-${banner.tone}`, 'data-testid': 'payment-result' },
          t(banner.key),
        )
      : null;
  }

  function draw(booking: Booking): void {
    clearInterval(clockTimer);
    const { showtime } = booking;
    const pending = booking.status === 'PENDING';
    const clock = h('p', { class: 'countdown' });
    if (pending && booking.expiresAt) {
      const until = Date.parse(booking.expiresAt);
      const tick = () => {
        clock.textContent = t('booking.payWithin', { time: countdown(until - Date.now()) });
      };
      tick();
      clockTimer = setInterval(tick, 1000);
    }
    replaceChildren(
      root,
      resultBanner(),
      h(
        'header',
        { class: 'booking-head' },
        h(
          'h1',
          {},
          t('booking.title', { code: booking.bookingCode }),
          ' ',
          h(
            'span',
            {
              class: `status status-${booking.status.toLowerCase()}`,
              'data-testid': 'booking-status',
              'data-status': booking.status,
            },
            t(`booking.status.${booking.status}` as MessageKey),
          ),
        ),
        h('p', { class: 'film' }, showtime.movie.title),
        h(
          'p',
          { class: 'muted' },
          `${showtime.hall.cinema.name} · ${showtime.hall.name} · ${day(showtime.startsAt)}, ${time(showtime.startsAt)} · ${showtime.format}`,
        ),
      ),
      h(
        'div',
        { class: 'booking-amount' },
        h('span', {}, t('booking.amount')),
        h('strong', {}, money(booking.finalAmount)),
      ),
      pending ? clock : null,
      pending
        ? h(
            'div',
            { class: 'actions' },
            button(t('booking.cancel'), () => void cancel(), { class: 'secondary' }),
            button(t('booking.pay'), () => void pay(), { class: 'primary', 'data-testid': 'pay' }),
          )
        : null,
      h('h2', {}, t('booking.tickets')),
      booking.tickets.some((ticket) => ticket.qrCode)
        ? h('p', { class: 'muted' }, t('booking.showAtDoor'))
        : h('p', { class: 'muted' }, t('booking.ticketsSoon')),
      h('ul', { class: 'tickets' }, ...booking.tickets.map(ticketCard)),
      h(
        'p',
        {},
        h(
          'a',
          { href: href(`showtimes/${encodeURIComponent(showtime.id)}`), 'data-nav': true },
          `← ${t('booking.backToSeats')}`,
        ),
      ),
    );
  }

  async function pay(): Promise<void> {
    try {
      const { startPayment } = await request(StartPaymentDocument, { bookingId });
      if (startPayment.paymentUrl) location.assign(startPayment.paymentUrl);
      else await load();
    } catch (error) {
      showError(error);
    }
  }

  async function cancel(): Promise<void> {
    try {
      await request(CancelBookingDocument, { id: bookingId });
      await load();
    } catch (error) {
      showError(error);
    }
  }

  void load();
  return {
    element: root,
    dispose: () => {
      disposed = true;
      clearTimeout(pollTimer);
      clearInterval(clockTimer);
    },
  };
}

function ticketCard(ticket: Booking['tickets'][number]): HTMLElement {
  const seat = `${ticket.seat.row}${ticket.seat.number}`;
  return h(
    'li',
    { class: 'ticket', 'data-ticket': ticket.ticketCode },
    ticket.qrCode
      ? h('img', {
          class: 'qr',
          src: ticket.qrCode,
          alt: `QR ${ticket.ticketCode}`,
          width: 160,
          height: 160,
        })
      : h('div', { class: 'qr qr-missing', 'aria-hidden': 'true' }),
    h(
      'div',
      { class: 'ticket-text' },
      h('strong', { class: 'ticket-seat' }, seat),
      h(
        'span',
        { class: 'muted' },
        `${t(`seat.type.${ticket.seat.type}` as MessageKey)} · ${money(ticket.price)}`,
      ),
      h('code', {}, ticket.ticketCode),
      ticket.barcode ? h('code', { class: 'barcode' }, ticket.barcode) : null,
    ),
  );
}
