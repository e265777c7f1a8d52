// The one module that knows both transports: `transport.ts` keeps only the contract, so the
// transports can import it without an import circle.
import type { AppConfig } from '../config';
import type { Logger } from '../logger';
import { InProcessTransport } from './in-process-transport';
import { RedisStreamsTransport } from './redis-streams-transport';
import type { EventTransport } from './transport';

/**
 * One in-process transport per process: in the embedded default all four subgraphs live in
 * one process and must share it, as they share Redis otherwise.
 */
let inProcess: InProcessTransport | undefined;

/**
 * Redis Streams when Redis is configured; the process-wide in-process transport otherwise.
 * The event retention (`EVENT_RETENTION_HOURS`) bounds redeliveries and streams without
 * groups; the same setting prunes the outbox and the idempotency ledger (`startEventRetention`).
 */
export function createEventTransport(
  config: AppConfig,
  log: Logger,
): { transport: EventTransport; shared: boolean } {
  if (config.redis.url) {
    return {
      transport: new RedisStreamsTransport(config.redis.url, config.redis.keyPrefix, {
        log,
        retentionMs: config.events.retentionHours * 3_600_000,
      }),
      shared: false,
    };
  }
  inProcess ??= new InProcessTransport({ log });
  return { transport: inProcess, shared: true };
}
