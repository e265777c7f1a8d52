import { button, h } from './dom';
import { errorText } from './error-text';
import { t } from './i18n';

/**
 * Messages above the page's content: errors in words (kept until dismissed or replaced by
 * the next one), and news such as "your hold ran out". The region is a live region, so
 * screen readers say them.
 */

let region: HTMLElement | undefined;

/** The element the notices go in; placed once by the layout. */
export function noticeRegion(): HTMLElement {
  region ??= h('div', { class: 'notices', role: 'status', 'aria-live': 'polite' });
  return region;
}

function show(kind: 'error' | 'info', text: string, detail?: string): void {
  const target = noticeRegion();
  const notice = h(
    'div',
    { class: `notice notice-${kind}`, role: kind === 'error' ? 'alert' : null },
    h('p', { class: 'notice-text' }, text),
    detail ? h('p', { class: 'notice-detail' }, detail) : null,
  );
  notice.append(
    button('×', () => notice.remove(), {
      class: 'notice-close',
      'aria-label': t('common.dismiss'),
    }),
  );
  // The newest first, at most three.
  target.prepend(notice);
  while (target.children.length > 3) target.lastElementChild?.remove();
}

/** An error in the page's language; `seatLabel` names seats ("A5") instead of ids. */
export function showError(error: unknown, seatLabel?: (seatId: string) => string): void {
  const { text, detail } = errorText(error, seatLabel);
  show('error', text, detail);
}

/** An error already in words. */
export function showErrorText(text: string, detail?: string): void {
  show('error', text, detail);
}

export function showInfo(text: string): void {
  show('info', text);
}

/** Clears the notices (a new page). */
export function clearNotices(): void {
  noticeRegion().replaceChildren();
}
