/**
 * The multi-process topology of the hold and fan-out benchmarks: a `stack` process (the
 * whole supergraph over fresh seeded databases, which the load does not go through), then N
 * pairs of one cinemas instance and one gateway in front of it, each in its own process
 * (`service-process.ts`), so that what one hold or one delivery costs can be read per process.
 * Everything is stopped (databases dropped) whatever happens, also on SIGINT/SIGTERM.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { withOverrides, type AppConfig } from '../../runtime/config';
import { SERVER_NODE_OPTIONS } from '../../runtime/node-options';
import { hostBusyPercent, hostTimes } from '../common/machine';
import { round } from '../common/report';
import type { RoundedCpu } from '../seats/figures';
import type {
  FromServiceMessage,
  ServiceMemory,
  ServiceReady,
  StartMessage,
} from './service-process';

/** One running part: its URL, and its CPU time and memory on request. */
export interface ServiceHandle {
  readonly name: string;
  readonly url: string;
  readonly pid: number;
  /** CPU time (user + system) of the process so far, in µs. */
  cpuMicros(): Promise<number>;
  /** Its memory, after a full GC when forked with --expose-gc. */
  memory(): Promise<ServiceMemory>;
  stop(): Promise<void>;
}

export interface Topology {
  readonly stack: ServiceHandle;
  readonly config: AppConfig;
  readonly privateKeyPem: string;
  /** The gateways the load goes through, each in front of its own cinemas instance. */
  readonly gateways: readonly ServiceHandle[];
  readonly cinemas: readonly ServiceHandle[];
  stop(): Promise<void>;
}

export interface TopologyOptions {
  /** Pairs of (cinemas, gateway) processes. */
  pairs: number;
  /** Environment of the stack (limits lifted for the load), inherited by every part. */
  env: Record<string, string>;
  /** Fork with --expose-gc, so that `memory()` is read after a full collection. */
  exposeGc?: boolean;
  /** Node options of the cinemas and gateway processes only (e.g. --cpu-prof). */
  profileArgs?: string[];
}

let interrupted = false;
const running = new Set<() => Promise<void>>();

/** Set on SIGINT/SIGTERM: nothing is printed or written after it. */
export const isInterrupted = (): boolean => interrupted;

function onSignal(): void {
  if (interrupted) return;
  interrupted = true;
  process.stderr.write('\nbench: interrupted; stopping every process (dropping databases)...\n');
  void Promise.all([...running].map((stop) => stop())).finally(() => process.exit(130));
}

function startService(
  name: string,
  start: StartMessage,
  execArgv: string[],
): Promise<ServiceHandle & { ready: ServiceReady }> {
  const child: ChildProcess = fork(join(__dirname, 'service-process.js'), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv,
    // Libraries run as in production (graphql-js skips its development-only checks); the
    // services' own configuration comes from the stack's, NODE_ENV=test (quiet logs).
    env: { ...process.env, NODE_ENV: 'production' },
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const waiting: {
    cpu: Array<(micros: number) => void>;
    memory: Array<(m: ServiceMemory) => void>;
  } = { cpu: [], memory: [] };
  const stop = async (): Promise<void> => {
    running.delete(stop);
    if (child.exitCode !== null || child.signalCode !== null) return;
    if (child.connected) child.send({ type: 'stop' });
    else child.kill('SIGTERM');
    const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 120_000).unref());
    if ((await Promise.race([exited, timeout])) === 'timeout') {
      process.stderr.write(`bench: ${name} did not stop within 120 s; killing it\n`);
      child.kill('SIGKILL');
      await exited;
    }
  };
  running.add(stop);
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) =>
      reject(new Error(`${name} exited (code ${code}) before it was ready`));
    child.once('exit', onExit);
    child.on('message', (message: FromServiceMessage) => {
      if (message.type === 'ready') {
        child.off('exit', onExit);
        resolve({
          name,
          url: message.url,
          pid: child.pid!,
          ready: message,
          stop,
          cpuMicros: () =>
            new Promise((done) => {
              waiting.cpu.push(done);
              child.send({ type: 'cpu' });
            }),
          memory: () =>
            new Promise((done) => {
              waiting.memory.push(done);
              child.send({ type: 'memory' });
            }),
        });
      } else if (message.type === 'cpu') {
        waiting.cpu.shift()?.(message.micros);
      } else if (message.type === 'memory') {
        waiting.memory.shift()?.(message);
      } else if (message.type === 'error') {
        child.off('exit', onExit);
        reject(new Error(`${name} did not start:\n${message.message}`));
      }
    });
    child.send(start);
  });
}

