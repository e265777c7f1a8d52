import {
  HeaderMap,
  type ApolloServer,
  type BaseContext,
  type HTTPGraphQLRequest,
} from '@apollo/server';
import type { Request, RequestHandler, Response } from 'express';
import type { AppConfig } from '../../runtime/config';
import { formatError } from '../../runtime/errors';
import { clarifyParseError, stringifyWithinCap } from '../../runtime/query-limits';

/**
 * What every Apollo Server of the gateway (the private graph, the partner graph) sets alike:
 * our signal handling, coded and masked errors, the document and result size caps.
 */
export function gatewayApolloOptions(config: AppConfig) {
  return {
    // Signals are ours: stopOnSignals drains every service, then closes connections.
    stopOnTerminationSignals: false,
    includeStacktraceInErrorResponses: !config.isProduction,
    formatError: (formatted: Parameters<typeof clarifyParseError>[0]) =>
      formatError(clarifyParseError(formatted), config.isProduction),
    // A huge document fails while parsing; a result over the cap is never sent.
    parseOptions: { maxTokens: config.limits.maxTokens },
    stringifyResult: stringifyWithinCap(config.limits.maxResponseBytes, {
      shareSerialization: true,
    }),
  } as const;
}

/**
 * Apollo Server as an Express handler: `@as-integrations/express5`'s `expressMiddleware`
 * (after `express.json`), except how a complete POST answer is written: as it is, with its
 * length, instead of through `res.send` (which looks for an ETag to make and a conditional
 * request to answer 304, neither of which a POST has). Other methods (Sandbox, GET queries)
 * still go through `res.send`.
 */
export function apolloRoute<TContext extends BaseContext>(
  server: ApolloServer<TContext>,
  context: (args: { req: Request; res: Response }) => Promise<TContext>,
): RequestHandler {
  server.assertStarted('apolloRoute()');
  return async (req, res) => {
    if (!('body' in req)) {
      res.status(500);
      res.send('`req.body` is not set: mount `express.json` before the GraphQL route');
      return;
    }
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    }
    const httpGraphQLRequest: HTTPGraphQLRequest = {
      method: req.method.toUpperCase(),
      headers,
      search: searchOf(req.url),
      body: req.body as unknown,
    };
    const response = await server.executeHTTPGraphQLRequest({
      httpGraphQLRequest,
      context: () => context({ req, res }),
    });
    for (const [key, value] of response.headers) res.setHeader(key, value);
    res.statusCode = response.status || 200;
    if (response.body.kind === 'complete') {
      const body = response.body.string;
      if (req.method !== 'POST') {
        res.send(body);
        return;
      }
      if (!res.hasHeader('content-type')) res.setHeader('content-type', 'text/html; charset=utf-8');
      res.setHeader('content-length', Buffer.byteLength(body));
      res.end(body);
      return;
    }
    for await (const chunk of response.body.asyncIterator) {
      res.write(chunk);
      const flush = (res as { flush?: () => void }).flush;
      if (typeof flush === 'function') flush.call(res);
    }
    res.end();
  };
}

/** The query string of a request target, `?` included (`url.parse(...).search`), or ''. */
function searchOf(url: string): string {
  const start = url.indexOf('?');
  if (start < 0) return '';
  const hash = url.indexOf('#', start);
  return hash < 0 ? url.slice(start) : url.slice(start, hash);
}
