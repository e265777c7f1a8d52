import { toBuffer } from 'qrcode';
import type { UserLocale } from '../../../../runtime/contracts/user-contacts';
import { SeatType } from '../ticket/ticket.entity';
import type { MailKind } from './mail-outbox';

/** A ticket as the confirmation shows it. */
export interface MailTicket {
  id: string;
  ticketCode: string;
  seatRow: string;
  seatNumber: number;
  ticketType: SeatType;
  price: number;
  /** The signed QR payload (`TicketService.payloadOf`); null when not issued (no QR code). */
  qrPayload: string | null;
}

/** What an email says, gathered by the worker from the bookings database and users. */
export interface MailData {
  kind: MailKind;
  locale: UserLocale;
  recipientName: string | null;
  booking: {
    id: string;
    bookingCode: string;
    /** Null on bookings made before the engine kept showtime facts. */
    startsAt: Date | null;
    subtotal: number;
    discount: number;
    pointsDiscount: number;
    finalAmount: number;
  };
  /** In seat order. */
  tickets: readonly MailTicket[];
  refund: { amount: number; percent: number } | null;
  /** The web front end; the booking's page is `${frontendUrl}/bookings/${bookingId}`. */
  frontendUrl: string;
}

/** An inline image of the message, shown where the HTML says `<img src="cid:{cid}">`. */
export interface MailAttachment {
  filename: string;
  content: Buffer;
  contentType: 'image/png';
  cid: string;
  contentDisposition: 'inline';
}

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
  attachments: MailAttachment[];
}

/** The time zone every showtime is shown in: the cinemas are in Vietnam. */
const TIME_ZONE = 'Asia/Ho_Chi_Minh';

/** Each language's words; what varies by data is passed in, never concatenated from input. */
interface Words {
  intl: string;
  hello: (name: string | null) => string;
  subject: Record<MailKind, (code: string) => string>;
  confirmedLead: string;
  cancelledLead: string;
  /** The cinema cancelled the showtime, so the booking was cancelled. */
  showtimeCancelledLead: string;
  /** A booking of a cancelled showtime that was never paid. */
  nothingCharged: string;
  refundCompletedLead: (amount: string, percent: number) => string;
  latePaymentLead: (amount: string) => string;
  duplicatePaymentLead: (amount: string) => string;
  refundWillFollow: (amount: string, percent: number) => string;
  nothingToRefund: string;
  refundDelay: string;
  bookingCode: string;
  showtime: string;
  localTime: string;
  unknownTime: string;
  seats: string;
  subtotal: string;
  discount: string;
  pointsDiscount: string;
  total: string;
  tickets: string;
  ticketCode: string;
  showAtDoor: string;
  viewBooking: string;
  seatTypes: Record<SeatType, string>;
  signature: string;
}

