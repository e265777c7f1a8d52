/**
 * What the seat benchmarks run against: the one stack process of `bench/common` (gateway and
 * subgraphs in one event loop, the default), or the multi-process topology of `bench/holds`
 * (`--gateways N`: N gateways, each in front of its own cinemas instance, on a stack
 * process), so that a fan-out over several gateways and the memory of a gateway alone can be
 * measured. Either way everything is stopped (databases dropped) whatever happens.
 */
import { Redis } from 'ioredis';
import { closeRedis } from '../../runtime/redis';
import { mintToken } from '../../scripts/dev-token';
import { isInterrupted as stackInterrupted, withStack } from '../common/stack';
import { tokenMinter } from '../holds/open-loop';
import {
  isInterrupted as topologyInterrupted,
  serversCpuWindow,
  startTopology,
} from '../holds/topology';
import type { FanOutTarget } from './fan-out';
import { cpuWindow } from './figures';
import type { RushTarget } from './seat-rush';
import { seatChannel } from '../../subgraphs/cinemas/src/seat/seat-topic';

export interface SeatTargets {
  readonly rush: RushTarget;
  readonly fanout: FanOutTarget;
  readonly mint: (userId: string) => string;
  readonly databasePoolSize: number;
  /** What the figures are of, for the report. */
  readonly topology: string;
}

/** Set on SIGINT/SIGTERM: nothing is printed or written after it. */
export const isInterrupted = (): boolean => stackInterrupted() || topologyInterrupted();

/** Runs `body` against `gateways` gateway processes (0: the one stack process). */
export async function withSeatTargets(
  gateways: number,
  env: Record<string, string>,
  body: (targets: SeatTargets) => Promise<void>,
  profileDir?: string,
): Promise<void> {
  if (gateways === 0) {
    await withStack({ exposeGc: true }, async (stack) => {
      const { privateKeyPem } = stack.ready;
      const urls = [stack.ready.gatewayUrl];
      await body({
        rush: { gatewayUrls: urls, cpuWindow: () => cpuWindow(stack) },
        fanout: {
          gatewayUrls: urls,
          memory: () => stack.memory(),
          redisSubscribers: (id) => stack.redisSubscribers(id),
          cpuWindow: () => cpuWindow(stack),
          // Gateway and subgraphs share the one process.
          deliveryCpuMicros: () => stack.cpuMicros(),
        },
        mint: (userId) => mintToken(privateKeyPem, { userId, expiresIn: 3 * 3600 }),
        databasePoolSize: stack.ready.databasePoolSize,
        topology: 'one stack process (gateway and subgraphs in one event loop)',
      });
    });
    return;
  }
  process.stderr.write(`bench: starting the stack and ${gateways} (cinemas, gateway) pairs...\n`);
  const topology = await startTopology({
    pairs: gateways,
    env,
    exposeGc: true,
    profileArgs: profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : undefined,
  });
  const redis = new Redis(topology.config.redis.url!);
  try {
    const urls = topology.gateways.map((g) => g.url);
    const servers = [...topology.gateways, ...topology.cinemas, topology.stack];
    await body({
      rush: { gatewayUrls: urls, cpuWindow: () => serversCpuWindow(servers) },
      fanout: {
        gatewayUrls: urls,
        // The gateways hold the subscribers; their cinemas instances hold one upstream each.
        memory: async () => {
          const each = await Promise.all(topology.gateways.map((g) => g.memory()));
          return {
            rss: each.reduce((sum, m) => sum + m.rss, 0),
            heapUsed: each.reduce((sum, m) => sum + m.heapUsed, 0),
            external: each.reduce((sum, m) => sum + m.external, 0),
            gcRan: each.every((m) => m.gcRan),
          };
        },
        redisSubscribers: async (id) => {
          const channel = seatChannel(topology.config.redis.keyPrefix, id);
          const reply = (await redis.call('PUBSUB', 'NUMSUB', channel)) as [string, number];
          return Number(reply[1]);
        },
        cpuWindow: () => serversCpuWindow(servers),
        deliveryCpuMicros: async () =>
          (await Promise.all(topology.gateways.map((g) => g.cpuMicros()))).reduce(
            (sum, micros) => sum + micros,
            0,
          ),
      },
      mint: tokenMinter(topology.privateKeyPem),
      databasePoolSize: topology.config.db.poolSize,
      topology: `${gateways} gateway process(es), each in front of its own cinemas process, on a stack process`,
    });
  } finally {
    await closeRedis(redis);
    if (!topologyInterrupted()) {
      process.stderr.write('bench: stopping every process (dropping the databases)...\n');
      await topology.stop();
    }
  }
}
