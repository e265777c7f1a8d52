import { startGateway } from '../gateway/src/gateway';
import { withOverrides, type AppConfig, type SubgraphName } from '../runtime/config';
import type { RunningService } from '../runtime/lifecycle';
import { startSubgraph, type RunningSubgraph } from '../runtime/subgraph-server';
import { ALL_SUBGRAPHS } from './subgraphs';
import { startVnpaySimulator, type VnpaySimulator } from './vnpay-simulator/vnpay-simulator';
import { createServer } from 'node:net';

/**
 * A port free right now, for a gateway asked to listen on "any" port whose address must be
 * known before it starts (VNPay's return URL is signed into every pay URL).
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
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
