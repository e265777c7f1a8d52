/**
 * The page's words in Vietnamese and English. The language follows the browser (Vietnamese
 * unless it prefers English) until the visitor switches, and is remembered in this browser.
 * Error codes (runtime/errors.ts) become sentences here: the server's own message is English
 * and meant for developers, so it is shown only as a detail.
 */

export type Lang = 'vi' | 'en';

const vi = {
  'app.title': 'Sơ đồ ghế trực tiếp',
  'nav.showtimes': 'Chọn suất chiếu',
  'lang.other': 'English',
  'session.demoUser': 'Người dùng demo',
  'session.guest': 'Khách (chỉ xem)',
  'session.demoCustomer': 'Khách hàng demo {n}',
  'session.signedInAs': 'Xin chào, {name}',
  'session.signIn': 'Đăng nhập',
  'session.signOut': 'Đăng xuất',
  'session.clerkFailed': 'Không tải được trang đăng nhập của Clerk: {detail}',
  'live.connecting': 'Đang kết nối…',
  'live.live': 'Trực tiếp',
  'live.reconnecting': 'Mất kết nối, đang thử lại…',
  'picker.city': 'Thành phố',
  'picker.film': 'Phim',
  'picker.showtime': 'Suất chiếu',
  'picker.pickCity': 'Chọn thành phố để xem phim đang chiếu.',
  'picker.pickFilm': 'Chọn phim để xem lịch chiếu 7 ngày tới.',
  'picker.noFilms': 'Không có phim đang chiếu ở {city}.',
  'picker.noShowtimes': 'Không còn suất chiếu nào trong 7 ngày tới.',
  'picker.seatsLeft': '{n} ghế trống',
  'picker.minutes': '{n} phút',
  'common.loading': 'Đang tải…',
  'common.retry': 'Thử lại',
  'common.dismiss': 'Đóng',
  'common.notFound': 'Không tìm thấy trang này.',
  'seat.screen': 'Màn hình',
  'seat.type.STANDARD': 'Thường',
  'seat.type.VIP': 'VIP',
  'seat.type.COUPLE': 'Ghế đôi',
  'seat.type.PREMIUM': 'Premium',
  'seat.type.ACCESSIBLE': 'Xe lăn',
  'seat.state.AVAILABLE': 'Còn trống',
  'seat.state.MINE': 'Bạn đang giữ',
  'seat.state.HELD': 'Người khác đang giữ',
  'seat.state.BOOKED': 'Đã bán',
  'seat.state.BLOCKED': 'Không sử dụng',
  'seat.label': 'Ghế {seat}, {type}, {state}',
  'seat.yourSeats': 'Ghế của bạn',
  'seat.noneHeld': 'Chọn ghế trống trên sơ đồ để giữ chỗ trong 10 phút.',
  'seat.signInToHold': 'Đăng nhập (hoặc chọn người dùng demo) để giữ ghế.',
  'seat.total': 'Tổng cộng',
  'seat.expiresIn': 'Giữ chỗ còn {time}',
  'seat.expired': 'Hết thời gian giữ chỗ: ghế đã được trả lại.',
  'seat.releaseAll': 'Bỏ chọn tất cả',
  'seat.book': 'Đặt vé',
  'showtime.cancelled':
    'Rạp đã hủy suất chiếu này: không thể giữ hay mua ghế. Các đặt vé đã được hủy và hoàn tiền toàn bộ.',
  'seat.bookingHint': 'Thanh toán trên trang VNPay, rồi nhận vé có mã QR.',
  'seat.twoWindows':
    'Mở trang này ở một cửa sổ khác (chọn người dùng demo khác) để thấy ghế đổi trạng thái trực tiếp.',
  'booking.title': 'Đặt vé {code}',
  'booking.status.PENDING': 'Chờ thanh toán',
  'booking.status.CONFIRMED': 'Đã xác nhận',
  'booking.status.COMPLETED': 'Đã hoàn thành',
  'booking.status.CANCELLED': 'Đã huỷ',
  'booking.status.EXPIRED': 'Đã hết hạn',
  'booking.pay': 'Thanh toán qua VNPay',
  'booking.cancel': 'Huỷ đặt vé',
  'booking.payWithin': 'Giữ vé thêm {time} để thanh toán',
  'booking.amount': 'Số tiền',
  'booking.tickets': 'Vé của bạn',
  'booking.ticketsSoon': 'Mỗi vé có mã QR sau khi thanh toán xong.',
  'booking.showAtDoor': 'Đưa mã QR này cho nhân viên ở cửa rạp.',
  'booking.backToSeats': 'Quay lại sơ đồ ghế',
  'booking.checking': 'Đang kiểm tra thanh toán…',
  'booking.signIn': 'Đăng nhập bằng tài khoản đã đặt vé để xem vé.',
  'result.success': 'Thanh toán thành công: vé của bạn đã được xác nhận.',
  'result.failed': 'Thanh toán không thành công: đặt vé đã bị huỷ.',
  'result.invalid': 'Không xác minh được kết quả thanh toán này.',
  'result.unknown': 'Đang kiểm tra thanh toán: kết quả sẽ hiện ngay khi có.',
  'error.UNAUTHENTICATED': 'Phiên đăng nhập không hợp lệ hoặc đã hết hạn: hãy đăng nhập lại.',
  'error.FORBIDDEN': 'Bạn không có quyền làm việc này.',
  'error.NOT_FOUND': 'Không tìm thấy (đã bị xoá, hoặc không thuộc về bạn).',
  'error.BAD_USER_INPUT': 'Yêu cầu không hợp lệ.',
  'error.SEAT_UNAVAILABLE': 'Ghế {seats} không còn trống: người khác vừa giữ hoặc đã mua.',
  'error.HOLD_LIMIT_EXCEEDED':
    'Bạn đã giữ quá nhiều ghế (tối đa 8 ghế một suất, và 3 suất cùng lúc).',
  'error.RATE_LIMITED': 'Bạn thao tác quá nhanh: thử lại sau {seconds} giây.',
  'error.SEATS_NOT_HELD': 'Bạn không còn giữ những ghế này (có thể đã hết thời gian giữ).',
  'error.DUPLICATE_BOOKING':
    'Bạn đã có một đặt vé chờ thanh toán cho suất này: hãy thanh toán hoặc huỷ nó trước.',
  'error.INVALID_STATE_TRANSITION': 'Đặt vé này không thể làm việc đó ở trạng thái hiện tại.',
  'error.CANCELLATION_WINDOW_CLOSED': 'Không thể huỷ khi chỉ còn dưới 6 giờ trước suất chiếu.',
  'error.SERVICE_UNAVAILABLE': 'Dịch vụ tạm thời gián đoạn: vui lòng thử lại sau giây lát.',
  'error.TOO_MANY_SUBSCRIPTIONS': 'Trình duyệt này đang mở quá nhiều kết nối trực tiếp.',
  'error.NETWORK': 'Không kết nối được máy chủ: kiểm tra mạng rồi thử lại.',
  'error.other': 'Đã có lỗi xảy ra ({code}).',
} as const;

