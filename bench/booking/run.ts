/**
 * Booking benchmark: the contract's CreateBooking through the gateway, N concurrent clients,
 * each booking seats its own user holds.
 *
 * Before measuring (not counted): `--bookings` + `--warmup-bookings` distinct users each hold
 * `--seats` seats of an upcoming demo showtime (the largest halls first; no seat twice, none
 * of the demo bookings' showtimes), `--connections` holds at a time. Then the warm-up users
 * book, then the measured ones: `--connections` workers take the next user from the queue
 * and send its CreateBooking, back to back, until every user has booked. Each booking runs
 * the whole engine: the idempotency-free path of the bookings subgraph, the PENDING row, the
 * call to cinemas turning the holds into PENDING reservations (with the seat-map event), the
 * price, the tickets, the audit row. A request with GraphQL errors counts as an error, by code.
 *
 * Prints CreateBooking requests/s (bookings made over the wall time of the measured part),
 * p50/p99 latency, errors, and the CPU of the stack, this process and the machine; writes
 * them to bench/results/booking-<timestamp>.json. Figures are printed, never asserted.
 *
 *   npm run bench:booking -- [--bookings 2000] [--warmup-bookings 100] [--connections 50] [--seats 2]
 */
import { availableParallelism, loadavg } from 'node:os';
import { mintToken } from '../../scripts/dev-token';
import { buildDemoPlan } from '../../scripts/seed/demo-plan';
import { contractOperation } from '../../tests/support/contract';
import { summarize, type Measurement } from '../common/load';
import { busyBeforeStart, cpuWindow, machineInfo, type CpuFigures } from '../common/machine';
import { atLeastOne, parseFlags } from '../common/options';
import { loads, measurementCells, measurementJson, round, writeResults } from '../common/report';
import { isInterrupted, runMain, withStack } from '../common/stack';

interface Options {
  bookings: number;
  warmupBookings: number;
  connections: number;
  seats: number;
}

const USAGE = `usage: node dist/bench/booking/run.js [--bookings N] [--warmup-bookings N] [--connections N] [--seats N]
  --bookings N          bookings measured, each by its own user (default 2000)
  --warmup-bookings N   bookings made first and not counted (default 100)
  --connections N       concurrent clients (default 50)
  --seats N             seats per booking, 1..8 (default 2)`;

function parseOptions(argv: string[]): Options {
  const options: Options = { bookings: 2000, warmupBookings: 100, connections: 50, seats: 2 };
  parseFlags(argv, USAGE, {
    '--bookings': (v) => void (options.bookings = atLeastOne(v.number())),
    '--warmup-bookings': (v) => void (options.warmupBookings = Math.round(v.number())),
    '--connections': (v) => void (options.connections = atLeastOne(v.number())),
    '--seats': (v) => void (options.seats = atLeastOne(v.number())),
  });
  if (options.seats > 8) throw new Error('--seats: a user holds at most 8 seats in a showtime');
  return options;
}

/** One user's booking: the seats it holds, in one showtime. */
interface Job {
  userId: string;
  token: string;
  showtimeId: string;
  seatIds: string[];
}

/**
 * Seats for `count` bookings of `seats` each, from the upcoming demo showtimes (a day ahead
 * or more, biggest halls first, without demo bookings), each seat used once.
 */
function planJobs(count: number, seats: number, privateKeyPem: string): Job[] {
  const plan = buildDemoPlan(new Date());
  const withDemoBookings = new Set(plan.bookings.map((b) => b.showtimeId));
  const sellable = new Map<string, string[]>();
  for (const seat of plan.seats) {
    if (seat.blocked) continue;
    sellable.set(seat.hallId, [...(sellable.get(seat.hallId) ?? []), seat.id]);
  }
  const showtimes = plan.showtimes
    .filter(
      (s) => s.startsAt.getTime() > Date.now() + 24 * 3_600_000 && !withDemoBookings.has(s.id),
    )
    .sort((a, b) => (sellable.get(b.hallId)?.length ?? 0) - (sellable.get(a.hallId)?.length ?? 0));
  const jobs: Job[] = [];
  for (const showtime of showtimes) {
    const free = sellable.get(showtime.hallId) ?? [];
    for (let i = 0; i + seats <= free.length && jobs.length < count; i += seats) {
      const userId = `bench_booker_${jobs.length}`;
      jobs.push({
        userId,
        token: mintToken(privateKeyPem, { userId, role: 'CUSTOMER', expiresIn: 3 * 3600 }),
        showtimeId: showtime.id,
        seatIds: free.slice(i, i + seats),
      });
    }
    if (jobs.length === count) return jobs;
  }
  throw new Error(`the demo showtimes have seats for ${jobs.length} bookings, not ${count}`);
}

interface Answer {
  data?: Record<string, any> | null;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

async function post(url: string, token: string, query: string, variables: object): Promise<Answer> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as Answer;
}

interface DrainResult extends Measurement {
  /** Errors by `extensions.code` (or the message when there is none). */
  errorCodes: Record<string, number>;
}

/**
 * `connections` workers send `request(job)` for every job, one after another; latency per
 * request, throughput as completed requests over the wall time of the whole drain.
 */
