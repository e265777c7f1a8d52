/**
 * Hardening benchmark: what hostile anonymous requests cost the gateway, and what they do to
 * everyone else meanwhile. For each attack shape it sends the attack `--repeat` times at
 * once and, during that time, a `/health` probe back to back, and prints:
 *
 *   - how the attack was answered (HTTP status, error code, response bytes, time to answer);
 *   - `/health` latency while the attack ran, against `/health` on the idle gateway
 *     (p50/max and the ratio): a limit that answers late, or a body that takes seconds to
 *     build, shows up here as other callers waiting.
 *
 *   npm run bench:hardening -- [--repeat 4] [--fragment-levels 22]
 *
 * Figures are printed (and saved under bench/results/), never asserted.
 */
import { contractOperation } from '../../tests/support/contract';
import { percentile } from '../common/load';
import { atLeastOne, parseFlags } from '../common/options';
import { round, writeResults } from '../common/report';
import { isInterrupted, runMain, withStack } from '../common/stack';

const USAGE = `usage: node dist/bench/hardening/run.js [--repeat N] [--fragment-levels N]
  --repeat N            copies of each attack sent at once (default 4)
  --fragment-levels N   fragments in the chain, each spreading the next twice (default 22)`;

interface Attack {
  name: string;
  body: string;
}

/** A chain of fragments each spreading the next twice: 2^levels field visits if walked naively. */
function fragmentChain(levels: number): string {
  const parts = ['query Chain { ...F0 }'];
  for (let i = 0; i < levels; i++) {
    parts.push(`fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`);
  }
  parts.push(`fragment F${levels} on Query { movies(first: 1) { totalCount } }`);
  return parts.join('\n');
}

/** movie { showtimes { movie { showtimes ... } } }: each level multiplies the result. */
function nestedShowtimes(movieId: string, depth: number): string {
  let inner = 'id';
  for (let i = 0; i < depth; i++) inner = `showtimes { id movie { id ${inner} } }`;
  return `query Nested { movie(id: "${movieId}") { ${inner} } }`;
}

/** Aliases of a list with no page size, each with every seat of every showtime. */
function aliasedLists(movieId: string, copies: number): string {
  const one = (i: number) =>
    `a${i}: showtimes { id seatMap { version seats { seatId row number status } } }`;
  return `query Aliased { movie(id: "${movieId}") { ${Array.from({ length: copies }, (_, i) => one(i)).join(' ')} } }`;
}

const manyAliases = (n: number): string =>
  `query Aliases { ${Array.from({ length: n }, (_, i) => `a${i}: movies(first: 1) { totalCount }`).join(' ')} }`;

/** Under 1 MB, far over any sane token count. */
const tokenFlood = (n: number): string => `query Flood { ${'__typename '.repeat(n)}}`;

interface Outcome {
  status: number;
  code: string;
  bytes: number;
  ms: number;
}

async function send(url: string, body: string): Promise<Outcome> {
  const t0 = performance.now();
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: body }),
      signal: AbortSignal.timeout(60_000),
    });
    text = await res.text();
  } catch (err) {
    return {
      status: 0,
      code: `failed: ${(err as Error).message}`,
      bytes: 0,
      ms: performance.now() - t0,
    };
  }
  const ms = performance.now() - t0;
  let code = 'none';
  try {
    const json = JSON.parse(text) as { errors?: Array<{ extensions?: { code?: string } }> };
    code = json.errors?.[0]?.extensions?.code ?? (json.errors ? 'error' : 'none');
  } catch {
    code = 'not JSON';
  }
  return { status: res.status, code, bytes: Buffer.byteLength(text), ms };
}

/** `/health` back to back until `until` settles; latencies in ms. */
async function probeHealth(healthUrl: string, until: Promise<unknown>): Promise<number[]> {
  let done = false;
  void until.finally(() => (done = true));
  const samples: number[] = [];
  do {
    const t0 = performance.now();
    try {
      await (await fetch(healthUrl, { signal: AbortSignal.timeout(60_000) })).text();
    } catch {
      // A gateway that cannot answer /health at all counts as the whole wait.
    }
    samples.push(performance.now() - t0);
  } while (!done);
  return samples;
}

async function idleHealth(healthUrl: string, n: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await (await fetch(healthUrl)).text();
    samples.push(performance.now() - t0);
  }
  return samples;
}

const sorted = (xs: number[]) => Float64Array.from(xs).sort();

async function main(): Promise<void> {
  const options = { repeat: 4, fragmentLevels: 22 };
  parseFlags(process.argv.slice(2), USAGE, {
    '--repeat': (v) => void (options.repeat = atLeastOne(v.number())),
    '--fragment-levels': (v) => void (options.fragmentLevels = atLeastOne(v.number())),
  });

  await withStack({}, async (stack) => {
    const url = stack.ready.gatewayUrl;
    const healthUrl = url.replace(/\/graphql$/, '/health');
    const list = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: contractOperation('NowShowing'), variables: { first: 1 } }),
    });
    const movieId = (
      (await list.json()) as { data: { movies: { edges: [{ node: { id: string } }] } } }
    ).data.movies.edges[0].node.id;

    const attacks: Attack[] = [
      {
        name: `fragment chain (${options.fragmentLevels} levels)`,
        body: fragmentChain(options.fragmentLevels),
      },
      { name: 'nested showtimes (depth 3)', body: nestedShowtimes(movieId, 3) },
      { name: 'aliased unpaginated lists (20)', body: aliasedLists(movieId, 20) },
      { name: '1,000 aliases', body: manyAliases(1000) },
      { name: '80,000 tokens', body: tokenFlood(80_000) },
    ];

    // Warm the path once, then the idle baseline.
    await idleHealth(healthUrl, 50);
    const idle = sorted(await idleHealth(healthUrl, 200));
    const idleP50 = percentile(idle, 50);

    const rows: string[][] = [];
    const json: object[] = [];
    for (const attack of attacks) {
      if (isInterrupted()) return;
      process.stderr.write(`bench: ${attack.name}...\n`);
      const sent = Promise.all(
        Array.from({ length: options.repeat }, () => send(url, attack.body)),
      );
      const health = sorted(await probeHealth(healthUrl, sent));
      const outcomes = await sent;
      const first = outcomes[0];
      const slowest = Math.max(...outcomes.map((o) => o.ms));
      const healthP50 = percentile(health, 50);
      const healthMax = health[health.length - 1];
      rows.push([
        attack.name,
        `${Buffer.byteLength(attack.body)}`,
        `${first.status} ${first.code}`,
        `${first.bytes}`,
        `${round(slowest, 1)}`,
        `${round(healthP50, 2)} / ${round(healthMax, 1)}`,
        `${round(healthMax / idleP50, 1)}×`,
      ]);
      json.push({
        attack: attack.name,
        requestBytes: Buffer.byteLength(attack.body),
        outcomes,
        healthDuringMs: { p50: healthP50, max: healthMax, samples: health.length },
      });
    }

    const header = [
      'attack',
      'request B',
      'answer',
      'response B',
      `slowest of ${options.repeat} (ms)`,
      '/health p50 / max (ms)',
      'max / idle p50',
    ];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join(' | ');
    console.log(
      `\n/health on the idle gateway: p50 ${round(idleP50, 2)} ms, p99 ${round(percentile(idle, 99), 2)} ms\n`,
    );
    console.log(line(header));
    console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
    for (const row of rows) console.log(line(row));
    writeResults('hardening', new Date(), {
      settings: options,
      idleHealthMs: { p50: idleP50, p99: percentile(idle, 99) },
      attacks: json,
    });
  });
}

runMain(main);
