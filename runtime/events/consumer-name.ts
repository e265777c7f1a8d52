import { hostname } from 'node:os';

/**
 * This instance's consumer name within a group: `${service}-${host}`. It stays the same
 * across restarts on one host, so a restart does not leave one more consumer behind in every
 * group it reads (a process id or random suffix would). Where host names change with each
 * start (containers), the consumers of stopped instances are removed by the transport's upkeep
 * once they are idle with nothing pending. Two processes of one service on one host share the
 * name; that is harmless, as Redis hands each entry to one read whatever the name, and
 * reclaiming goes by idle time, not by owner.
 */
export function eventConsumerName(service: string, host: string = hostname()): string {
  return `${service}-${host}`.replace(/[^\w.-]/g, '_').slice(0, 120);
}
