import { loadConfig } from '../../runtime/config';
import {
  exitOnStartupError,
  installLastResortHandlers,
  stopOnSignals,
} from '../../runtime/lifecycle';
import { createLogger } from '../../runtime/logger';
import { startGateway } from './gateway';

const bootLog = createLogger('gateway', 'info');
installLastResortHandlers(bootLog);
(async () => {
  const config = loadConfig('gateway');
  const running = await startGateway(config);
  stopOnSignals(bootLog, [running.stop]);
})().catch((err: unknown) => exitOnStartupError(bootLog, err));