export type MessageKey = keyof typeof vi;

const en: Record<MessageKey, string> = {
  'app.title': 'Live seat map',
  'nav.showtimes': 'Showtimes',
  'lang.other': 'Tiếng Việt',
  'session.demoUser': 'Demo user',
  'session.guest': 'Guest (browse only)',
  'session.demoCustomer': 'Demo customer {n}',
  'session.signedInAs': 'Signed in as {name}',
  'session.signIn': 'Sign in',
  'session.signOut': 'Sign out',
  'session.clerkFailed': "Clerk's sign-in could not be loaded: {detail}",
  'live.connecting': 'Connecting…',
  'live.live': 'Live',
  'live.reconnecting': 'Connection lost, reconnecting…',
  'picker.city': 'City',
  'picker.film': 'Film',
  'picker.showtime': 'Showtime',
  'picker.pickCity': 'Pick a city to see what is showing.',
  'picker.pickFilm': 'Pick a film to see its showtimes for the next 7 days.',
  'picker.noFilms': 'Nothing is showing in {city}.',
  'picker.noShowtimes': 'No showtimes left in the next 7 days.',
  'picker.seatsLeft': '{n} seats left',
  'picker.minutes': '{n} min',
  'common.loading': 'Loading…',
  'common.retry': 'Try again',
  'common.dismiss': 'Dismiss',
  'common.notFound': 'This page does not exist.',
  'seat.screen': 'Screen',
  'seat.type.STANDARD': 'Standard',
  'seat.type.VIP': 'VIP',
  'seat.type.COUPLE': 'Couple',
  'seat.type.PREMIUM': 'Premium',
  'seat.type.ACCESSIBLE': 'Wheelchair',
  'seat.state.AVAILABLE': 'Available',
  'seat.state.MINE': 'Held by you',
  'seat.state.HELD': 'Held by someone else',
  'seat.state.BOOKED': 'Sold',
  'seat.state.BLOCKED': 'Not in use',
  'seat.label': 'Seat {seat}, {type}, {state}',
  'seat.yourSeats': 'Your seats',
  'seat.noneHeld': 'Click free seats on the map to hold them for 10 minutes.',
  'seat.signInToHold': 'Sign in (or pick a demo user) to hold seats.',
  'seat.total': 'Total',
  'seat.expiresIn': 'Hold expires in {time}',
  'seat.expired': 'Your hold ran out: the seats were released.',
  'seat.releaseAll': 'Release all',
  'seat.book': 'Book',
  'showtime.cancelled':
    'The cinema has cancelled this showtime: no seat can be held or booked. Its bookings are cancelled and refunded in full.',
  'seat.bookingHint': "Pay on VNPay's page, then get your tickets with their QR codes.",
  'seat.twoWindows':
    'Open this page in another window (with the other demo user) to watch seats change live.',
  'booking.title': 'Booking {code}',
  'booking.status.PENDING': 'Awaiting payment',
  'booking.status.CONFIRMED': 'Confirmed',
  'booking.status.COMPLETED': 'Completed',
  'booking.status.CANCELLED': 'Cancelled',
  'booking.status.EXPIRED': 'Expired',
  'booking.pay': 'Pay with VNPay',
  'booking.cancel': 'Cancel booking',
  'booking.payWithin': 'Seats kept for {time} while you pay',
  'booking.amount': 'Amount',
  'booking.tickets': 'Your tickets',
  'booking.ticketsSoon': 'Each ticket gets its QR code once the payment is through.',
  'booking.showAtDoor': 'Show this QR code at the door.',
  'booking.backToSeats': 'Back to the seat map',
  'booking.checking': 'Checking your payment…',
  'booking.signIn': 'Sign in with the account that made the booking to see it.',
  'result.success': 'Payment received: your booking is confirmed.',
  'result.failed': 'The payment did not go through: the booking was cancelled.',
  'result.invalid': 'This payment answer could not be verified.',
  'result.unknown': 'We are checking your payment: the result will show here shortly.',
  'error.UNAUTHENTICATED': 'Your session is invalid or has expired: sign in again.',
  'error.FORBIDDEN': 'You are not allowed to do this.',
  'error.NOT_FOUND': 'Not found (gone, or not yours).',
  'error.BAD_USER_INPUT': 'That request was not valid.',
  'error.SEAT_UNAVAILABLE': 'Seat {seats} is no longer free: someone else holds or bought it.',
  'error.HOLD_LIMIT_EXCEEDED':
    'You hold too many seats (at most 8 in a showtime, in 3 showtimes at once).',
  'error.RATE_LIMITED': 'Too many clicks: try again in {seconds} s.',
  'error.SEATS_NOT_HELD': 'You no longer hold these seats (the hold may have run out).',
  'error.DUPLICATE_BOOKING':
    'You already have a booking awaiting payment for this showtime: pay or cancel it first.',
  'error.INVALID_STATE_TRANSITION': 'This booking cannot do that in its current state.',
  'error.CANCELLATION_WINDOW_CLOSED':
    'Bookings cannot be cancelled less than 6 hours before the showtime.',
  'error.SERVICE_UNAVAILABLE': 'The service is briefly unavailable: try again in a moment.',
  'error.TOO_MANY_SUBSCRIPTIONS': 'This browser has too many live connections open.',
  'error.NETWORK': 'Cannot reach the server: check your connection and try again.',
  'error.other': 'Something went wrong ({code}).',
};

