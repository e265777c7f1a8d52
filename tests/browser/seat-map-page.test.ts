import jsQR from 'jsqr';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page, type WebSocketRoute } from 'playwright-core';
import { PNG } from 'pngjs';
import { projectRoot } from '../../runtime/paths';
import { buildDemoPlan } from '../../scripts/seed/demo-plan';
import { freePort } from '../../scripts/stack';
import { scannedQr } from '../e2e/booking-kit';
import { startTestStack, testKeys, type TestStack } from '../support/test-stack';
import { deferred, waitFor } from '../support/wait-for';

/**
 * Issue 15: the seat map page (web/, served by the gateway at /app) in headless Chromium,
 * driven by playwright-core against Debian's `chromium` (no browser download), on the whole
 * supergraph with its local VNPay simulator. Two browser contexts are two customers, each
 * signed in through the page's "demo user" switch, exactly as on the embedded default.
 * Screenshots go to test-artifacts/browser/.
 */

/** CHROMIUM_PATH when set (the only candidate then), else where Debian and Ubuntu put it. */
const CHROMIUM = (
  process.env.CHROMIUM_PATH
    ? [process.env.CHROMIUM_PATH]
    : ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome']
).find((path) => existsSync(path));
const ARTIFACTS = join(projectRoot(), 'test-artifacts', 'browser');
/** Holds last this long here, so that the expiry is seen within the test. */
const HOLD_SECONDS = 6;
const HOUR = 3_600_000;

if (!CHROMIUM) {
  console.warn(
    `The browser tests (tests/browser/seat-map-page.test.ts) are SKIPPED: no Chromium at ` +
      `${process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'}. Install it (Debian, Ubuntu: ` +
      'apt-get install chromium; `bash .ci/run` does) or point CHROMIUM_PATH at a Chromium or ' +
      'Chrome binary.',
  );
}
const describeInChromium = CHROMIUM ? describe : describe.skip;

const plan = buildDemoPlan();

/** Demo showtimes between one and five days ahead (the picker shows seven): one per test. */
const showtimes = plan.showtimes.filter(
  (s) =>
    s.startsAt.getTime() > Date.now() + 26 * HOUR &&
    s.startsAt.getTime() < Date.now() + 5 * 24 * HOUR,
);
const showtimeFor = (index: number) => showtimes[index * 11];

/** The status a seat shows; `mine` when the page says the viewer holds it. */
const seatSelector = (seatId: string, status: string, mine = false) =>
  `[data-seat-id="${seatId}"][data-status="${status}"]${mine ? '[data-mine]' : ':not([data-mine])'}`;

