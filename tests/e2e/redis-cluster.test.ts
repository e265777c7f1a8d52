/**
 * Issue 17, done when: the seat rush and the live seat map work on a Redis Cluster, a
 * primary failing over included. The whole stack (gateway, four subgraphs, a second gateway
 * with a second cinemas instance) runs on a throwaway local 3+3 cluster and is checked only
 * through the gateways, as a front end sees it:
 * - a rush: no seat held by two users; every subscriber (anonymous or signed in, on either
 *   gateway) sees consecutive versions and ends on the SeatMap snapshot, heldByMe included;
 * - a primary killed mid-rush (the one owning the showtime's slot, then the node a pub/sub
 *   subscriber sits on): no seat held twice, no acknowledged hold lost, subscribers either
 *   keep flowing without a gap or are told (SERVICE_UNAVAILABLE) and converge after
 *   resubscribing and refetching; holds work again within a bounded wait;
 * - a short hold expires on the cluster and AVAILABLE reaches the subscribers.
 *
 * Skipped, saying so, where `redis-server` is not installed. `REDIS_CLUSTER_FIGURES=1`
 * prints the failover timings.
 */
import { Redis } from 'ioredis';
import { startGateway } from '../../gateway/src/gateway';
import { withOverrides } from '../../runtime/config';
import type { RunningService } from '../../runtime/lifecycle';
import { startSubgraph, type RunningSubgraph } from '../../runtime/subgraph-server';
import { buildDemoPlan } from '../../scripts/seed/demo-plan';
import { cinemasSubgraph } from '../../subgraphs/cinemas/src/schema';
import { seatChannel } from '../../subgraphs/cinemas/src/seat/seat-topic';
import { contractOperation } from '../support/contract';
import {
  redisServerAvailable,
  startRedisCluster,
  type RedisClusterHandle,
} from '../support/redis-cluster';
import { postGraphQL, startTestStack, type TestStack } from '../support/test-stack';
import { waitFor } from '../support/wait-for';
import { subscribe, type Received, type TestSubscription } from '../support/ws-client';

const plan = buildDemoPlan();
const HOUR = 3_600_000;
const HOLD = contractOperation('HoldSeats');
const RELEASE = contractOperation('ReleaseSeats');
const SEAT_MAP = contractOperation('SeatMap');
const SEAT_UPDATES = contractOperation('SeatUpdates');
/** Codes that say for sure a hold changed nothing (all or nothing). */
const DEFINITE_REFUSALS = new Set(['SEAT_UNAVAILABLE', 'HOLD_LIMIT_EXCEEDED']);
/** How long the cluster may take to serve again after a primary is killed. */
const RECOVERY_MS = 20_000;

const available = redisServerAvailable();
const describeCluster = available ? describe : describe.skip;
if (!available) {
  process.stderr.write(
    'tests/e2e/redis-cluster.test.ts skipped: redis-server / redis-cli are not installed.\n',
  );
}

function upcomingShowtime(index: number) {
  const upcoming = plan.showtimes.filter((s) => s.startsAt.getTime() > Date.now() + 24 * HOUR);
  const showtime = upcoming[index * 5 + 2];
  return {
    showtime,
    free: plan.seats.filter((s) => s.hallId === showtime.hallId && !s.blocked).map((s) => s.id),
  };
}

/** mulberry32: a rush that fails can be replayed with the same choices. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

interface SeatState {
  seatId: string;
  status: string;
  heldByMe: boolean;
}
interface SeatEvent {
  showtimeId: string;
  version: number;
  seats: SeatState[];
}
interface Snapshot {
  version: number;
  seats: SeatState[];
}

/** `seatId → STATUS` (`*` when heldByMe): what a subscriber's replay is compared with. */
const view = (seats: Iterable<SeatState>) =>
  Object.fromEntries([...seats].map((s) => [s.seatId, s.status + (s.heldByMe ? '*' : '')]));

