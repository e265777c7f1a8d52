import { loadConfig } from '../../runtime/config';
import { createLogger } from '../../runtime/logger';
import { traceProcess } from '../../runtime/tracing';

// Tracing patches http, ioredis and graphql as they are required: it starts before anything
// loads them, and the gateway is required after it (an import would load it first).
traceProcess('gateway');
/* eslint-disable @typescript-eslint/no-require-imports */
const { exitOnStartupError, installLastResortHandlers, stopOnSignals } =
  require('../../runtime/lifecycle') as typeof import('../../runtime/lifecycle');
const { startGateway } = require('./gateway') as typeof import('./gateway');
/* eslint-enable @typescript-eslint/no-require-imports */

const bootLog = createLogger('gateway', 'info');
installLastResortHandlers(bootLog);
(async () => {
  const config = loadConfig('gateway');
  const running = await startGateway(config);
  stopOnSignals(bootLog, [running.stop]);
})().catch((err: unknown) => exitOnStartupError(bootLog, err));
