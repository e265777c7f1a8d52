/**
 * Child process of the multi-process benchmarks (`topology.ts`): runs ONE part of the
 * topology, named by its first message, so that each part's CPU time and memory can be read
 * alone and the load generator (the parent) does not share its event loop:
 *
 *   stack    the whole supergraph (four subgraphs and a gateway) over fresh databases
 *            seeded with the demo data, as `startTestStack` does; it owns the databases
 *            and Redis keys and drops them when stopped;
 *   cinemas  one more cinemas subgraph instance on the stack's databases and Redis;
 *   gateway  one more gateway, in front of the stack's subgraphs (and a cinemas instance).
 * The last two run with the production settings of the stack's configuration.
 *
 * Parent → child: `start` (once), `cpu` (reply: this process's CPU time), `memory` (reply:
 * `process.memoryUsage()`, after a full GC when forked with --expose-gc), `stop`.
 * Child → parent: `ready` (with the stack's configuration and the token-signing key for
 * `stack`), `error`, and one answer per request. A child stops (the stack dropping its
 * databases) when asked, on SIGINT/SIGTERM and when the parent goes away.
 */
import 'reflect-metadata';
import { startGateway } from '../../gateway/src/gateway';
import { withOverrides, type AppConfig } from '../../runtime/config';
import { startSubgraph } from '../../runtime/subgraph-server';
import { cinemasSubgraph } from '../../subgraphs/cinemas/src/schema';
import { startTestStack, testKeys } from '../../tests/support/test-stack';

/** What a part is started with. */
export type StartMessage =
  | { type: 'start'; role: 'stack'; env: Record<string, string> }
  | { type: 'start'; role: 'cinemas'; config: AppConfig }
  | { type: 'start'; role: 'gateway'; config: AppConfig };

export type ToServiceMessage =
  StartMessage | { type: 'cpu' } | { type: 'memory' } | { type: 'stop' };

export interface ServiceReady {
  type: 'ready';
  /** The part's own URL: the gateway's `/graphql`, or the cinemas subgraph's. */
  url: string;
  /** `stack` only: the configuration every other part starts from. */
  config?: AppConfig;
  /** `stack` only: the key the gateways verify tokens with, for the parent to mint with. */
  privateKeyPem?: string;
  gcExposed: boolean;
}

export interface ServiceMemory {
  type: 'memory';
  rss: number;
  heapUsed: number;
  external: number;
  gcRan: boolean;
}

export type FromServiceMessage =
  | ServiceReady
  | ServiceMemory
  | { type: 'cpu'; micros: number }
  | { type: 'error'; message: string };

const send = (message: FromServiceMessage): void => {
  if (process.connected) process.send?.(message);
};

const gc = (globalThis as { gc?: () => void }).gc;
let stopRunning: (() => Promise<void>) | undefined;
let starting: Promise<void> | undefined;
let stopping: Promise<void> | undefined;

function stopAndExit(code = 0): Promise<void> {
  stopping ??= (async () => {
    try {
      await starting?.catch(() => undefined);
      await stopRunning?.();
    } catch (err) {
      code = 1;
      process.stderr.write(`bench service: stop failed: ${(err as Error).stack ?? String(err)}\n`);
    }
    process.exit(code);
  })();
  return stopping;
}

async function start(message: StartMessage): Promise<void> {
  if (message.role === 'stack') {
    const stack = await startTestStack({ env: message.env });
    stopRunning = () => stack.stop();
    send({
      type: 'ready',
      url: stack.gatewayUrl,
      config: withOverrides(stack.config, {
        subgraphUrls: Object.fromEntries(
          Object.values(stack.stack.subgraphs).map((s) => [s.name, s.url]),
        ),
      }),
      privateKeyPem: testKeys().privateKeyPem,
      gcExposed: Boolean(gc),
    });
    return;
  }
  // The configuration came over IPC as JSON: frozen again by withOverrides. The parts under
  // load run as in production: the stack's test configuration would also turn on what only
  // tests need (statement counting through async context tracking, which costs on every
  // promise) and unmasked errors.
  const config = withOverrides(message.config, {
    http: { host: '127.0.0.1', port: 0 },
    env: 'production',
    isProduction: true,
  });
  if (message.role === 'cinemas') {
    const cinemas = await startSubgraph(cinemasSubgraph, config);
    stopRunning = () => cinemas.stop();
    send({ type: 'ready', url: cinemas.url, gcExposed: Boolean(gc) });
    return;
  }
  const gateway = await startGateway(config);
  stopRunning = () => gateway.stop();
  send({
    type: 'ready',
    url: `http://127.0.0.1:${gateway.port}/graphql`,
    gcExposed: Boolean(gc),
  });
}

process.on('message', (message: ToServiceMessage) => {
  if (message.type === 'start') {
    starting = start(message);
    starting.catch(async (err: Error) => {
      send({ type: 'error', message: err.stack ?? String(err) });
      await stopAndExit(1);
    });
  } else if (message.type === 'cpu') {
    const usage = process.cpuUsage();
    send({ type: 'cpu', micros: usage.user + usage.system });
  } else if (message.type === 'memory') {
    if (gc) {
      gc();
      gc();
    }
    const m = process.memoryUsage();
    send({
      type: 'memory',
      rss: m.rss,
      heapUsed: m.heapUsed,
      external: m.external,
      gcRan: Boolean(gc),
    });
  } else if (message.type === 'stop') {
    void stopAndExit(0);
  }
});
process.on('disconnect', () => void stopAndExit(1));
process.on('SIGINT', () => void stopAndExit(130));
process.on('SIGTERM', () => void stopAndExit(143));
