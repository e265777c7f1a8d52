import { SeatType } from '../ticket/ticket.entity';
import {
  bookingLink,
  escapeHtml,
  formatShowtime,
  formatVnd,
  qrCid,
  renderMail,
  type MailData,
} from './mail-templates';

const data = (overrides: Partial<MailData> = {}): MailData => ({
  kind: 'booking-confirmed',
  locale: 'vi',
  recipientName: 'An',
  booking: {
    id: '2b0f8c1e-4f5b-4c7e-9d55-0f3c4b2a1e90',
    bookingCode: 'MHABC123',
    // 19:30 in Ho Chi Minh City (UTC+7).
    startsAt: new Date('2030-03-09T12:30:00.000Z'),
    subtotal: 1_250_000,
    discount: 50_000,
    pointsDiscount: 0,
    finalAmount: 1_200_000,
  },
  tickets: [
    {
      id: '0c9d3f0a-8a36-4a35-9a8e-1d6b5d0f7a11',
      ticketCode: 'MHABC123-001',
      seatRow: 'B',
      seatNumber: 7,
      ticketType: SeatType.VIP,
      price: 150_000,
      qrPayload: 'MHABC123-001.signature',
    },
  ],
  refund: null,
  frontendUrl: 'https://moviehub.test/',
  ...overrides,
});

describe('mail templates', () => {
  it('formats VND with the language’s thousands separators', () => {
    expect(formatVnd(1_234_567, 'vi')).toBe('1.234.567 ₫');
    expect(formatVnd(1_234_567, 'en')).toBe('1,234,567 VND');
    expect(formatVnd(0, 'en')).toBe('0 VND');
  });

  it('shows a showtime in Vietnam time whatever the server’s zone', () => {
    const at = new Date('2030-03-09T17:05:00.000Z'); // 00:05 the next day in Vietnam
    expect(formatShowtime(at, 'en')).toBe('Sunday 10/03/2030, 00:05');
    expect(formatShowtime(at, 'vi')).toBe('00:05, Chủ Nhật 10/03/2030');
  });

  it('links to the booking page and escapes what it puts in HTML', () => {
    expect(bookingLink('https://moviehub.test///', 'b-1')).toBe(
      'https://moviehub.test/bookings/b-1',
    );
    expect(escapeHtml(`<a href="x" onclick='y'>&</a>`)).toBe(
      '&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
    );
  });

  it('renders a confirmation with amounts, seats, the link and an inline QR code per ticket', async () => {
    const mail = await renderMail(data());
    expect(mail.subject).toBe('Xác nhận đặt vé MHABC123 – MovieHub');
    for (const body of [mail.text, mail.html]) {
      expect(body).toContain('MHABC123-001');
      expect(body).toContain('19:30, Thứ Bảy 09/03/2030');
      expect(body).toContain('1.250.000 ₫');
      expect(body).toContain('1.200.000 ₫');
      expect(body).toContain('50.000 ₫');
      expect(body).toContain('B7');
      expect(body).toContain('https://moviehub.test/bookings/2b0f8c1e-4f5b-4c7e-9d55-0f3c4b2a1e90');
    }
    expect(mail.attachments).toHaveLength(1);
    const [qr] = mail.attachments;
    expect(qr).toMatchObject({ cid: qrCid(data().tickets[0].id), contentType: 'image/png' });
    expect(qr.content.subarray(1, 4).toString()).toBe('PNG');
    expect(mail.html).toContain(`<img src="cid:${qr.cid}"`);
  });

  it('escapes every value it did not write itself', async () => {
    const mail = await renderMail(
      data({
        recipientName: '<script>alert(1)</script>\r\nBcc: x@evil.test',
        frontendUrl: 'https://moviehub.test/"><img src=x>',
      }),
    );
    expect(mail.html).not.toContain('<script>');
    expect(mail.html).not.toContain('"><img src=x>');
    expect(mail.html).toContain('&lt;script&gt;');
    expect(mail.text).not.toContain('\r\nBcc');
  });

  it('writes English on request, with the refund of a cancellation', async () => {
    const mail = await renderMail(
      data({ kind: 'booking-cancelled', locale: 'en', refund: { amount: 1_080_000, percent: 90 } }),
    );
    expect(mail.subject).toBe('Booking cancelled: MHABC123 – MovieHub');
    expect(mail.text).toContain('Saturday 09/03/2030, 19:30 (Vietnam time)');
    expect(mail.text).toContain('1,080,000 VND (90% of the amount paid)');
    expect(mail.attachments).toHaveLength(0);
    expect(mail.html).not.toContain('cid:');
  });

  it('tells a late payment and a second payment refunded in full', async () => {
    const late = await renderMail(data({ kind: 'late-payment-refunded', locale: 'en' }));
    expect(late.subject).toBe('Your late payment for MHABC123 is refunded – MovieHub');
    expect(late.text).toMatch(/after the booking had expired.*taken by someone/s);
    expect(late.text).toContain('full 1,200,000 VND');
    const lateVi = await renderMail(data({ kind: 'late-payment-refunded' }));
    expect(lateVi.text).toContain('hoàn lại toàn bộ 1.200.000 ₫');

    const second = await renderMail(
      data({
        kind: 'duplicate-payment-refunded',
        locale: 'en',
        refund: { amount: 1_200_000, percent: 100 },
      }),
    );
    expect(second.subject).toBe('Your second payment for MHABC123 is refunded – MovieHub');
    expect(second.text).toContain('already been paid');

    const refunded = await renderMail(
      data({ kind: 'refund-completed', refund: { amount: 600_000, percent: 50 } }),
    );
    expect(refunded.subject).toBe('Đã hoàn tiền cho đặt vé MHABC123 – MovieHub');
    expect(refunded.text).toContain('600.000 ₫ (50% số tiền đã thanh toán)');
  });
});
