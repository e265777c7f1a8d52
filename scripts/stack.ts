import { startGateway } from '../gateway/src/gateway';
import { withOverrides, type AppConfig, type SubgraphName } from '../runtime/config';
import type { RunningService } from '../runtime/lifecycle';
import { startSubgraph, type RunningSubgraph } from '../runtime/subgraph-server';
import { ALL_SUBGRAPHS } from './subgraphs';
import { startVnpaySimulator, type VnpaySimulator } from './vnpay-simulator/vnpay-simulator';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * A port free right now, for a gateway asked to listen on "any" port whose address must be
 * known before it starts (VNPay's return URL is signed into every pay URL). Chosen below the
 * kernel's ephemeral range: a port the kernel hands out as free (`listen(0)`) is also one it
 * may give any outgoing connection as its local port before the gateway listens, seconds
 * later, once the subgraphs have started (CI saw EADDRINUSE that way, with other stacks
 * connecting in parallel). Random, probed; the kernel's own pick if none is found.
 */
export async function freePort(): Promise<number> {
  const below = ephemeralRangeStart();
  for (let attempt = 0; attempt < 20 && below > LOWEST_PICKED_PORT; attempt++) {
    const port = LOWEST_PICKED_PORT + Math.floor(Math.random() * (below - LOWEST_PICKED_PORT));
    if ((await probe(port)) !== undefined) return port;
  }
  const port = await probe(0);
  if (port === undefined) throw new Error('no free port to listen on');
  return port;
}

/** Ports picked by {@link freePort} start here (above the well-known and common ones). */
const LOWEST_PICKED_PORT = 10_000;

/** The first local port of outgoing connections (Linux; 32768 elsewhere, its default). */
function ephemeralRangeStart(): number {
  try {
    const first = Number(
      readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').split(/\s+/)[0],
    );
    return Number.isInteger(first) && first > 0 ? first : 32_768;
  } catch {
    return 32_768;
  }
}

/** Listens on `port` (0: the kernel's pick) and closes again: the port, or undefined if taken. */
function probe(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, () => {
      const { port: bound } = server.address() as { port: number };
      server.close(() => resolve(bound));
    });
  });
}

export interface Stack {
  readonly gateway: RunningService;
  readonly subgraphs: Record<SubgraphName, RunningSubgraph>;
  /**
   * The local VNPay simulator, when no VNPay was configured (`config.vnpay.simulated`): its
   * pay page approves or declines and calls the gateway's IPN route, as VNPay would.
   */
  readonly vnpay?: VnpaySimulator;
  /** Starts a (stopped) subgraph again on its port and database: a restart of its process. */
  restartSubgraph(name: SubgraphName): Promise<RunningSubgraph>;
  /** Gateway first (drains clients), then the subgraphs and their connections. */
  stop(): Promise<void>;
}

/**
 * The whole supergraph in this process: the four subgraphs on free local ports and the
 * gateway pointed at them. Used by the embedded default, the end-to-end tests and benchmarks.
 */
export async function startStack(
  config: AppConfig,
  gatewayPort = config.http.port,
): Promise<Stack> {
  const started: RunningSubgraph[] = [];
  let vnpay: VnpaySimulator | undefined;
  try {
    if (config.vnpay.simulated) {
      gatewayPort ||= await freePort();
      vnpay = await startVnpaySimulator({
        tmnCode: config.vnpay.tmnCode,
        hashSecret: config.vnpay.hashSecret,
        host: '127.0.0.1',
        // Told once the gateway listens (below); until then nobody can have paid.
        ipnUrl: `http://127.0.0.1:${gatewayPort}/payments/vnpay/ipn`,
      });
      config = withOverrides(config, {
        vnpay: {
          payUrl: vnpay.payUrl,
          apiUrl: vnpay.apiUrl,
          returnUrl: `http://localhost:${gatewayPort}/payments/vnpay/return`,
        },
      });
    }
    // In dependency order: each subgraph learns where the ones started before it listen.
    for (const definition of ALL_SUBGRAPHS) {
      const own = withOverrides(config, {
        http: { host: '127.0.0.1', port: 0 },
        subgraphUrls: Object.fromEntries(started.map((s) => [s.name, s.url])),
      });
      started.push(await startSubgraph(definition, own));
    }
    const subgraphs = Object.fromEntries(started.map((s) => [s.name, s])) as Record<
      SubgraphName,
      RunningSubgraph
    >;
    const urls = Object.fromEntries(started.map((s) => [s.name, s.url]));
    const gateway = await startGateway(
      withOverrides(config, {
        http: { port: gatewayPort },
        subgraphUrls: urls,
      }),
    );
    vnpay?.setIpnUrl(`http://127.0.0.1:${gateway.port}/payments/vnpay/ipn`);
    return {
      gateway,
      subgraphs,
      vnpay,
      restartSubgraph: async (name) => {
        const definition = ALL_SUBGRAPHS.find((d) => d.name === name)!;
        await subgraphs[name].stop();
        const again = await startSubgraph(
          definition,
          withOverrides(config, {
            http: { host: '127.0.0.1', port: subgraphs[name].port },
            subgraphUrls: urls,
          }),
        );
        subgraphs[name] = again;
        started.push(again);
        return again;
      },
      stop: async () => {
        await gateway.stop();
        await Promise.all(started.map((s) => s.stop()));
        await vnpay?.stop();
      },
    };
  } catch (err) {
    await Promise.all(started.map((s) => s.stop().catch(() => {})));
    await vnpay?.stop().catch(() => {});
    throw err;
  }
}
