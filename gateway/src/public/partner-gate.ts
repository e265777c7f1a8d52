import type { Request, RequestHandler, Response } from 'express';
import { AppError, type ErrorCode } from '../../../runtime/errors';
import type { Logger } from '../../../runtime/logger';
import type { PartnerAccess } from './partner-access';
import type { RateLimitState } from './token-bucket';

/** The header a partner's key comes in. */
export const API_KEY_HEADER = 'x-api-key';

/**
 * In front of the public graph: every request that can run an operation needs a key of the
 * users subgraph's (`UNAUTHENTICATED`, 401) and is counted against that key's rate
 * (`RATE_LIMITED`, 429, with `extensions.retryAfter` and `Retry-After`). Every answer to a
 * valid key carries the rate-limit headers of the IETF draft (`RateLimit-Limit`,
 * `-Remaining`, `-Reset`, `-Policy`). The key's id goes to the log, never to the subgraphs.
 */
export function partnerGate(
  access: PartnerAccess,
  log: Pick<Logger, 'debug' | 'warn'>,
  now: () => number = Date.now,
): RequestHandler {
  return async (req, res, next) => {
    // A GET without an operation runs nothing (a browser asking for Sandbox, or a mistake
    // Apollo answers with 400): no key needed to see the page.
    if (req.method === 'GET' && !carriesOperation(req)) {
      next();
      return;
    }
    const key = req.header(API_KEY_HEADER)?.trim();
    const requestId = res.locals.requestId as string;
    if (!key) {
      refuse(res, 401, 'UNAUTHENTICATED', 'Send your API key in the X-Api-Key header');
      return;
    }
    let decision;
    try {
      decision = await access.admit(key, now(), requestId);
    } catch (err) {
      if (!(err instanceof AppError) || err.extensions.code !== 'SERVICE_UNAVAILABLE') throw err;
      log.warn({ err, requestId }, 'partner graph: keys cannot be checked');
      refuse(res, 503, 'SERVICE_UNAVAILABLE', err.message, {
        serviceName: err.extensions.serviceName,
      });
      return;
    }
    if (decision.kind === 'refused') {
      log.debug({ requestId }, 'partner graph: unknown or revoked key');
      refuse(res, 401, 'UNAUTHENTICATED', 'Unknown or revoked API key');
      return;
    }
    setRateLimitHeaders(res, decision.rate);
    if (decision.kind === 'limited') {
      const retryAfter = decision.rate.retryAfterSeconds;
      log.debug({ requestId, apiKeyId: decision.apiKeyId }, 'partner graph: over the rate');
      res.setHeader('Retry-After', String(retryAfter));
      refuse(
        res,
        429,
        'RATE_LIMITED',
        `Over this key's ${decision.rate.limit} requests a minute; retry in ${retryAfter} s`,
        { retryAfter },
      );
      return;
    }
    log.debug({ requestId, apiKeyId: decision.apiKeyId }, 'partner graph: admitted');
    next();
  };
}

/**
 * Whether a GET could run something: any query string at all. Not `req.query`: Express
 * parses at most 1,000 parameters, while Apollo reads `query` and `extensions` from the raw
 * string with no such limit, so a `query` after 1,000 padding parameters would run unseen.
 */
function carriesOperation(req: Request): boolean {
  const start = req.originalUrl.indexOf('?');
  return start !== -1 && start < req.originalUrl.length - 1;
}

function setRateLimitHeaders(res: Response, rate: RateLimitState): void {
  res.setHeader('RateLimit-Limit', String(rate.limit));
  res.setHeader('RateLimit-Remaining', String(rate.remaining));
  res.setHeader('RateLimit-Reset', String(rate.resetSeconds));
  res.setHeader('RateLimit-Policy', `${rate.limit};w=60`);
}

/** A GraphQL-shaped error answer, as Apollo would write one. */
function refuse(
  res: Response,
  status: number,
  code: ErrorCode,
  message: string,
  extensions: Record<string, unknown> = {},
): void {
  res.status(status).json({ errors: [{ message, extensions: { ...extensions, code } }] });
}