const WORDS: Record<UserLocale, Words> = {
  vi: {
    intl: 'vi-VN',
    hello: (name) => (name ? `Xin chào ${name},` : 'Xin chào,'),
    subject: {
      'booking-confirmed': (code) => `Xác nhận đặt vé ${code} – MovieHub`,
      'booking-cancelled': (code) => `Đã hủy đặt vé ${code} – MovieHub`,
      'refund-completed': (code) => `Đã hoàn tiền cho đặt vé ${code} – MovieHub`,
      'late-payment-refunded': (code) => `Hoàn tiền thanh toán trễ cho đặt vé ${code} – MovieHub`,
      'duplicate-payment-refunded': (code) =>
        `Hoàn tiền thanh toán trùng cho đặt vé ${code} – MovieHub`,
      'showtime-cancelled': (code) => `Suất chiếu đã bị hủy: đặt vé ${code} – MovieHub`,
    },
    confirmedLead: 'Đặt vé của bạn đã được xác nhận. Hẹn gặp bạn ở rạp!',
    cancelledLead: 'Đặt vé của bạn đã được hủy.',
    showtimeCancelledLead:
      'Rạp đã hủy suất chiếu này, nên đặt vé của bạn đã được hủy. Chúng tôi rất tiếc vì sự bất tiện này.',
    nothingCharged: 'Bạn chưa thanh toán cho đặt vé này, nên không có khoản nào bị trừ.',
    refundCompletedLead: (amount, percent) =>
      `Chúng tôi đã hoàn ${amount} (${percent}% số tiền đã thanh toán) cho đặt vé đã hủy của bạn.`,
    latePaymentLead: (amount) =>
      'Khoản thanh toán của bạn đến sau khi đặt vé đã hết hạn, và các ghế đã được người khác đặt ' +
      `trong lúc đó. Chúng tôi hoàn lại toàn bộ ${amount} cho bạn.`,
    duplicatePaymentLead: (amount) =>
      'Đặt vé này đã được thanh toán trước đó, nên khoản thanh toán thêm của bạn không được dùng ' +
      `đến. Chúng tôi hoàn lại toàn bộ ${amount} cho bạn; đặt vé và vé của bạn vẫn giữ nguyên.`,
    refundWillFollow: (amount, percent) =>
      `Bạn sẽ được hoàn ${amount} (${percent}% số tiền đã thanh toán). ` +
      'Chúng tôi sẽ gửi email khi hoàn tiền xong.',
    nothingToRefund: 'Không có khoản tiền nào cần hoàn.',
    refundDelay: 'Tiền có thể mất vài ngày làm việc để về tài khoản, tùy ngân hàng của bạn.',
    bookingCode: 'Mã đặt vé',
    showtime: 'Suất chiếu',
    localTime: 'giờ Việt Nam',
    unknownTime: 'xem trong ứng dụng',
    seats: 'Ghế',
    subtotal: 'Tạm tính',
    discount: 'Giảm giá',
    pointsDiscount: 'Dùng điểm',
    total: 'Tổng thanh toán',
    tickets: 'Vé của bạn',
    ticketCode: 'Mã vé',
    showAtDoor: 'Xuất trình mã QR của từng vé tại cửa phòng chiếu.',
    viewBooking: 'Xem đặt vé',
    seatTypes: {
      [SeatType.STANDARD]: 'Thường',
      [SeatType.VIP]: 'VIP',
      [SeatType.COUPLE]: 'Ghế đôi',
      [SeatType.PREMIUM]: 'Cao cấp',
      [SeatType.ACCESSIBLE]: 'Dành cho người khuyết tật',
    },
    signature: 'MovieHub',
  },
  en: {
    intl: 'en-GB',
    hello: (name) => (name ? `Hello ${name},` : 'Hello,'),
    subject: {
      'booking-confirmed': (code) => `Booking confirmed: ${code} – MovieHub`,
      'booking-cancelled': (code) => `Booking cancelled: ${code} – MovieHub`,
      'refund-completed': (code) => `Refund completed: ${code} – MovieHub`,
      'late-payment-refunded': (code) => `Your late payment for ${code} is refunded – MovieHub`,
      'duplicate-payment-refunded': (code) =>
        `Your second payment for ${code} is refunded – MovieHub`,
      'showtime-cancelled': (code) => `Showtime cancelled: booking ${code} – MovieHub`,
    },
    confirmedLead: 'Your booking is confirmed. See you at the cinema!',
    cancelledLead: 'Your booking has been cancelled.',
    showtimeCancelledLead:
      'The cinema has cancelled this showtime, so your booking has been cancelled. We are sorry for the trouble.',
    nothingCharged: 'This booking was not paid, so nothing was charged.',
    refundCompletedLead: (amount, percent) =>
      `We have refunded ${amount} (${percent}% of the amount paid) for your cancelled booking.`,
    latePaymentLead: (amount) =>
      'Your payment arrived after the booking had expired, and its seats were taken by someone ' +
      `else in the meantime. We are refunding the full ${amount} to you.`,
    duplicatePaymentLead: (amount) =>
      'This booking had already been paid, so your second payment was not needed. We are ' +
      `refunding the full ${amount} to you; your booking and tickets stay as they are.`,
    refundWillFollow: (amount, percent) =>
      `You will be refunded ${amount} (${percent}% of the amount paid). ` +
      'We will email you when the refund is done.',
    nothingToRefund: 'There is nothing to refund.',
    refundDelay: 'It may take a few working days to reach your account, depending on your bank.',
    bookingCode: 'Booking code',
    showtime: 'Showtime',
    localTime: 'Vietnam time',
    unknownTime: 'see the app',
    seats: 'Seats',
    subtotal: 'Subtotal',
    discount: 'Discount',
    pointsDiscount: 'Points',
    total: 'Total paid',
    tickets: 'Your tickets',
    ticketCode: 'Ticket code',
    showAtDoor: "Show each ticket's QR code at the door of the hall.",
    viewBooking: 'View your booking',
    seatTypes: {
      [SeatType.STANDARD]: 'Standard',
      [SeatType.VIP]: 'VIP',
      [SeatType.COUPLE]: 'Couple',
      [SeatType.PREMIUM]: 'Premium',
      [SeatType.ACCESSIBLE]: 'Accessible',
    },
    signature: 'MovieHub',
  },
};

