import { databaseUrlFor, loadConfig } from './config';
import {
  checkPostgresReachable,
  exitOnStartupError,
  installLastResortHandlers,
  stopOnSignals,
} from './lifecycle';
import { createLogger } from './logger';
import type { AnySubgraphDefinition } from './subgraph-definition';
import { startSubgraph } from './subgraph-server';

/** Entry point of a subgraph run alone: configuration from the environment, then serve. */
export function runSubgraphProcess(definition: AnySubgraphDefinition): void {
  const bootLog = createLogger(definition.name, 'info');
  installLastResortHandlers(bootLog);
  (async () => {
    const config = loadConfig(definition.name);
    const url = databaseUrlFor(config, definition.name);
    const setting = config.db.perService[definition.name]
      ? `${definition.name.toUpperCase()}_DATABASE_URL`
      : 'DATABASE_URL';
    // A server that is down is one sentence, not a driver's stack.
    await checkPostgresReachable(url, setting);
    const running = await startSubgraph(definition, config);
    stopOnSignals(bootLog, [running.stop]);
  })().catch((err: unknown) => exitOnStartupError(bootLog, err));
}
