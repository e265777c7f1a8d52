import pino, { type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs, one logger per service; children carry the request id. */
export function createLogger(service: string, level: string): Logger {
  return pino({
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: [
      'req.headers.authorization',
      'headers.authorization',
      'headers["x-moviehub-identity"]',
    ],
  });
}

export const REQUEST_ID_HEADER = 'x-request-id';