const MESSAGES: Record<Lang, Record<MessageKey, string>> = { vi, en };
const STORAGE_KEY = 'moviehub.lang';

function initialLang(): Lang {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (saved === 'vi' || saved === 'en') return saved;
  const preferred = navigator.languages.find((l) => /^(vi|en)\b/i.test(l));
  return preferred?.toLowerCase().startsWith('en') ? 'en' : 'vi';
}

let lang: Lang = initialLang();
const listeners = new Set<() => void>();

export const currentLang = (): Lang => lang;

/** The BCP 47 locale for numbers and dates. */
export const locale = (): string => (lang === 'vi' ? 'vi-VN' : 'en-GB');

/** Switches the language; the page redraws. */
export function setLang(next: Lang): void {
  if (next === lang) return;
  lang = next;
  localStorage.setItem(STORAGE_KEY, next);
  document.documentElement.lang = next;
  for (const listener of listeners) listener();
}

export function onLangChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** A message with `{name}` placeholders filled. */
export function t(key: MessageKey, params: Record<string, string | number> = {}): string {
  return MESSAGES[lang][key].replace(/\{(\w+)\}/g, (_, name: string) =>
    name in params ? String(params[name]) : `{${name}}`,
  );
}

/** The message key for an error code, when the page has words for it. */
export function errorKey(code: string): MessageKey | undefined {
  const key = `error.${code}`;
  return key in vi ? (key as MessageKey) : undefined;
}