describeCluster('the whole stack on a Redis Cluster (3 primaries, 3 replicas)', () => {
  let cluster: RedisClusterHandle;
  let t: TestStack;
  let cinemas2: RunningSubgraph | undefined;
  let gateway2: RunningService | undefined;
  let cinemasShort: RunningSubgraph | undefined;
  let gatewayShort: RunningService | undefined;
  let gateways: string[];
  let shortTtlGateway: string;
  const subs: TestSubscription[] = [];
  /** One plain connection per node, for what a cluster client does not answer per node. */
  const nodeConnections = new Map<number, Redis>();
  /** Nodes this file killed itself (replicas: the harness only fails primaries over). */
  const killed = new Set<number>();
  const figures: Record<string, number | string> = {};
  /** Failovers under way: a test that fails early must not stop the cluster under them. */
  const failovers: Array<Promise<unknown>> = [];

  beforeAll(async () => {
    cluster = await startRedisCluster({
      primaries: 3,
      replicasPerPrimary: 1,
    });
    // A rush user makes a few dozen calls a minute while the cluster fails over: the
    // anti-hoarding rate (30 a minute) is not what is tested here.
    t = await startTestStack({
      env: { REDIS_URL: cluster.url, SEAT_HOLD_RATE_PER_MINUTE: '100000' },
    });
    const urls = Object.fromEntries(Object.values(t.stack.subgraphs).map((s) => [s.name, s.url]));
    const local = { http: { host: '127.0.0.1', port: 0 } };
    // A second gateway over a second cinemas instance (each instance has its own pub/sub
    // subscriber, on a node of its own choosing); a third pair holds for 2 s only, for expiry.
    [cinemas2, cinemasShort] = await Promise.all([
      startSubgraph(cinemasSubgraph, withOverrides(t.config, { ...local, subgraphUrls: urls })),
      startSubgraph(
        cinemasSubgraph,
        withOverrides(t.config, {
          ...local,
          subgraphUrls: urls,
          seatHoldTtlSeconds: 2,
        }),
      ),
    ]);
    [gateway2, gatewayShort] = await Promise.all([
      startGateway(
        withOverrides(t.config, {
          ...local,
          subgraphUrls: { ...urls, cinemas: cinemas2.url },
        }),
      ),
      startGateway(
        withOverrides(t.config, {
          ...local,
          subgraphUrls: { ...urls, cinemas: cinemasShort.url },
        }),
      ),
    ]);
    gateways = [t.gatewayUrl, `http://127.0.0.1:${gateway2.port}/graphql`];
    shortTtlGateway = `http://127.0.0.1:${gatewayShort.port}/graphql`;
  });

  afterAll(async () => {
    await Promise.allSettled(failovers);
    await Promise.all(subs.map((s) => s.close()));
    // A connection to a node killed here has ended already: disconnecting it again would
    // leave ioredis' 2 s "stream still open" timer behind it, delaying Jest's exit.
    for (const redis of nodeConnections.values()) if (redis.status !== 'end') redis.disconnect();
    await gatewayShort?.stop();
    await gateway2?.stop();
    await cinemasShort?.stop();
    await cinemas2?.stop();
    await t?.stop();
    await cluster?.stop();
    if (process.env.REDIS_CLUSTER_FIGURES) {
      process.stderr.write(`redis-cluster e2e figures: ${JSON.stringify(figures)}\n`);
    }
  });

  // ---------------------------------------------------------------- talking to the nodes

  const liveNodes = () => cluster.nodes.filter((n) => !killed.has(n.port));

  function node(port: number): Redis {
    let redis = nodeConnections.get(port);
    if (!redis) {
      redis = new Redis({
        host: '127.0.0.1',
        port,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      redis.on('error', () => {});
      nodeConnections.set(port, redis);
    }
    return redis;
  }

  /** Pub/sub state is per node: which nodes have a subscriber on the showtime's channel. */
  async function subscriberNodes(showtimeId: string): Promise<Map<number, number>> {
    const channel = seatChannel(t.config.redis.keyPrefix, showtimeId);
    const counts = new Map<number, number>();
    for (const { port } of liveNodes()) {
      try {
        const [, n] = (await node(port).call('PUBSUB', 'NUMSUB', channel)) as [string, number];
        if (Number(n) > 0) counts.set(port, Number(n));
      } catch {
        // A node going down counts no subscriber.
      }
    }
    return counts;
  }

  const versionKey = (showtimeId: string) =>
    `${t.config.redis.keyPrefix}seat:{${showtimeId}}:version`;

  /** `CLUSTER NODES` as the survivors see it. */
  async function clusterLines() {
    const text = String(await node(liveNodes()[0].port).call('CLUSTER', 'NODES'));
    return text
      .trim()
      .split('\n')
      .map((line) => {
        const [id, address, flags, primaryId, , , , , ...slots] = line.trim().split(' ');
        return {
          id,
          port: Number(address.split('@')[0].split(':').pop()),
          primary: flags.includes('master'),
          failed: flags.includes('fail'),
          primaryId,
          slots,
        };
      });
  }

  /** SIGKILLs a replica (no failover needed: nothing it serves moves). */
  async function killReplica(port: number): Promise<void> {
    const info = String(await node(port).call('INFO', 'server'));
    const pid = Number(/process_id:(\d+)/.exec(info)![1]);
    killed.add(port);
    process.kill(pid, 'SIGKILL');
    await waitFor(async () => {
      const probe = new Redis({
        host: '127.0.0.1',
        port,
        lazyConnect: true,
        retryStrategy: () => null,
      });
      probe.on('error', () => {});
      try {
        await probe.connect();
        return false;
      } catch {
        return true;
      } finally {
        probe.disconnect();
      }
    }, `replica ${port} to be gone`);
  }

  // ------------------------------------------------------------------ talking to the stack

  type Outcome = { ok: true; data: any } | { ok: false; code: string };

  async function call(
    gatewayUrl: string,
    query: string,
    variables: Record<string, unknown>,
    user?: string,
  ): Promise<Outcome> {
    try {
      const res = await postGraphQL(gatewayUrl, query, variables, {
        token: user ? t.token(user) : undefined,
      });
      if (res.errors?.length) {
        return {
          ok: false,
          code: String(res.errors[0].extensions?.code ?? 'NO_CODE'),
        };
      }
      return { ok: true, data: res.data };
    } catch (err) {
      return { ok: false, code: `TRANSPORT ${(err as Error).message}` };
    }
  }

  /** The seat map as `user` sees it, polled while the cluster is not serving. */
  async function seatMap(showtimeId: string, user?: string): Promise<Snapshot> {
    return waitFor(async () => {
      const res = await call(t.gatewayUrl, SEAT_MAP, { showtimeId }, user);
      return res.ok ? (res.data.showtime.seatMap as Snapshot) : undefined;
    }, `the seat map of ${showtimeId}`);
  }

  /**
   * Makes events on a seat of its own (hold, release, hold...), so that a subscriber can be
   * seen to be in place: the event stream has no "subscribed" message.
   */
  function pinger(showtimeId: string, seatId: string, user: string) {
    let hold = true;
    return {
      user,
      seatId,
      ping: async () => {
        await call(t.gatewayUrl, hold ? HOLD : RELEASE, { showtimeId, seatIds: [seatId] }, user);
        hold = !hold;
      },
    };
  }
  type Pinger = ReturnType<typeof pinger>;

  /**
   * A front end's live seat map: subscribe, refetch the SeatMap once the subscription is
   * seen to deliver, apply the events after the snapshot's version; when told the feed is
   * lost (SERVICE_UNAVAILABLE), the same again. Anything else is a problem, recorded.
   */
  class Watcher {
    sub!: TestSubscription;
    base = 0;
    version = 0;
    state = new Map<string, SeatState>();
    readonly problems: string[] = [];
    readonly lost: Array<{ code: unknown; at: number }> = [];
    readonly heldByMe = new Set<string>();
    /** The events applied, in order. */
    readonly history: SeatEvent[] = [];

    constructor(
      readonly name: string,
      readonly gatewayUrl: string,
      readonly showtimeId: string,
      readonly user?: string,
    ) {}

    /** Subscribes and waits until the subscription delivers, then takes the snapshot. */
    async start(pinger: Pinger): Promise<void> {
      for (;;) {
        this.sub = subscribe(
          this.gatewayUrl,
          SEAT_UPDATES,
          { showtimeId: this.showtimeId },
          this.user ? t.token(this.user) : undefined,
        );
        subs.push(this.sub);
        await waitFor(
          async () => {
            if (this.sub.pending > 0 || this.sub.ended) return true;
            await pinger.ping();
            return false;
          },
          `${this.name}: a first event`,
          RECOVERY_MS,
        );
        const first = this.sub.pending > 0 ? await this.sub.next() : undefined;
        if (!first || first.errors) {
          // Not in place yet (the cluster still failing over): told, so try again.
          this.told(first);
          await this.sub.close();
          continue;
        }
        const snapshot = await seatMap(this.showtimeId, this.user);
        this.base = this.version = snapshot.version;
        this.state = new Map(snapshot.seats.map((s) => [s.seatId, s]));
        this.apply(first);
        return;
      }
    }

    private told(result: Received | undefined): void {
      const code = result?.errors?.[0]?.extensions?.code;
      this.lost.push({ code, at: Date.now() });
      if (code !== 'SERVICE_UNAVAILABLE') {
        this.problems.push(
          `${this.name}: the feed ended with ${JSON.stringify(result?.errors ?? 'completion')}`,
        );
      }
    }

    private apply(result: Received): void {
      const event = result.data!.seatUpdates as SeatEvent;
      if (event.showtimeId !== this.showtimeId) {
        this.problems.push(`${this.name}: an event of ${event.showtimeId}`);
      }
      // Published before the snapshot was read: already in it.
      if (event.version <= this.base) return;
      this.history.push(event);
      if (event.version !== this.version + 1) {
        this.problems.push(`${this.name}: version ${event.version} after ${this.version}`);
      }
      this.version = event.version;
      for (const seat of event.seats) {
        this.state.set(seat.seatId, seat);
        if (seat.heldByMe) {
          if (!this.user) this.problems.push(`${this.name}: heldByMe while anonymous`);
          this.heldByMe.add(seat.seatId);
        }
      }
    }

    /**
     * Takes the next result: an event is applied, a lost feed is followed by a resubscription
     * and a fresh snapshot. Returns whether it had to resubscribe.
     */
    async step(pinger: Pinger): Promise<boolean> {
      // Completed without an error: as bad as silence, recorded by `told`.
      const result =
        this.sub.ended && this.sub.pending === 0 ? undefined : await this.sub.next(RECOVERY_MS);
      if (result && !result.errors) {
        this.apply(result);
        return false;
      }
      this.told(result);
      await this.sub.close();
      await this.start(pinger);
      return true;
    }

    /** Until the replay reaches `version` (true: it resubscribed, so it may be past it). */
    async drainTo(version: number, pinger: Pinger): Promise<boolean> {
      let resubscribed = false;
      while (this.version < version) resubscribed = (await this.step(pinger)) || resubscribed;
      return resubscribed;
    }

    /** Until this subscriber has an event newer than `version` (or resubscribed since). */
    async settleAfter(version: number, pinger: Pinger): Promise<void> {
      while (this.version <= version) {
        if (this.sub.pending === 0) await pinger.ping();
        if (this.sub.pending === 0 && !this.sub.ended) {
          await waitFor(
            async () => {
              if (this.sub.pending > 0 || this.sub.ended) return true;
              await pinger.ping();
              return false;
            },
            `${this.name}: an event after version ${version}`,
            RECOVERY_MS,
          );
        }
        if (await this.step(pinger)) return;
      }
    }
  }

  /**
   * Drains every subscriber to the final SeatMap and compares each replay with the snapshot
   * as its user sees it. A subscriber that had to resubscribe meanwhile changed the seat map
   * (its pings): then the final snapshot is taken again.
   */
  async function converge(showtimeId: string, watchers: Watcher[], ping: Pinger) {
    for (let round = 0; round < 4; round++) {
      const final = await seatMap(showtimeId);
      let again = false;
      for (const w of watchers) again = (await w.drainTo(final.version, ping)) || again;
      if (again) continue;
      for (const w of watchers) {
        const own = w.user ? await seatMap(showtimeId, w.user) : final;
        expect(own.version).toBe(final.version);
        expect({
          who: w.name,
          version: w.version,
          seats: view(w.state.values()),
        }).toEqual({
          who: w.name,
          version: final.version,
          seats: view(own.seats),
        });
      }
      return final;
    }
    throw new Error('subscribers kept losing their feed');
  }

  // ------------------------------------------------------------------------------ the rush

  interface Ledger {
    /** Seats each user was told it holds (and has not released since). */
    sure: Map<string, Set<string>>;
    /** Seats whose outcome a user was not told (an error that is not a definite refusal). */
    maybe: Map<string, Set<string>>;
    /** Every seat each user asked for. */
    tried: Map<string, Set<string>>;
    outcomes: Record<string, number>;
    problems: string[];
    acks: number;
    /** When each successful hold was sent and answered. */
    ackTimes: Array<{ sent: number; answered: number }>;
    /** When each call that failed without a definite answer was sent. */
    failureTimes: number[];
    /** Every call and its answer, for the message of a failed check. */
    journal: string[];
    /** What happened to the cluster meanwhile (a kill, its end), for the same messages. */
    marks: string[];
    started: number;
  }

  const newLedger = (users: string[]): Ledger => ({
    sure: new Map(users.map((u) => [u, new Set()])),
    maybe: new Map(users.map((u) => [u, new Set()])),
    tried: new Map(users.map((u) => [u, new Set()])),
    outcomes: {},
    problems: [],
    acks: 0,
    ackTimes: [],
    failureTimes: [],
    journal: [],
    marks: [],
    started: Date.now(),
  });

  /** The calls that named `seat`, in the order they were answered. */
  const historyOf = (ledger: Ledger, seat: string) =>
    [...ledger.journal.filter((line) => line.includes(seat)), ...ledger.marks].join('; ');

  /**
   * One user's part of a rush, one call at a time: mostly holds of 1–2 seats of `pool`,
   * sometimes a release of one of its seats, through its gateway; every answer recorded.
   */
  async function rushUser(
    user: string,
    gatewayUrl: string,
    showtimeId: string,
    pool: string[],
    rnd: () => number,
    ledger: Ledger,
    more: (calls: number) => boolean,
    onAck: () => void = () => {},
  ): Promise<void> {
    const sure = ledger.sure.get(user)!;
    const maybe = ledger.maybe.get(user)!;
    const tried = ledger.tried.get(user)!;
    const count = (what: string) => (ledger.outcomes[what] = (ledger.outcomes[what] ?? 0) + 1);
    const note = (what: string, seats: string[], sent: number, outcome: string) =>
      ledger.journal.push(
        `${user} ${what} [${seats.join(',')}] sent +${sent - ledger.started}ms: ` +
          `${outcome} +${Date.now() - ledger.started}ms`,
      );
    for (let calls = 0; more(calls); calls++) {
      const mine = [...sure];
      const sent = Date.now();
      if (mine.length >= 2 && rnd() < 0.3) {
        const seat = mine[Math.floor(rnd() * mine.length)];
        const res = await call(gatewayUrl, RELEASE, { showtimeId, seatIds: [seat] }, user);
        note(
          'release',
          [seat],
          sent,
          res.ok
            ? `released [${res.data.releaseSeats.seats.map((s: SeatState) => s.seatId)}]`
            : res.code,
        );
        sure.delete(seat);
        if (res.ok) {
          count('release ok');
          const released = res.data.releaseSeats.seats.map((s: SeatState) => s.seatId);
          if (!released.includes(seat)) {
            ledger.problems.push(
              `${user}: was told it held ${seat}, the release found none (${historyOf(ledger, seat)})`,
            );
          }
          maybe.delete(seat);
        } else {
          count(`release ${res.code}`);
          ledger.failureTimes.push(sent);
          maybe.add(seat);
        }
        continue;
      }
      const free = pool.filter((s) => !sure.has(s));
      const want = Math.min(1 + Math.floor(rnd() * 2), 8 - sure.size);
      const seats: string[] = [];
      while (seats.length < want && free.length > 0) {
        seats.push(free.splice(Math.floor(rnd() * free.length), 1)[0]);
      }
      if (seats.length === 0) continue;
      seats.forEach((s) => tried.add(s));
      const res = await call(gatewayUrl, HOLD, { showtimeId, seatIds: seats }, user);
      note('hold', seats, sent, res.ok ? 'ok' : res.code);
      if (res.ok) {
        count('hold ok');
        const answered = res.data.holdSeats.seats as SeatState[];
        for (const seat of seats) {
          const state = answered.find((s) => s.seatId === seat);
          if (state?.status !== 'HELD' || !state.heldByMe) {
            ledger.problems.push(`${user}: hold of ${seat} answered ${JSON.stringify(state)}`);
          }
          sure.add(seat);
          maybe.delete(seat);
        }
        ledger.acks += 1;
        ledger.ackTimes.push({ sent, answered: Date.now() });
        onAck();
      } else {
        count(`hold ${res.code}`);
        if (!DEFINITE_REFUSALS.has(res.code)) {
          ledger.failureTimes.push(sent);
          seats.forEach((s) => maybe.add(s));
        }
      }
    }
  }

  /**
   * What every user holds now, as each sees it: no seat held by two, every held seat one
   * of a user's, what each was told it holds still held, nothing held it never asked for.
   */
  async function checkHolds(showtimeId: string, final: Snapshot, ledger: Ledger, ping: Pinger) {
    const owners = new Map<string, string[]>();
    const problems: string[] = [...ledger.problems];
    for (const user of [...ledger.sure.keys(), ping.user]) {
      const own = await seatMap(showtimeId, user);
      if (own.version !== final.version) problems.push(`${user}: saw version ${own.version}`);
      const held = own.seats.filter((s) => s.heldByMe).map((s) => s.seatId);
      for (const seat of held) owners.set(seat, [...(owners.get(seat) ?? []), user]);
      if (user === ping.user) continue;
      const sure = ledger.sure.get(user)!;
      const maybe = ledger.maybe.get(user)!;
      for (const seat of sure) {
        if (!held.includes(seat)) {
          problems.push(
            `${user}: was told it holds ${seat}, it does not (${historyOf(ledger, seat)})`,
          );
        }
      }
      for (const seat of held) {
        if (!sure.has(seat) && !maybe.has(seat)) {
          problems.push(`${user}: holds ${seat} without having been told or left unsure`);
        }
      }
    }
    for (const [seat, users] of owners) {
      if (users.length > 1) problems.push(`${seat} held by ${users.join(' and ')}`);
    }
    const heldSeats = final.seats.filter((s) => s.status === 'HELD').map((s) => s.seatId);
    expect(new Set(heldSeats)).toEqual(new Set(owners.keys()));
    expect(problems).toEqual([]);
  }

  /** Subscribers on both gateways, anonymous and signed in (as rush users). */
  function watchersFor(showtimeId: string, users: string[]): Watcher[] {
    return [
      new Watcher('anonymous@gw1', gateways[0], showtimeId),
      new Watcher(`${users[0]}@gw1`, gateways[0], showtimeId, users[0]),
      new Watcher('anonymous@gw2', gateways[1], showtimeId),
      new Watcher(`${users[1]}@gw2`, gateways[1], showtimeId, users[1]),
    ];
  }

  function checkWatchers(watchers: Watcher[], ledger: Ledger): void {
    const problems = watchers.flatMap((w) => w.problems);
    for (const w of watchers.filter((w) => w.user)) {
      for (const seat of w.heldByMe) {
        if (!ledger.tried.get(w.user!)!.has(seat)) {
          problems.push(`${w.name}: heldByMe for ${seat}, which it never asked for`);
        }
      }
    }
    expect(problems).toEqual([]);
  }

  it('a seat rush through two gateways: no seat held twice, every subscriber gapless and converged', async () => {
    const { showtime, free } = upcomingShowtime(0);
    const [pingSeat, ...rest] = free;
    const pool = rest.slice(0, 24);
    const users = Array.from({ length: 20 }, (_, i) => `user_rush_${i}`);
    const ping = pinger(showtime.id, pingSeat, 'user_rush_ping');
    const watchers = watchersFor(showtime.id, users);
    await Promise.all(watchers.map((w) => w.start(ping)));

    const ledger = newLedger(users);
    await Promise.all(
      users.map((user, i) =>
        rushUser(
          user,
          gateways[i % 2],
          showtime.id,
          pool,
          random(1000 + i),
          ledger,
          (calls) => calls < 4,
        ),
      ),
    );
    expect(ledger.acks).toBeGreaterThan(5);
    // No failure here: every call is answered, granted or refused for good.
    expect(
      Object.keys(ledger.outcomes).filter((o) => !/ ok$|SEAT_UNAVAILABLE|HOLD_LIMIT/.test(o)),
    ).toEqual([]);

    const final = await converge(showtime.id, watchers, ping);
    expect(watchers.every((w) => w.lost.length === 0)).toBe(true);
    checkWatchers(watchers, ledger);
    await checkHolds(showtime.id, final, ledger, ping);
  });

  it('a primary killed mid-rush (the showtime slot owner, then a pub/sub subscriber node): nothing held twice or lost, subscribers told or gapless, holds work again', async () => {
    const { showtime, free } = upcomingShowtime(1);
    const [pingSeat, afterSeat, afterSeat2, ...rest] = free;
    const pool = rest.slice(0, 30);
    const users = Array.from({ length: 12 }, (_, i) => `user_fail_${i}`);
    const ping = pinger(showtime.id, pingSeat, 'user_fail_ping');
    const watchers = watchersFor(showtime.id, users);
    await Promise.all(watchers.map((w) => w.start(ping)));

    const subscribedOn = await subscriberNodes(showtime.id);
    figures.slotOwner = await cluster.primaryOf(versionKey(showtime.id));
    figures.subscriberNodesBefore = [...subscribedOn.keys()].join(',');

    // The rush goes on while the primary owning the showtime's slot is killed: from the 10th
    // granted hold, each user keeps going until the cluster is back and it made 2 more calls.
    const ledger = newLedger(users);
    let killedAt = 0;
    let failedOverAt = 0;
    let failover: Promise<void> | undefined;
    const callsAfter = new Map<string, number>();
    const startFailover = () => {
      if (failover || ledger.acks < 8) return;
      killedAt = Date.now();
      ledger.marks.push(`failover of the slot's primary from +${killedAt - ledger.started}ms`);
      failover = cluster.failover({ key: versionKey(showtime.id) }).then(() => {
        failedOverAt = Date.now();
        ledger.marks.push(`cluster ok at +${failedOverAt - ledger.started}ms`);
      });
      failovers.push(failover);
    };
    await Promise.all(
      users.map((user, i) =>
        rushUser(
          user,
          gateways[i % 2],
          showtime.id,
          pool,
          random(2000 + i),
          ledger,
          (calls) => {
            if (calls >= 80) return false;
            if (!failedOverAt) return true;
            const after = (callsAfter.get(user) ?? 0) + 1;
            callsAfter.set(user, after);
            return after <= 2;
          },
          startFailover,
        ),
      ),
    );
    figures.rushOutcomes = JSON.stringify(ledger.outcomes);
    await failover;
    // A failover may fail a call, but only as retryable SERVICE_UNAVAILABLE, never as a bug.
    expect(
      Object.keys(ledger.outcomes).filter(
        (o) => !/ ok$|SEAT_UNAVAILABLE|HOLD_LIMIT|SERVICE_UNAVAILABLE/.test(o),
      ),
    ).toEqual([]);
    expect(failover).toBeDefined();
    figures.failoverMs = failedOverAt - killedAt;
    // What the rush saw: from its first failed call to the first hold sent after it that
    // was granted.
    const firstFailure = Math.min(...ledger.failureTimes);
    const backAt = ledger.ackTimes.find((a) => a.sent > firstFailure);
    figures.rushOutageMs = backAt ? backAt.answered - firstFailure : 'not within the rush';

    // A hold made after the failover works within a bounded wait.
    const pollStarted = Date.now();
    const recovered = await waitFor(
      async () => {
        const res = await call(
          gateways[1],
          HOLD,
          { showtimeId: showtime.id, seatIds: [afterSeat] },
          users[3],
        );
        return res.ok || (res.code === 'SEAT_UNAVAILABLE' ? res.code : undefined);
      },
      'a hold after the failover',
      RECOVERY_MS,
    );
    expect(recovered).toBe(true);
    ledger.sure.get(users[3])!.add(afterSeat);
    ledger.tried.get(users[3])!.add(afterSeat);
    figures.holdAfterFailoverPolledMs = Date.now() - pollStarted;

    // Every subscriber either flowed on or was told and came back (the pings show it).
    const mark = (await seatMap(showtime.id)).version;
    await Promise.all(watchers.map((w) => w.settleAfter(mark, ping)));
    figures.subscribersToldAfterSlotFailover = watchers.filter((w) => w.lost.length > 0).length;
    const final = await converge(showtime.id, watchers, ping);
    checkWatchers(watchers, ledger);
    await checkHolds(showtime.id, final, ledger, ping);

    // Then the node a cinemas instance's pub/sub subscriber sits on goes: a primary with a
    // replica fails over, a replica just dies (a promoted primary has no replica left).
    const nodes = [...(await subscriberNodes(showtime.id)).keys()];
    figures.subscriberNodesAfter = nodes.join(',');
    const topology = await clusterLines();
    const kind = (port: number) => {
      const line = topology.find((l) => l.port === port)!;
      if (!line.primary) return 'replica';
      return topology.some((l) => l.primaryId === line.id && !l.failed) ? 'primary' : 'alone';
    };
    const victim =
      nodes.find((port) => kind(port) === 'primary') ??
      nodes.find((port) => kind(port) === 'replica');
    if (victim !== undefined && kind(victim) === 'primary') {
      const started = Date.now();
      await cluster.failover(victim);
      figures.subscriberNodeKilled = `primary ${victim}`;
      figures.subscriberNodeFailoverMs = Date.now() - started;
    } else if (victim !== undefined) {
      await killReplica(victim);
      figures.subscriberNodeKilled = `replica ${victim}`;
    }
    if (victim === undefined) {
      figures.subscriberNodeKilled = `none: subscribers only on primaries without a replica`;
    }
    const killedSubscriberAt = Date.now();
    const toldBefore = watchers.map((w) => w.lost.length);
    // A hold right after works (polled: the slot may have moved).
    await waitFor(
      async () =>
        (
          await call(
            gateways[0],
            HOLD,
            { showtimeId: showtime.id, seatIds: [afterSeat2] },
            users[4],
          )
        ).ok,
      'a hold after the subscriber node went',
      RECOVERY_MS,
    );
    ledger.sure.get(users[4])!.add(afterSeat2);
    ledger.tried.get(users[4])!.add(afterSeat2);
    const mark2 = (await seatMap(showtime.id)).version;
    await Promise.all(watchers.map((w) => w.settleAfter(mark2, ping)));
    figures.subscribersBackAfterSubscriberNodeMs = Date.now() - killedSubscriberAt;
    figures.subscribersToldInAll = watchers.map((w) => w.lost.length).join(',');
    if (victim !== undefined) {
      // Whoever listened through that node was told, not left silent.
      expect(watchers.some((w, i) => w.lost.length > toldBefore[i])).toBe(true);
    }
    const final2 = await converge(showtime.id, watchers, ping);
    checkWatchers(watchers, ledger);
    await checkHolds(showtime.id, final2, ledger, ping);
  });

  it('a short hold expires on the cluster and AVAILABLE reaches the subscribers of both gateways', async () => {
    const { showtime, free } = upcomingShowtime(2);
    const [pingSeat, a, b] = free;
    const ping = pinger(showtime.id, pingSeat, 'user_exp_ping');
    const watchers = [
      new Watcher('anonymous@gw1', gateways[0], showtime.id),
      new Watcher('user_exp@gw2', gateways[1], showtime.id, 'user_exp'),
    ];
    await Promise.all(watchers.map((w) => w.start(ping)));
    // Through the instance that holds for 2 s; the sweepers of all three may release it.
    const held = await waitFor(async () => {
      const res = await call(
        shortTtlGateway,
        HOLD,
        { showtimeId: showtime.id, seatIds: [a, b] },
        'user_exp',
      );
      return res.ok ? res.data : undefined;
    }, 'the short hold');
    expect(Date.parse(held.holdSeats.expiresAt) - Date.now()).toBeLessThanOrEqual(2000);
    const heldAt = Date.now();
    const statusOf = (w: Watcher, seat: string) =>
      w.history.flatMap((e) => e.seats.filter((s) => s.seatId === seat).map((s) => s.status));
    for (const w of watchers) {
      while (!(statusOf(w, a).at(-1) === 'AVAILABLE' && statusOf(w, b).at(-1) === 'AVAILABLE')) {
        await w.step(ping);
      }
      expect(w.lost).toEqual([]);
      expect(w.problems).toEqual([]);
      // HELD (heldByMe for the holder only), then AVAILABLE: the expiry, published once.
      expect([statusOf(w, a), statusOf(w, b)]).toEqual([
        ['HELD', 'AVAILABLE'],
        ['HELD', 'AVAILABLE'],
      ]);
      expect(w.state.get(a)).toEqual({
        seatId: a,
        status: 'AVAILABLE',
        heldByMe: false,
      });
      expect(w.heldByMe.has(a)).toBe(w.user === 'user_exp');
    }
    figures.expiryBroadcastMs = Date.now() - heldAt;
    const map = await seatMap(showtime.id);
    expect(view(map.seats.filter((s) => s.seatId === a || s.seatId === b))).toEqual({
      [a]: 'AVAILABLE',
      [b]: 'AVAILABLE',
    });
  });
});
