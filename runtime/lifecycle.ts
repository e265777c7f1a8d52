import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from './logger';

/** A running service: where it listens and how to stop it (drain, then close connections). */
export interface RunningService {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  stop(): Promise<void>;
}

/** Listens on `port` (0 picks a free one) and resolves with the port actually bound. */
export function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/**
 * Stops services on SIGTERM/SIGINT, in the order given (in-flight requests drain first),
 * then exits. A second signal exits at once.
 */
export function stopOnSignals(log: Logger, stops: Array<() => Promise<void>>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'shutting down');
    (async () => {
      let code = 0;
      for (const stop of stops) {
        try {
          await stop();
        } catch (err) {
          code = 1;
          log.error({ err }, 'error while shutting down');
        }
      }
      log.info('stopped');
      log.flush?.();
      process.exit(code);
    })();
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}

/** Logs and exits for a start-up failure (bad configuration, unreachable database). */
export function exitOnStartupError(log: Pick<Logger, 'fatal'>, err: unknown): never {
  const message = err instanceof Error ? err.message : String(err);
  log.fatal({ err }, `failed to start: ${message}`);
  process.exit(1);
}
