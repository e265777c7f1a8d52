import { startGateway } from '../gateway/src/gateway';
import { withOverrides, type AppConfig, type SubgraphName } from '../runtime/config';
import type { RunningService } from '../runtime/lifecycle';
import { startSubgraph, type RunningSubgraph } from '../runtime/subgraph-server';
import { ALL_SUBGRAPHS } from './subgraphs';

export interface Stack {
  readonly gateway: RunningService;
  readonly subgraphs: Record<SubgraphName, RunningSubgraph>;
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
  try {
    for (const definition of ALL_SUBGRAPHS) {
      const own = withOverrides(config, { http: { host: '127.0.0.1', port: 0 } });
      started.push(await startSubgraph(definition, own));
    }
    const subgraphs = Object.fromEntries(started.map((s) => [s.name, s])) as Record<
      SubgraphName,
      RunningSubgraph
    >;
    const gateway = await startGateway(
      withOverrides(config, {
        http: { port: gatewayPort },
        subgraphUrls: Object.fromEntries(started.map((s) => [s.name, s.url])),
      }),
    );
    return {
      gateway,
      subgraphs,
      stop: async () => {
        await gateway.stop();
        await Promise.all(started.map((s) => s.stop()));
      },
    };
  } catch (err) {
    await Promise.all(started.map((s) => s.stop().catch(() => {})));
    throw err;
  }
}
