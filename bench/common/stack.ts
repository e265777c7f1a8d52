/**
 * The parent side of the stack process (`stack-process.ts`): forks it, talks to it over IPC
 * (`protocol.ts`) and always stops it (dropping its databases), also on SIGINT/SIGTERM.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { SERVER_NODE_OPTIONS } from '../../runtime/node-options';
import type {
  CpuMessage,
  MemoryMessage,
  ReadyMessage,
  RedisSubscribersMessage,
  StackMessage,
  ToStackMessage,
} from './protocol';

export interface StackHandle {
  ready: ReadyMessage;
  /** The stack process's CPU time (user + system) so far, in µs. */
  cpuMicros(): Promise<number>;
  /** Its memory, after a full GC when it was started with `exposeGc`. */
  memory(): Promise<MemoryMessage>;
  /** How many Redis subscribers listen to a showtime's seat events (-1: could not tell). */
  redisSubscribers(showtimeId: string): Promise<number>;
  stop(): Promise<void>;
}

export interface StackOptions {
  /** Fork the child with --expose-gc, so that `memory()` is read after a full collection. */
  exposeGc?: boolean;
}

let interrupted = false;

/** Set on SIGINT/SIGTERM: nothing is printed or written after it. */
export const isInterrupted = (): boolean => interrupted;

export function startStackProcess(options: StackOptions = {}): Promise<StackHandle> {
  const child: ChildProcess = fork(join(__dirname, 'stack-process.js'), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: [
      ...process.execArgv,
      ...SERVER_NODE_OPTIONS,
      ...(options.exposeGc ? ['--expose-gc'] : []),
    ],
  });
  // Interrupted (at any point): the stack process stops (dropping its databases), then we go.
  const onSignal = () => {
    interrupted = true;
    process.stderr.write('\nbench: interrupted; stopping the stack (dropping its databases)...\n');
    void stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  // Requests of each kind are answered in order.
  const waiters: {
    cpu: Array<(m: CpuMessage) => void>;
    memory: Array<(m: MemoryMessage) => void>;
    redis: Array<(m: RedisSubscribersMessage) => void>;
  } = { cpu: [], memory: [], redis: [] };
  const ask = <T>(queue: Array<(m: T) => void>, message: ToStackMessage) =>
    new Promise<T>((done) => {
      queue.push(done);
      child.send(message);
    });

  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    if (child.connected) child.send({ type: 'stop' });
    else child.kill('SIGTERM');
    const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 120_000).unref());
    if ((await Promise.race([exited, timeout])) === 'timeout') {
      process.stderr.write('bench: the stack process did not stop within 120 s; killing it\n');
      child.kill('SIGKILL');
      await exited;
    }
  };

  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) =>
      reject(new Error(`the stack process exited (code ${code}) before it was ready`));
    child.once('exit', onExit);
    child.on('message', (message: StackMessage) => {
      if (message.type === 'ready') {
        child.off('exit', onExit);
        resolve({
          ready: message,
          stop,
          cpuMicros: async () => {
            const m = await ask(waiters.cpu, { type: 'cpu' });
            return m.userMicros + m.systemMicros;
          },
          memory: () => ask(waiters.memory, { type: 'memory' }),
          redisSubscribers: async (showtimeId) =>
            (await ask(waiters.redis, { type: 'redis-subscribers', showtimeId })).count,
        });
      } else if (message.type === 'cpu') {
        waiters.cpu.shift()?.(message);
      } else if (message.type === 'memory') {
        waiters.memory.shift()?.(message);
      } else if (message.type === 'redis-subscribers') {
        waiters.redis.shift()?.(message);
      } else if (message.type === 'error') {
        child.off('exit', onExit);
        // It stops itself (dropping its databases) and exits.
        reject(new Error(`the stack did not start:\n${message.message}`));
      }
    });
  });
}

/** Starts the stack, runs `body` with it, and stops it (dropping its databases) whatever happens. */
export async function withStack(
  options: StackOptions,
  body: (stack: StackHandle) => Promise<void>,
): Promise<void> {
  process.stderr.write('bench: starting the stack (fresh databases, demo data)...\n');
  const stack = await startStackProcess(options);
  try {
    await body(stack);
  } finally {
    process.stderr.write('bench: stopping the stack (dropping its databases)...\n');
    await stack.stop();
  }
}

/** Runs a benchmark's main: an error is printed and sets the exit code, unless interrupted. */
export function runMain(main: () => Promise<void>): void {
  main().catch((err: Error) => {
    if (interrupted) return; // the signal handler exits once the stack has stopped
    console.error(`bench: ${err.stack ?? err}`);
    process.exitCode = 1;
  });
}
