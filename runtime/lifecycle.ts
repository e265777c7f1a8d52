import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from 'pg';
import { ConfigError } from './config';
import type { Logger } from './logger';

/** A running service: where it listens and how to stop it (drain, then close connections). */
export interface RunningService {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  /** A function property, so that it can be handed on unbound (`[running.stop]`). */
  readonly stop: () => Promise<void>;
}

/**
 * A start-up failure whose cause is known and whose message is one sentence naming the fix
 * (a busy port, an unreachable database, a second `npm start`): reported without a stack.
 */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}

/** Why a bind failed, in words: the port, and the setting that moves it. */
function explainListenError(err: NodeJS.ErrnoException, host: string, port: number): Error {
  switch (err.code) {
    case 'EADDRINUSE':
      return new StartupError(
        `Port ${port} is in use: stop the other process or set PORT to a free port ` +
          `(e.g. PORT=${port + 1}).`,
      );
    case 'EACCES':
      return new StartupError(
        `Port ${port} needs privileges this process lacks: set PORT to 1024 or above.`,
      );
    case 'EADDRNOTAVAIL':
      return new StartupError(
        `Cannot listen on ${host}: it is not an address of this machine; set HOST (e.g. HOST=0.0.0.0).`,
      );
    default:
      return err;
  }
}

/**
 * Listens on `port` (0 picks a free one) and resolves with the port actually bound. A bind
 * failure rejects with a {@link StartupError} naming the fix (a busy port, say).
 */
export function listen(server: Server, host: string, port: number): Promise<number> {
  // A WebSocketServer attached to `server` re-emits the server's errors, and graphql-ws prints
  // them as an "internal error" with a stack: a bind failure is reported once, by the caller,
  // so the other error listeners are set aside while binding.
  const others = server.rawListeners('error') as Array<(err: Error) => void>;
  server.removeAllListeners('error');
  const restore = () => {
    server.removeAllListeners('error');
    for (const listener of others) server.on('error', listener);
  };
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      restore();
      reject(explainListenError(err, host, port));
    });
    server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => {
      restore();
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/**
 * Connections the kernel queues until the event loop accepts them (capped by
 * `net.core.somaxconn`, 4096 on current kernels). Node's 511 overflowed at 1,000 new
 * connections a second on a busy host: clients got connect timeouts and resets instead of an
 * answer (the gateway's load gate can only answer connections it has accepted).
 */
const LISTEN_BACKLOG = 4096;

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ETIMEDOUT',
]);

/**
 * Connects once to the PostgreSQL server of `url`, so that a server that is down or refuses
 * the login stops the start with one sentence instead of a driver's stack. A database that
 * does not exist yet is fine: services create theirs.
 */
export async function checkPostgresReachable(url: string, setting = 'DATABASE_URL'): Promise<void> {
  const { hostname, port, username } = new URL(url);
  const where = `${hostname}:${port || 5432}`;
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  // A failed connect can still emit 'error' on the client later: it must never crash.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    const message = (err as Error).message ?? '';
    if (code === '3D000') return; // no such database: created at start
    if (UNREACHABLE.has(code) || /timeout/i.test(message)) {
      throw new StartupError(
        `Cannot reach PostgreSQL at ${where}: is it running? Start it or fix ${setting}.`,
      );
    }
    if (code === '28P01' || code === '28000') {
      throw new StartupError(
        `PostgreSQL at ${where} refused the login of user "${decodeURIComponent(username)}": ` +
          `fix the user or password in ${setting}.`,
      );
    }
    throw new StartupError(
      `PostgreSQL at ${where} refused the connection (${message}): check ${setting}.`,
    );
  } finally {
    await client.end().catch(() => {});
  }
}

export interface StopOnSignalsOptions {
  /** Says something plain to the person at the terminal (the local stack). */
  readonly say?: (line: string) => void;
  /** On a second signal: the least that must still happen (stop a database we started). */
  readonly force?: () => Promise<void>;
}

/** How long a forced exit may wait for `force()` before leaving anyway. */
const FORCE_DEADLINE_MS = 5000;
/**
 * Signals that arrive this soon after the first are the same Ctrl-C delivered twice (the
 * terminal signals the whole process group, and npm forwards it to its child as well).
 */
const SAME_SIGNAL_MS = 300;

/** What {@link stopOnSignals} returns: whether a stop has begun. */
export interface SignalStopper {
  readonly stopping: boolean;
}

/**
 * Stops services on SIGTERM/SIGINT/SIGHUP, in the order given (in-flight requests drain
 * first), then exits. A second signal forces a quick exit after `options.force`.
 */
export function stopOnSignals(
  log: Logger,
  stops: Array<() => Promise<void>>,
  options: StopOnSignalsOptions = {},
): SignalStopper {
  let firstAt = 0;
  let forcing = false;
  const exit = (code: number) => {
    log.flush?.();
    process.exit(code);
  };
  const handler = (signal: NodeJS.Signals) => {
    if (firstAt > 0) {
      if (forcing || Date.now() - firstAt < SAME_SIGNAL_MS) return;
      forcing = true;
      log.warn({ signal }, 'second signal: exiting now');
      options.say?.('  Second Ctrl-C: stopping now.');
      setTimeout(() => exit(1), FORCE_DEADLINE_MS).unref();
      (options.force ?? (async () => {}))().then(
        () => exit(1),
        () => exit(1),
      );
      return;
    }
    firstAt = Date.now();
    log.info({ signal }, 'shutting down');
    options.say?.('  Stopping: finishing the requests in flight (Ctrl-C again to force)...');
    // Never rejects: every failure is caught and logged inside.
    void (async () => {
      let code = 0;
      for (const stop of stops) {
        if (forcing) return;
        try {
          await stop();
        } catch (err) {
          code = 1;
          log.error({ err }, 'error while shutting down');
        }
      }
      if (forcing) return;
      log.info('stopped');
      options.say?.('  Stopped.');
      exit(code);
    })();
  };
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, handler);
  return {
    get stopping() {
      return firstAt > 0;
    },
  };
}

let lastResortInstalled = false;

/**
 * The last resort of a process: an unhandled rejection is logged (one JSON line with the
 * error and its stack) and the process keeps serving; an uncaught exception is logged and the
 * process exits with 1 once the log is flushed, since its state can no longer be trusted
 * (Node's own guidance for 'uncaughtException').
 */
export function installLastResortHandlers(log: Logger): void {
  if (lastResortInstalled) return;
  lastResortInstalled = true;
  process.on('unhandledRejection', (reason) => {
    log.error({ err: reason }, 'unhandled promise rejection (still running)');
  });
  process.on('uncaughtException', (err, origin) => {
    log.fatal({ err, origin }, 'uncaught exception: exiting');
    log.flush?.();
    process.exit(1);
  });
}

/** Whether a start-up failure has a known cause, told in words (no stack needed). */
export function isKnownStartupError(err: unknown): err is Error {
  return err instanceof StartupError || err instanceof ConfigError;
}

/**
 * Logs and exits for a start-up failure (bad configuration, a busy port, an unreachable
 * database). A known cause ({@link isKnownStartupError}) is one line without a stack.
 */
export function exitOnStartupError(
  log: Pick<Logger, 'fatal'> & { flush?: () => void },
  err: unknown,
): never {
  const message = err instanceof Error ? err.message : String(err);
  if (isKnownStartupError(err)) log.fatal(`failed to start: ${message}`);
  else log.fatal({ err }, `failed to start: ${message}`);
  log.flush?.();
  process.exit(1);
}