/** Starts the stack, then the pairs (in parallel); stops what started if anything fails. */
export async function startTopology(options: TopologyOptions): Promise<Topology> {
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const gcArgs = options.exposeGc ? ['--expose-gc'] : [];
  const started: ServiceHandle[] = [];
  try {
    const stack = await startService('stack', { type: 'start', role: 'stack', env: options.env }, [
      ...process.execArgv,
      ...SERVER_NODE_OPTIONS,
      ...gcArgs,
    ]);
    started.push(stack);
    const config = stack.ready.config!;
    const partArgs = [
      ...process.execArgv,
      ...SERVER_NODE_OPTIONS,
      ...gcArgs,
      ...(options.profileArgs ?? []),
    ];
    const pairs = await Promise.all(
      Array.from({ length: options.pairs }, async (_, i) => {
        const cinemas = await startService(
          `cinemas ${i + 1}`,
          { type: 'start', role: 'cinemas', config },
          partArgs,
        );
        started.push(cinemas);
        const gateway = await startService(
          `gateway ${i + 1}`,
          {
            type: 'start',
            role: 'gateway',
            config: withOverrides(config, { subgraphUrls: { cinemas: cinemas.url } }),
          },
          partArgs,
        );
        started.push(gateway);
        return { cinemas, gateway };
      }),
    );
    return {
      stack,
      config,
      privateKeyPem: stack.ready.privateKeyPem!,
      gateways: pairs.map((p) => p.gateway),
      cinemas: pairs.map((p) => p.cinemas),
      // Gateways first (they drain clients), then the cinemas instances, then the stack.
      stop: async () => {
        await Promise.all(pairs.map((p) => p.gateway.stop()));
        await Promise.all(pairs.map((p) => p.cinemas.stop()));
        await stack.stop();
      },
    };
  } catch (err) {
    for (const service of started.reverse()) await service.stop().catch(() => undefined);
    throw err;
  }
}

/** CPU time of each process over a stretch of wall time: start it, then call what it answers. */
export async function cpuOf(
  services: readonly ServiceHandle[],
): Promise<() => Promise<{ name: string; micros: number; percent: number }[]>> {
  const before = await Promise.all(services.map((s) => s.cpuMicros()));
  const wallBefore = process.hrtime.bigint();
  return async () => {
    const after = await Promise.all(services.map((s) => s.cpuMicros()));
    const wallMicros = Number(process.hrtime.bigint() - wallBefore) / 1e3;
    return services.map((s, i) => ({
      name: s.name,
      micros: after[i] - before[i],
      percent: (100 * (after[i] - before[i])) / wallMicros,
    }));
  };
}

/**
 * CPU of the server processes over a window, in the form the seat benchmarks print:
 * `stackCpuPercent` is their sum (% of one core).
 */
export async function serversCpuWindow(
  services: readonly ServiceHandle[],
): Promise<() => Promise<RoundedCpu>> {
  const processes = await cpuOf(services);
  const client = process.cpuUsage();
  const host = hostTimes();
  const wall = process.hrtime.bigint();
  return async () => {
    const wallMicros = Number(process.hrtime.bigint() - wall) / 1e3;
    const used = process.cpuUsage(client);
    const servers = (await processes()).reduce((sum, p) => sum + p.percent, 0);
    return {
      stackCpuPercent: round(servers, 1),
      clientCpuPercent: round((100 * (used.user + used.system)) / wallMicros, 1),
      hostCpuPercent: round(hostBusyPercent(host, hostTimes()), 1),
    };
  };
}
