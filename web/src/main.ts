import './styles.css';
import { ViewerDocument } from './__generated__/graphql';
import { ApiError, request, resetLive } from './api';
import { button, h, replaceChildren } from './dom';
import { currentLang, onLangChange, setLang, t } from './i18n';
import { clearNotices, noticeRegion, showError, showErrorText } from './notices';
import { bookingPage } from './pages/booking-page';
import { pickerPage } from './pages/picker-page';
import { showtimePage } from './pages/showtime-page';
import { loadPageConfig } from './page-config';
import { currentRoute, href, onNavigate, startRouter } from './router';
import {
  chooseDemoUser,
  clerkUserName,
  demoUserIds,
  onSessionChange,
  openSignIn,
  sessionUserId,
  signInMode,
  signOut,
  startSession,
} from './session';
import type { View } from './view';

/**
 * The seat map page: a header (who is signed in, the language), the notices, and the page of
 * the current address, drawn again whenever the address, the language or the user changes.
 */

const outlet = h('main', { class: 'outlet' });
const account = h('div', { class: 'account' });
let view: View | undefined;

function render(): void {
  view?.dispose?.();
  clearNotices();
  const route = currentRoute();
  switch (route.name) {
    case 'picker':
      view = pickerPage(route.city, route.movieId);
      break;
    case 'showtime':
      view = showtimePage(route.showtimeId);
      break;
    case 'booking':
      view = bookingPage(route.bookingId, route.result);
      break;
    case 'notFound':
      view = { element: h('p', {}, t('common.notFound')) };
      break;
  }
  replaceChildren(outlet, view.element);
}

/** Names the signed-in user (`me`, which also creates them on first sight). */
const names = new Map<string, Promise<string>>();
function nameOf(userId: string): Promise<string> {
  let name = names.get(userId);
  if (!name) {
    name = request(ViewerDocument, {}).then(({ me }) => me.name ?? me.email ?? userId);
    names.set(userId, name);
    name.catch(() => names.delete(userId));
  }
  return name;
}

function drawAccount(): void {
  const userId = sessionUserId();
  const greeting = h('span', { class: 'greeting', 'data-testid': 'greeting' });
  if (userId) {
    greeting.textContent = clerkUserName() ?? userId;
    nameOf(userId).then(
      (name) => (greeting.textContent = t('session.signedInAs', { name })),
      (error: unknown) => showError(error),
    );
  }
  const mode = signInMode();
  if (mode === 'demo') {
    const select = h(
      'select',
      { 'data-testid': 'demo-user', 'aria-label': t('session.demoUser') },
      h('option', { value: '' }, t('session.guest')),
      ...demoUserIds().map((id, i) =>
        h('option', { value: id }, `${t('session.demoCustomer', { n: i + 1 })} (${id})`),
      ),
    );
    select.value = userId ?? '';
    select.addEventListener('change', () => chooseDemoUser(select.value || null));
    replaceChildren(
      account,
      h('label', { class: 'demo-switch' }, h('span', {}, t('session.demoUser')), select),
      userId ? greeting : null,
    );
  } else if (mode === 'clerk') {
    replaceChildren(
      account,
      userId ? greeting : null,
      userId
        ? button(t('session.signOut'), () => void signOut(), { class: 'secondary' })
        : button(t('session.signIn'), () => openSignIn(), { class: 'primary' }),
    );
  } else {
    replaceChildren(account);
  }
}

function layout(): HTMLElement {
  const lang = button(t('lang.other'), () => setLang(currentLang() === 'vi' ? 'en' : 'vi'), {
    class: 'lang',
    'data-testid': 'lang',
  });
  return h(
    'div',
    { class: 'layout' },
    h(
      'header',
      { class: 'top' },
      h(
        'a',
        { class: 'brand', href: href(''), 'data-nav': true },
        h('span', { class: 'logo', 'aria-hidden': 'true' }),
        'MovieHub',
      ),
      h('nav', {}, h('a', { href: href(''), 'data-nav': true }, t('nav.showtimes'))),
      h('div', { class: 'spacer' }),
      account,
      lang,
    ),
    noticeRegion(),
    outlet,
  );
}

async function start(): Promise<void> {
  const root = document.getElementById('app')!;
  document.documentElement.lang = currentLang();
  let startupError: (() => void) | undefined;
  try {
    const config = await loadPageConfig();
    try {
      await startSession(config.signIn);
    } catch (error) {
      // Clerk could not load: the page still shows seat maps, anonymously.
      const detail = error instanceof Error ? error.message : String(error);
      startupError = () => showErrorText(t('session.clerkFailed', { detail }));
    }
  } catch (error) {
    startupError = () => showError(new ApiError('NETWORK', String(error)));
  }
  const redraw = () => {
    replaceChildren(root, layout());
    drawAccount();
    render();
  };
  startRouter();
  onNavigate(render);
  onLangChange(redraw);
  onSessionChange(() => {
    // A new user: a new socket (the token is sent when it opens), and the page redrawn as them.
    resetLive();
    drawAccount();
    render();
  });
  redraw();
  startupError?.();
}

void start();