async function drain(
  jobs: readonly Job[],
  connections: number,
  request: (job: Job) => Promise<Answer>,
  check: (answer: Answer) => boolean,
): Promise<DrainResult> {
  const samplesNs: number[] = [];
  const errorCodes: Record<string, number> = {};
  let errors = 0;
  let firstError: string | undefined;
  let next = 0;
  const start = process.hrtime.bigint();
  const worker = async () => {
    while (next < jobs.length && !isInterrupted()) {
      const job = jobs[next++];
      const t0 = process.hrtime.bigint();
      try {
        const answer = await request(job);
        const elapsed = Number(process.hrtime.bigint() - t0);
        if (answer.errors?.length || !check(answer)) {
          errors += 1;
          const code =
            answer.errors?.[0]?.extensions?.code ??
            answer.errors?.[0]?.message ??
            'unexpected answer';
          errorCodes[code] = (errorCodes[code] ?? 0) + 1;
          firstError ??= JSON.stringify(answer.errors ?? answer.data).slice(0, 300);
        } else {
          samplesNs.push(elapsed);
        }
      } catch (err) {
        errors += 1;
        errorCodes.fetch = (errorCodes.fetch ?? 0) + 1;
        firstError ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(connections, jobs.length) }, worker));
  const elapsedSeconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { ...summarize(samplesNs, errors, firstError, elapsedSeconds), errorCodes };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const holdSeats = contractOperation('HoldSeats');
  const createBooking = contractOperation('CreateBooking');
  const loadBefore = loadavg();
  const busyBeforePercent = await busyBeforeStart(loadBefore);

  await withStack({}, async (stack) => {
    const { gatewayUrl, privateKeyPem } = stack.ready;
    const jobs = planJobs(options.warmupBookings + options.bookings, options.seats, privateKeyPem);
    const showtimes = new Set(jobs.map((j) => j.showtimeId)).size;

    process.stderr.write(
      `bench: ${jobs.length} users each hold ${options.seats} seats (${showtimes} showtimes)... `,
    );
    const holds = await drain(
      jobs,
      options.connections,
      (job) =>
        post(gatewayUrl, job.token, holdSeats, {
          showtimeId: job.showtimeId,
          seatIds: job.seatIds,
        }),
      (answer) => answer.data?.holdSeats?.seats?.length === options.seats,
    );
    process.stderr.write(`${holds.requestsPerSecond.toFixed(0)} holds/s, ${holds.errors} errors\n`);
    if (holds.errors > 0) throw new Error(`holding seats failed: ${holds.firstError}`);
    if (isInterrupted()) return;

    const book = (job: Job) =>
      post(gatewayUrl, job.token, createBooking, {
        showtimeId: job.showtimeId,
        seatIds: job.seatIds,
      });
    const booked = (answer: Answer) =>
      answer.data?.createBooking?.status === 'PENDING' &&
      answer.data.createBooking.tickets.length === options.seats;
    const warmup = jobs.slice(0, options.warmupBookings);
    if (warmup.length > 0) {
      process.stderr.write(`bench: CreateBooking: ${warmup.length} warm-up bookings, `);
      const w = await drain(warmup, options.connections, book, booked);
      process.stderr.write(`${w.errors} errors; `);
    }
    if (isInterrupted()) return;
    process.stderr.write(`${options.bookings} measured... `);
    const window = await cpuWindow(stack);
    const result = await drain(
      jobs.slice(options.warmupBookings),
      options.connections,
      book,
      booked,
    );
    const cpu: CpuFigures = await window();
    process.stderr.write(`${result.requestsPerSecond.toFixed(0)} req/s\n`);
    if (isInterrupted()) return;
    const loadAfter = loadavg();

    const line = (cells: string[]) =>
      cells[0].padEnd(16) +
      cells
        .slice(1)
        .map((c) => c.padStart(9))
        .join('');
    console.log(
      [
        '',
        `CreateBooking through the gateway, ${options.connections} concurrent users, ` +
          `${options.bookings} bookings of ${options.seats} seats (${availableParallelism()} cores)`,
        line(['operation', 'req/s', 'p50 ms', 'p99 ms', 'errors']),
        line(['CreateBooking', ...measurementCells(result)]),
        line(['(HoldSeats)', ...measurementCells(holds)]),
        `(after ${options.warmupBookings} warm-up bookings; stack cpu ${cpu.stackCpuPercent.toFixed(0)}% ` +
          `of one core, client cpu ${cpu.clientCpuPercent.toFixed(0)}%, host cpu ${cpu.hostCpuPercent.toFixed(0)}%)`,
        `(load average 1/5/15 min: ${loads(loadBefore)} before, ${loads(loadAfter)} after)`,
        ...(result.errors > 0
          ? [`errors by code: ${JSON.stringify(result.errorCodes)}; first: ${result.firstError}`]
          : []),
      ].join('\n'),
    );

    const finishedAt = new Date();
    writeResults('booking', finishedAt, {
      benchmark: 'booking',
      finishedAt: finishedAt.toISOString(),
      settings: {
        ...options,
        showtimes,
        databasePoolSize: stack.ready.databasePoolSize,
        client: 'a queue of users drained by N fetch workers through the gateway',
      },
      machine: machineInfo(busyBeforePercent, { before: loadBefore, after: loadAfter }),
      results: {
        createBooking: {
          ...measurementJson(result),
          errorCodes: result.errorCodes,
          stackCpuPercent: round(cpu.stackCpuPercent, 1),
          clientCpuPercent: round(cpu.clientCpuPercent, 1),
          hostCpuPercent: round(cpu.hostCpuPercent, 1),
        },
        holdSeats: measurementJson(holds),
      },
    });
  });
}

runMain(main);