/** Escapes text for HTML element content and double- or single-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** An amount of integer VND with the language's thousands separators: `150.000 ₫`, `150,000 VND`. */
export function formatVnd(amount: number, locale: UserLocale): string {
  const digits = new Intl.NumberFormat(WORDS[locale].intl, { maximumFractionDigits: 0 }).format(
    amount,
  );
  return locale === 'vi' ? `${digits} ₫` : `${digits} VND`;
}

/**
 * A showtime start in Vietnam time whatever the server's zone, in the language's order:
 * `19:30, Thứ Bảy 05/12/2026` or `Saturday 05/12/2026, 19:30`.
 */
export function formatShowtime(at: Date, locale: UserLocale): string {
  const parts = new Intl.DateTimeFormat(WORDS[locale].intl, {
    timeZone: TIME_ZONE,
    weekday: 'long',
    day: '2-digit',
    month: '2-digit',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(at);
  const part = (type: Intl.DateTimeFormatPartTypes) =>
    parts.find((p) => p.type === type)?.value ?? '';
  const weekday = part('weekday');
  const date = `${part('day')}/${part('month')}/${part('year')}`;
  const time = `${part('hour')}:${part('minute')}`;
  return locale === 'vi' ? `${time}, ${weekday} ${date}` : `${weekday} ${date}, ${time}`;
}

/** The booking's page on the web front end. */
export function bookingLink(frontendUrl: string, bookingId: string): string {
  return `${frontendUrl.replace(/\/+$/, '')}/bookings/${encodeURIComponent(bookingId)}`;
}

/** The Content-ID of a ticket's QR code image. */
export const qrCid = (ticketId: string): string => `qr-${ticketId}@moviehub`;

/**
 * One email, in the recipient's language: subject, plain text and HTML (every interpolated
 * value escaped), and for a confirmation each issued ticket's QR code as an inline PNG.
 */
export async function renderMail(data: MailData): Promise<RenderedMail> {
  const w = WORDS[data.locale] ?? WORDS.vi;
  const locale: UserLocale = WORDS[data.locale] ? data.locale : 'vi';
  const money = (amount: number) => formatVnd(amount, locale);
  const { booking } = data;
  const subject = w.subject[data.kind](booking.bookingCode);
  const link = bookingLink(data.frontendUrl, booking.id);
  const showtime = booking.startsAt
    ? `${formatShowtime(booking.startsAt, locale)} (${w.localTime})`
    : w.unknownTime;
  const seatList = data.tickets
    .map((t) => `${t.seatRow}${t.seatNumber} (${w.seatTypes[t.ticketType] ?? t.ticketType})`)
    .join(', ');

  // Paragraphs and facts, as plain strings: the text part joins them, the HTML part escapes them.
  const lead: string[] = [];
  const facts: [string, string][] = [
    [w.bookingCode, booking.bookingCode],
    [w.showtime, showtime],
  ];
  if (data.tickets.length > 0) facts.push([w.seats, seatList]);
  switch (data.kind) {
    case 'booking-confirmed':
      lead.push(w.confirmedLead);
      facts.push([w.subtotal, money(booking.subtotal)]);
      if (booking.discount > 0) facts.push([w.discount, `−${money(booking.discount)}`]);
      if (booking.pointsDiscount > 0) {
        facts.push([w.pointsDiscount, `−${money(booking.pointsDiscount)}`]);
      }
      facts.push([w.total, money(booking.finalAmount)]);
      break;
    case 'booking-cancelled':
      lead.push(w.cancelledLead);
      if (data.refund && data.refund.amount > 0) {
        lead.push(w.refundWillFollow(money(data.refund.amount), data.refund.percent));
      } else if (data.refund) {
        lead.push(w.nothingToRefund);
      }
      break;
    case 'showtime-cancelled':
      lead.push(w.showtimeCancelledLead);
      if (data.refund && data.refund.amount > 0) {
        lead.push(w.refundWillFollow(money(data.refund.amount), data.refund.percent));
      } else if (!data.refund) {
        lead.push(w.nothingCharged);
      } else {
        lead.push(w.nothingToRefund);
      }
      break;
    case 'refund-completed': {
      const refund = data.refund ?? { amount: 0, percent: 0 };
      lead.push(w.refundCompletedLead(money(refund.amount), refund.percent), w.refundDelay);
      break;
    }
    case 'late-payment-refunded':
      lead.push(
        w.latePaymentLead(money(data.refund?.amount ?? booking.finalAmount)),
        w.refundDelay,
      );
      break;
    case 'duplicate-payment-refunded':
      lead.push(
        w.duplicatePaymentLead(money(data.refund?.amount ?? booking.finalAmount)),
        w.refundDelay,
      );
      break;
  }

  const issued = data.kind === 'booking-confirmed' ? data.tickets : [];
  const attachments: MailAttachment[] = [];
  for (const ticket of issued) {
    if (ticket.qrPayload === null) continue;
    attachments.push({
      filename: `${ticket.ticketCode}.png`,
      // The same error correction as the app's QR codes (domain/ticket-qr.ts): a door
      // scanner reads it off a cracked phone screen or a creased printout.
      content: await toBuffer(ticket.qrPayload, {
        type: 'png',
        errorCorrectionLevel: 'M',
        margin: 2,
        scale: 6,
      }),
      contentType: 'image/png',
      cid: qrCid(ticket.id),
      contentDisposition: 'inline',
    });
  }

  const hello = w.hello(oneLine(data.recipientName));
  const text = [
    hello,
    '',
    ...lead.flatMap((p) => [p, '']),
    ...facts.map(([label, value]) => `${label}: ${value}`),
    '',
    ...(issued.length > 0
      ? [
          `${w.tickets}:`,
          ...issued.map(
            (t) =>
              `- ${w.ticketCode} ${t.ticketCode}: ${t.seatRow}${t.seatNumber} (${w.seatTypes[t.ticketType] ?? t.ticketType})`,
          ),
          w.showAtDoor,
          '',
        ]
      : []),
    `${w.viewBooking}: ${link}`,
    '',
    w.signature,
    '',
  ].join('\n');

  const e = escapeHtml;
  const ticketBlocks = issued
    .map((t) => {
      const seat = `${t.seatRow}${t.seatNumber} · ${w.seatTypes[t.ticketType] ?? t.ticketType}`;
      const image =
        t.qrPayload === null
          ? ''
          : `<img src="cid:${e(qrCid(t.id))}" alt="${e(t.ticketCode)}" width="180" height="180" style="display:block;margin:8px auto">`;
      return `<div style="border:1px solid #ddd;border-radius:8px;padding:12px;margin:12px 0;text-align:center">
${image}<div style="font-family:monospace;font-size:16px">${e(w.ticketCode)}: <strong>${e(t.ticketCode)}</strong></div>
<div>${e(seat)}</div></div>`;
    })
    .join('\n');
  const html = `<!doctype html>
<html lang="${locale}"><head><meta charset="utf-8"><title>${e(subject)}</title></head>
<body style="font-family:Arial,Helvetica,sans-serif;color:#222;max-width:600px;margin:0 auto;padding:16px">
<p>${e(hello)}</p>
${lead.map((p) => `<p>${e(p)}</p>`).join('\n')}
<table style="border-collapse:collapse;margin:12px 0">
${facts
  .map(
    ([label, value]) =>
      `<tr><td style="padding:4px 12px 4px 0;color:#666">${e(label)}</td><td style="padding:4px 0"><strong>${e(value)}</strong></td></tr>`,
  )
  .join('\n')}
</table>
${issued.length > 0 ? `<h3>${e(w.tickets)}</h3>\n${ticketBlocks}\n<p>${e(w.showAtDoor)}</p>` : ''}
<p><a href="${e(link)}">${e(w.viewBooking)}</a></p>
<p style="color:#666">${e(w.signature)}</p>
</body></html>
`;
  return { subject, text, html, attachments };
}

/**
 * A name from another service on one line (it goes into a header and a greeting): no control
 * characters, at most 100 characters; null when nothing is left.
 */
export function oneLine(name: string | null): string | null {
  // eslint-disable-next-line no-control-regex
  const clean = (name ?? '').replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return clean.length === 0 ? null : clean.slice(0, 100);
}
