import { startGateway } from '../gateway/src/gateway';
import { withOverrides, type AppConfig, type SubgraphName } from '../runtime/config';
import type { RunningService } from '../runtime/lifecycle';
import { startSubgraph, type RunningSubgraph } from '../runtime/subgraph-server';
import { ALL_SUBGRAPHS } from './subgraphs';

export interface Stack {
  readonly gateway: RunningService;
  readonly subgraphs: Record<SubgraphName, RunningSubgraph>;
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
  try {
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
    return {
      gateway,
      subgraphs,
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
      },
    };
  } catch (err) {
    await Promise.all(started.map((s) => s.stop().catch(() => {})));
    throw err;
  }
}
