/** Messages between the benchmark (parent) and its stack process (child). */

export interface ReadyMessage {
  type: 'ready';
  gatewayUrl: string;
  moviesUrl: string;
  cinemasUrl: string;
  internalSecret: string;
  databasePoolSize: number;
}

export interface CpuMessage {
  type: 'cpu';
  userMicros: number;
  systemMicros: number;
}

export type StackMessage =
  ReadyMessage | CpuMessage | { type: 'error'; message: string } | { type: 'stopped' };

export type ToStackMessage = { type: 'cpu' } | { type: 'stop' };
