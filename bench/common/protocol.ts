/** Messages between a benchmark (parent) and its stack process (child, `stack-process.ts`). */

export interface ReadyMessage {
  type: 'ready';
  gatewayUrl: string;
  moviesUrl: string;
  cinemasUrl: string;
  internalSecret: string;
  databasePoolSize: number;
  /** The key the gateway verifies tokens with was made in the child: the parent mints with it. */
  privateKeyPem: string;
  /** Whether `global.gc` is exposed (the child is forked with --expose-gc). */
  gcExposed: boolean;
}

export interface CpuMessage {
  type: 'cpu';
  userMicros: number;
  systemMicros: number;
}

/** `process.memoryUsage()` of the stack process, after a full GC when it is exposed. */
export interface MemoryMessage {
  type: 'memory';
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  gcRan: boolean;
}

/** How many Redis subscribers listen to a showtime's seat-event channel. */
export interface RedisSubscribersMessage {
  type: 'redis-subscribers';
  showtimeId: string;
  count: number;
}

export type StackMessage =
  | ReadyMessage
  | CpuMessage
  | MemoryMessage
  | RedisSubscribersMessage
  | { type: 'error'; message: string }
  | { type: 'stopped' };

export type ToStackMessage =
  | { type: 'cpu' }
  | { type: 'memory' }
  | { type: 'redis-subscribers'; showtimeId: string }
  | { type: 'stop' };
