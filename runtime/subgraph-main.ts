import { loadConfig } from './config';
import { exitOnStartupError, stopOnSignals } from './lifecycle';
import { createLogger } from './logger';
import { startSubgraph, type AnySubgraphDefinition } from './subgraph-server';

/** Entry point of a subgraph run alone: configuration from the environment, then serve. */
export function runSubgraphProcess(definition: AnySubgraphDefinition): void {
  const bootLog = createLogger(definition.name, 'info');
  (async () => {
    const config = loadConfig(definition.name);
    const running = await startSubgraph(definition, config);
    stopOnSignals(bootLog, [running.stop]);
  })().catch((err: unknown) => exitOnStartupError(bootLog, err));
}
