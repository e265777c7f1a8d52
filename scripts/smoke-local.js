#!/usr/bin/env node
// CI smoke test of the README's promise: `npm start` (the built dist/scripts/start-local.js)
// with no configuration brings the supergraph up on embedded PostgreSQL with demo data,
// answers MovieDetail (movie → showtimes → hall → cinema), and stops cleanly on Ctrl-C.
const { spawn } = require('node:child_process');
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join, resolve } = require('node:path');

const root = resolve(__dirname, '..');
const dataDir = mkdtempSync(join(tmpdir(), 'moviehub-smoke-'));
const pgPort = String(55000 + Math.floor(Math.random() * 5000));
const started = Date.now();

const child = spawn(process.execPath, [join(root, 'dist/scripts/start-local.js')], {
  cwd: root,
  env: {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    PORT: '0',
    EMBEDDED_DATA_DIR: dataDir,
    EMBEDDED_PG_PORT: pgPort,
    LOG_LEVEL: 'warn',
  },
  stdio: ['ignore', 'pipe', 'pipe'],
});
let output = '';
child.stdout.on('data', (d) => (output += d));
child.stderr.on('data', (d) => (output += d));

function fail(message) {
  console.error(`smoke test FAILED: ${message}\n--- output ---\n${output.slice(-4000)}`);
  child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
  process.exit(1);
}

const timer = setTimeout(() => fail('no Sandbox line within 90 s'), 90_000);
const waitForUrl = new Promise((resolveUrl) => {
  const check = () => {
    const m = /Apollo Sandbox at (http:\/\/\S+\/graphql)/.exec(output);
    if (m) resolveUrl(m[1]);
  };
  child.stdout.on('data', check);
});
child.on('exit', (code) => {
  if (!output.includes('Apollo Sandbox at')) fail(`exited early with ${code}`);
});

async function gql(url, query, variables) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  return res.json();
}

(async () => {
  const url = await waitForUrl;
  clearTimeout(timer);
  const upIn = ((Date.now() - started) / 1000).toFixed(1);
  const list = await gql(
    url,
    '{ movies(filter: { nowShowing: true }, first: 1) { edges { node { id } } } }',
  );
  const id = list.data?.movies?.edges?.[0]?.node?.id;
  if (!id) fail(`no movie now showing: ${JSON.stringify(list)}`);
  const detail = await gql(
    url,
    'query($id: ID!) { movie(id: $id) { title showtimes { id startsAt hall { name cinema { name city } } } } }',
    { id },
  );
  const shows = detail.data?.movie?.showtimes ?? [];
  if (detail.errors || shows.length === 0 || !shows[0].hall.cinema.name) {
    fail(`MovieDetail did not cross movies → cinemas: ${JSON.stringify(detail).slice(0, 500)}`);
  }
  const sandbox = await fetch(url, { headers: { accept: 'text/html' } });
  if (!/sandbox/i.test(await sandbox.text())) fail('GET /graphql did not serve Sandbox');

  // The live seat map in one process: a hold with the printed demo token reaches a
  // subscriber over graphql-ws (in-process pub/sub and hold store).
  const token = /Bearer <token>".*\n\s*(\S+)/.exec(output)?.[1];
  if (!token) fail('no demo token printed');
  const showtime = shows.find((s) => Date.parse(s.startsAt) > Date.now() + 3_600_000);
  const seatMap = await gql(
    url,
    'query($id: ID!) { showtime(id: $id) { seatMap { version seats { seatId status } } } }',
    { id: showtime.id },
  );
  const seat = seatMap.data?.showtime?.seatMap?.seats?.find((s) => s.status === 'AVAILABLE');
  if (!seat) fail(`no available seat: ${JSON.stringify(seatMap).slice(0, 300)}`);
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
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({
        query: `mutation($s: ID!, $seats: [ID!]!) { ${name}(showtimeId: $s, seatIds: $seats) { seats { status } } }`,
        variables: { s: showtime.id, seats: [seat.seatId] },
      }),
    }).then((r) => r.json());
  let arrived = false;
  event.then(() => (arrived = true)).catch(() => {});
  for (let i = 0; i < 40 && !arrived; i += 1) {
    const changed = await mutate(i % 2 === 0 ? 'holdSeats' : 'releaseSeats');
    if (changed.errors) fail(`holding or releasing failed: ${JSON.stringify(changed.errors)}`);
    await Promise.race([event.catch(() => {}), new Promise((r) => setTimeout(r, 250))]);
  }
  const received = await event.catch((err) => fail(err.message));
  const update = received.data?.seatUpdates;
  if (!update || update.seats[0].seatId !== seat.seatId || !update.showtime.movie.title) {
    fail(`unexpected seat event: ${JSON.stringify(received)}`);
  }
  await client.dispose();

  const exited = new Promise((r) => child.on('exit', (code, signal) => r({ code, signal })));
  child.kill('SIGINT');
  const stopTimer = setTimeout(() => fail('did not stop within 20 s of SIGINT'), 20_000);
  const { code } = await exited;
  clearTimeout(stopTimer);
  if (code !== 0) fail(`exit code ${code} after SIGINT`);
  // Embedded PostgreSQL must be gone too: its port is free again.
  const net = require('node:net');
  const stillUp = await new Promise((r) => {
    const s = net.connect(Number(pgPort), '127.0.0.1');
    s.once('connect', () => (s.destroy(), r(true)));
    s.once('error', () => r(false));
  });
  if (stillUp) fail('embedded PostgreSQL still listening after Ctrl-C');
  rmSync(dataDir, { recursive: true, force: true });
  console.log(
    `smoke test OK: up with demo data in ${upIn} s, MovieDetail answered "${detail.data.movie.title}" ` +
      `with ${shows.length} showtimes, Sandbox served, a hold reached a subscriber (version ` +
      `${update.version}), stopped cleanly`,
  );
})().catch((err) => fail(err.stack || String(err)));