describeInChromium(`the seat map page in Chromium (${CHROMIUM ?? 'none: skipped'})`, () => {
  let t: TestStack;
  let browser: Browser;
  let base: string;
  let dataDir: string;
  const timings: Record<string, number> = {};
  /** The windows the running test opened. */
  const opened: Page[] = [];

  beforeAll(async () => {
    // The page as `npm run build` makes it (rebuilt only when web/ changed since).
    const built = spawnSync(
      process.execPath,
      [join(projectRoot(), 'scripts', 'build-if-stale.js'), '--web'],
      { encoding: 'utf8' },
    );
    if (built.status !== 0) throw new Error(`building the page failed:\n${built.stderr}`);
    // This run's pictures only.
    rmSync(ARTIFACTS, { recursive: true, force: true });
    mkdirSync(ARTIFACTS, { recursive: true });
    // The local key pair where the embedded default keeps it: the demo switch mints with it.
    dataDir = mkdtempSync(join(tmpdir(), 'moviehub-browser-'));
    writeFileSync(join(dataDir, 'dev-keys.json'), JSON.stringify(testKeys()));
    // Known before the start: VNPay's return comes back to it, and FRONTEND_URL names it.
    const port = await freePort();
    base = `http://localhost:${port}`;
    // Chromium starts meanwhile; whatever fails, what did start is closed in afterAll.
    const launching = chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    try {
      t = await startTestStack({
        env: {
          PORT: String(port),
          EMBEDDED_DATA_DIR: dataDir,
          FRONTEND_URL: `${base}/app`,
          SEAT_HOLD_TTL_SECONDS: String(HOLD_SECONDS),
        },
      });
    } finally {
      browser = await launching;
    }
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await t?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    if (Object.keys(timings).length > 0) {
      writeFileSync(join(ARTIFACTS, 'timings.json'), `${JSON.stringify(timings, null, 2)}\n`);
    }
  });

  /**
   * A window of its own (cookies, storage), in English unless told. `as`: the demo customer
   * it starts as, as if chosen with the switch before (the page remembers it per window).
   */
  async function window(options: { lang?: 'en' | 'vi'; as?: string } = {}): Promise<Page> {
    const context = await browser.newContext({
      viewport: { width: 1280, height: 1000 },
      locale: options.lang === 'vi' ? 'vi-VN' : 'en-GB',
    });
    if (options.as) {
      await context.addInitScript((userId) => {
        if (sessionStorage.getItem('moviehub.demoUser') === null) {
          sessionStorage.setItem('moviehub.demoUser', userId);
        }
      }, options.as);
    }
    const page = await context.newPage();
    page.on('pageerror', (error) => console.error(`page error: ${error.message}`));
    opened.push(page);
    return page;
  }

  /**
   * A test in the browser: when it fails, every window it opened is saved as a screenshot
   * (`failed-<test>-<n>.png`), to see what the page showed; its windows close after it.
   */
  function inBrowser(name: string, test: () => Promise<void>): void {
    it(
      name,
      async () => {
        try {
          await test();
        } catch (error) {
          const slug = name.replace(/[^a-z0-9]+/gi, '-').slice(0, 40);
          await Promise.all(
            opened.map((page, n) =>
              page
                .screenshot({ path: join(ARTIFACTS, `failed-${slug}-${n + 1}.png`) })
                .catch(() => {}),
            ),
          );
          throw error;
        }
      },
      90_000,
    );
  }

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((page) => page.context().close()));
  });

  /** Opens a showtime's seat map as a demo customer (switched to with the page's switch if need be). */
  async function seatMap(page: Page, showtimeId: string, userId: string): Promise<void> {
    await page.goto(`${base}/app/showtimes/${showtimeId}`);
    const demoUser = page.getByTestId('demo-user');
    if ((await demoUser.inputValue()) !== userId) await demoUser.selectOption(userId);
    await page.waitForSelector(`[data-live="live"] .seat[data-status]`);
    await page
      .getByTestId('greeting')
      .filter({ hasText: /Signed in as|Xin chào/ })
      .waitFor();
  }

  /** Waits until the gateway listens to the showtime's seat events for its subscribers. */
  const subscribed = (showtimeId: string) =>
    waitFor(async () => (await t.redisSubscribers(showtimeId)) >= 1, 'the seat map subscription');

  const freeSeats = (page: Page, count: number) =>
    page.$$eval(
      '.seat[data-status="AVAILABLE"]',
      (seats, n) => seats.slice(20, 20 + n).map((s) => (s as HTMLElement).dataset.seatId!),
      count,
    );

  const shot = (page: Page, name: string) =>
    page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });

  inBrowser(
    'a newcomer picks a city, a film, a showtime and holds a seat; a second window sees it held live; expiry frees it in both',
    async () => {
      const show = showtimeFor(0);
      const movie = plan.movies.find((m) => m.id === show.movieId)!;
      const city = plan.cinemas.find(
        (c) => c.id === plan.halls.find((h) => h.id === show.hallId)!.cinemaId,
      )!.city;

      // Another customer already watches the showtime: a second window, switched to the
      // second demo customer with the page's own switch.
      const watcher = await window();
      await seatMap(watcher, show.id, 'demo-customer-2');
      await subscribed(show.id);

      // The newcomer: the printed URL, then three clicks (signed in as the first demo customer).
      const newcomer = await window();
      await newcomer.goto(`${base}/app`);
      await newcomer.locator('.chip', { hasText: city }).click();
      await newcomer
        .locator('.film-card', { has: newcomer.locator('strong', { hasText: movie.title }) })
        .first()
        .click();
      await newcomer.locator(`a.time[data-showtime-id="${show.id}"]`).click();
      await newcomer.waitForSelector('[data-live="live"] .seat[data-status]');
      await shot(newcomer, '1-newcomer-seat-map');

      const [seatId] = await freeSeats(newcomer, 1);
      const clicked = Date.now();
      await newcomer.click(`[data-seat-id="${seatId}"]`);
      await watcher.waitForSelector(seatSelector(seatId, 'HELD'));
      timings['hold seen by the other window (ms, click to redraw)'] = Date.now() - clicked;
      await newcomer.waitForSelector(seatSelector(seatId, 'HELD', true));
      await newcomer
        .getByTestId('countdown')
        .filter({ hasText: /Hold expires in \d:\d\d/ })
        .waitFor();
      await shot(newcomer, '2-newcomer-holds');
      await shot(watcher, '3-watcher-sees-held');

      // The server lets the hold go after SEAT_HOLD_TTL_SECONDS, and says so to every page.
      await Promise.all([
        newcomer.waitForSelector(seatSelector(seatId, 'AVAILABLE'), { timeout: 30_000 }),
        watcher.waitForSelector(seatSelector(seatId, 'AVAILABLE'), { timeout: 30_000 }),
      ]);
      await newcomer.locator('.notice', { hasText: 'Your hold ran out' }).waitFor();
      await shot(newcomer, '4-newcomer-hold-expired');
    },
  );

  inBrowser(
    'refetches the seat map when an event is missed (a version gap) and after the socket comes back',
    async () => {
      const show = showtimeFor(1);
      // The watcher's WebSocket goes through the test, which can drop one event, cut the
      // socket, and keep the next socket from reaching the gateway until told.
      const watcher = await window({ as: 'demo-customer-2' });
      const seatStateFetches: string[] = [];
      watcher.on('request', (request) => {
        if (request.method() === 'POST' && request.postData()?.includes('query SeatStates')) {
          seatStateFetches.push(request.url());
        }
      });
      let dropNextEvent = false;
      const dropped = deferred();
      let gate: Promise<void> | undefined = undefined;
      let openGate = () => {};
      let cut: (() => void) | undefined;
      await watcher.routeWebSocket(/\/graphql$/, (socket: WebSocketRoute) => {
        const held = gate;
        const fromPage: Array<string | Buffer> = [];
        let toServer: ((message: string | Buffer) => void) | undefined;
        socket.onMessage((message) => (toServer ? toServer(message) : fromPage.push(message)));
        const connect = () => {
          const server = socket.connectToServer();
          server.onMessage((message) => {
            if (dropNextEvent && String(message).includes('"seatUpdates"')) {
              dropNextEvent = false;
              dropped.resolve();
              return;
            }
            socket.send(message);
          });
          toServer = (message) => server.send(message);
          for (const message of fromPage.splice(0)) server.send(message);
          cut = () => {
            void server.close();
            void socket.close({ code: 4499, reason: 'cut by the test' });
          };
        };
        if (held) void held.then(connect);
        else connect();
      });
      await seatMap(watcher, show.id, 'demo-customer-2');
      await subscribed(show.id);
      const holder = await window({ as: 'demo-customer' });
      await seatMap(holder, show.id, 'demo-customer');
      const [x, y, z] = await freeSeats(holder, 3);

      // The event for x never reaches the watcher; the one for y then skips a version.
      dropNextEvent = true;
      await holder.click(`[data-seat-id="${x}"]`);
      await dropped.wait('the dropped seat event');
      expect(await watcher.locator(`[data-seat-id="${x}"]`).getAttribute('data-status')).toBe(
        'AVAILABLE',
      );
      await holder.click(`[data-seat-id="${y}"]`);
      await watcher.waitForSelector(seatSelector(y, 'HELD'));
      await watcher.waitForSelector(seatSelector(x, 'HELD'));
      expect(seatStateFetches.length).toBeGreaterThanOrEqual(1);

      // The socket drops; z is held while the watcher is away; the page comes back and refetches.
      gate = new Promise((resolve) => (openGate = resolve));
      cut!();
      await watcher.waitForSelector('[data-live="reconnecting"]');
      await shot(watcher, '5-watcher-reconnecting');
      await holder.click(`[data-seat-id="${z}"]`);
      await holder.waitForSelector(seatSelector(z, 'HELD', true));
      const fetchesBefore = seatStateFetches.length;
      openGate();
      await watcher.waitForSelector(seatSelector(z, 'HELD'));
      await watcher.waitForSelector('[data-live="live"]');
      expect(seatStateFetches.length).toBeGreaterThan(fetchesBefore);
    },
  );

  inBrowser(
    'books and pays on the VNPay simulator: the buyer sees tickets with QR codes, the other window sees the seats BOOKED',
    async () => {
      const show = showtimeFor(2);
      const watcher = await window({ as: 'demo-customer-2' });
      await seatMap(watcher, show.id, 'demo-customer-2');
      await subscribed(show.id);
      const buyer = await window({ as: 'demo-customer' });
      await seatMap(buyer, show.id, 'demo-customer');

      const seatIds = await freeSeats(buyer, 2);
      for (const seatId of seatIds) {
        await buyer.click(`[data-seat-id="${seatId}"]`);
        await buyer.waitForSelector(seatSelector(seatId, 'HELD', true));
      }
      await buyer.getByTestId('book').click();
      await buyer.getByTestId('pay').waitFor();
      await expect(buyer.getByTestId('booking-status').getAttribute('data-status')).resolves.toBe(
        'PENDING',
      );
      await shot(buyer, '6-buyer-booking');

      await buyer.getByTestId('pay').click();
      await buyer.getByRole('button', { name: 'Approve' }).click();
      await buyer.waitForURL(/\/payment\/result\?/);
      const landed = new URL(buyer.url());
      expect(landed.searchParams.get('result')).toBe('success');
      const bookingId = landed.searchParams.get('bookingId')!;
      // VNPay's return goes to FRONTEND_URL/payment/result: the page's result address.
      await buyer.goto(`${base}/app/payment/result${landed.search}`);
      await buyer.getByTestId('payment-result').filter({ hasText: 'Payment received' }).waitFor();
      await buyer.locator('[data-testid="booking-status"][data-status="CONFIRMED"]').waitFor();
      const qrCodes = buyer.locator('img.qr');
      await expect(qrCodes.count()).resolves.toBe(2);
      await shot(buyer, '7-buyer-tickets');

      // Each QR code is the ticket's signed code, as the door scanner reads it.
      const tickets = await buyer.$$eval('.ticket', (cards) =>
        cards.map((card) => ({
          code: (card as HTMLElement).dataset.ticket!,
          src: card.querySelector('img')!.getAttribute('src')!,
        })),
      );
      for (const ticket of tickets) {
        const png = PNG.sync.read(Buffer.from(ticket.src.split(',')[1], 'base64'));
        const decoded = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
        expect(decoded?.data).toBe(scannedQr(t, ticket.code));
      }
      expect(tickets.map((ticket) => ticket.code).sort()).toEqual(
        (
          await t.query(
            'query($id: ID!) { booking(id: $id) { tickets { ticketCode } } }',
            { id: bookingId },
            {
              token: t.token('demo-customer'),
            },
          )
        )
          .data!.booking.tickets.map((ticket: { ticketCode: string }) => ticket.ticketCode)
          .sort(),
      );

      for (const seatId of seatIds) await watcher.waitForSelector(seatSelector(seatId, 'BOOKED'));
      await shot(watcher, '8-watcher-sees-booked');
    },
  );

  inBrowser(
    'says what went wrong in words, in Vietnamese too, and releases what it holds',
    async () => {
      const show = showtimeFor(3);
      const page = await window({ lang: 'vi', as: 'demo-customer-2' });
      await seatMap(page, show.id, 'demo-customer-2');
      const seatIds = await freeSeats(page, 9);
      for (const seatId of seatIds.slice(0, 8)) {
        await page.click(`[data-seat-id="${seatId}"]`);
        await page.waitForSelector(seatSelector(seatId, 'HELD', true));
      }
      await page.click(`[data-seat-id="${seatIds[8]}"]`);
      await page.locator('.notice-error', { hasText: 'Bạn đã giữ quá nhiều ghế' }).waitFor();
      await page.waitForSelector(seatSelector(seatIds[8], 'AVAILABLE'));
      await shot(page, '9-vietnamese-error');

      await page.getByTestId('lang').click();
      await page.getByRole('button', { name: 'Release all' }).click();
      for (const seatId of seatIds) await page.waitForSelector(seatSelector(seatId, 'AVAILABLE'));
    },
  );
  inBrowser(
    'tells a customer whose showtime the cinema cancels at once, on the open page, and from then on',
    async () => {
      const show = showtimeFor(4);
      const page = await window();
      await seatMap(page, show.id, 'demo-customer');
      const [first, second] = await freeSeats(page, 2);
      await page.click(`[data-seat-id="${first}"]`);
      await page.waitForSelector(seatSelector(first, 'HELD', true));

      const cancel = await t.query(
        'mutation($id: ID!) { cancelShowtime(id: $id) { id status } }',
        { id: show.id },
        { token: t.token('user_admin', 'ADMIN') },
      );
      expect(cancel.data).toEqual({ cancelShowtime: { id: show.id, status: 'CANCELLED' } });

      // The open page hears it from its live seat states, without a click: it says why and
      // stops offering seats; a click holds nothing.
      await page.getByTestId('cancelled').waitFor();
      await page.waitForSelector('.showtime-page[data-status="CANCELLED"]');
      expect(await page.locator('.notice-error').count()).toBe(0);
      await shot(page, '10-showtime-cancelled');
      await page.click(`[data-seat-id="${second}"]`);
      await page.locator('.notices .notice-info', { hasText: 'cancelled this showtime' }).waitFor();
      expect(await page.locator(seatSelector(second, 'HELD', true)).count()).toBe(0);

      // Loaded afresh, the page says it at once; a click holds nothing.
      const later = await window({ as: 'demo-customer-2' });
      await later.goto(`${base}/app/showtimes/${show.id}`);
      await later.getByTestId('cancelled').waitFor();
      await later.waitForSelector(`[data-seat-id="${second}"][data-status]`);
      await later.click(`[data-seat-id="${second}"]`);
      await later
        .locator('.notices .notice-info', { hasText: 'cancelled this showtime' })
        .waitFor();
      expect(await later.locator(seatSelector(second, 'HELD', true)).count()).toBe(0);
    },
  );
  inBrowser(
    'asks for live seat states again when the gateway refused them for a moment (overloaded)',
    async () => {
      const show = showtimeFor(5);
      const watcher = await window({ as: 'demo-customer-2' });
      // The watcher's first SeatUpdates is answered by the test, as an overloaded gateway
      // answers it; everything else goes through.
      const refused = deferred();
      let seatSubscriptions = 0;
      await watcher.routeWebSocket(/\/graphql$/, (socket: WebSocketRoute) => {
        const server = socket.connectToServer();
        socket.onMessage((message) => {
          const text = String(message);
          if (text.includes('"subscribe"') && text.includes('seatUpdates')) {
            seatSubscriptions += 1;
            if (seatSubscriptions === 1) {
              const { id } = JSON.parse(text) as { id: string };
              socket.send(
                JSON.stringify({
                  type: 'error',
                  id,
                  payload: [
                    {
                      message: 'The service is overloaded; retry in 1 s',
                      extensions: { code: 'SERVICE_UNAVAILABLE', retryAfter: 1 },
                    },
                  ],
                }),
              );
              refused.resolve();
              return;
            }
          }
          server.send(message);
        });
        server.onMessage((message) => socket.send(message));
      });
      await seatMap(watcher, show.id, 'demo-customer-2');
      await refused.wait('the refused subscription');
      await waitFor(() => seatSubscriptions >= 2, 'the page to subscribe again', 15_000);
      await subscribed(show.id);

      const holder = await window({ as: 'demo-customer' });
      await seatMap(holder, show.id, 'demo-customer');
      const [seatId] = await freeSeats(holder, 1);
      await holder.click(`[data-seat-id="${seatId}"]`);
      await watcher.waitForSelector(seatSelector(seatId, 'HELD'));
    },
  );
});
