import {
  HeaderMap,
  type ApolloServer,
  type BaseContext,
  type HTTPGraphQLRequest,
} from '@apollo/server';
import express, { type Request, type RequestHandler, type Response } from 'express';

/**
 * The HTTP side of a GraphQL route, leaner than Express's and Apollo's stock handlers on
 * what every request does, with their behaviour kept: `jsonBody` reads a JSON body as
 * `express.json` does, `apolloHandler` hands a request to Apollo Server as
 * `@as-integrations/express5` does.
 */

/** A body-parser error as `jsonErrorHandler` (`runtime/query-limits.ts`) reads one. */
function bodyError(status: number, message: string, type: string, props: object = {}): Error {
  return Object.assign(
    new Error(message),
    { status, statusCode: status, expose: true, type },
    props,
  );
}

/** The `content-type` values read without parsing: `application/json`, charset UTF-8 or none. */
const PLAIN_JSON = new Set([
  'application/json',
  'application/json; charset=utf-8',
  'application/json;charset=utf-8',
]);

/**
 * `express.json({ limit })`, with its work on the common request cut: a body announced by
 * `Content-Length` (within the limit), typed plain `application/json` (charset UTF-8 or
 * none) and not compressed is read and parsed here, without content-type parsing, media
 * type matching or a decoder; any other request (chunked, compressed, another charset or
 * type, over the limit, an empty body) goes to `express.json` itself. The outcomes are
 * `express.json`'s: `req.body` the parsed value (strict: an object or an array), a leading
 * BOM dropped, and the same errors (status and `type`: `entity.parse.failed` 400,
 * `request.aborted` 400, `request.size.invalid` 400) passed to `next` once the request
 * has ended.
 */
export function jsonBody(limit: number): RequestHandler {
  const stock = express.json({ limit });
  return (req, res, next) => {
    const headers = req.headers;
    const type = headers['content-type'];
    const announced = headers['content-length'];
    const encoding = headers['content-encoding'];
    const length = announced === undefined ? NaN : Number(announced);
    if (
      !(length > 0 && length <= limit) ||
      type === undefined ||
      !(PLAIN_JSON.has(type) || PLAIN_JSON.has(type.toLowerCase())) ||
      (encoding !== undefined && encoding.toLowerCase() !== 'identity') ||
      headers['transfer-encoding'] !== undefined ||
      'body' in (req as object) ||
      isFinished(req)
    ) {
      return stock(req, res, next);
    }
    req.body = undefined;
    readBody(req, length, next);
  };
}

/** `on-finished`'s test, with which body-parser leaves a request alone: nothing more to read. */
function isFinished(req: Request): boolean {
  const socket = req.socket as Request['socket'] | null;
  return (
    (req as { upgrade?: boolean }).upgrade === true ||
    !socket ||
    !socket.readable ||
    (req.complete && !req.readable)
  );
}

/** Reads `length` bytes of JSON into `req.body` (see {@link jsonBody}), then `next`. */
function readBody(req: Request, length: number, next: (err?: unknown) => void): void {
  const chunks: Buffer[] = [];
  let received = 0;
  let complete = false;
  const cleanup = () => {
    req.removeListener('data', onData);
    req.removeListener('end', onEnd);
    req.removeListener('error', onError);
    req.removeListener('aborted', onAborted);
    req.removeListener('close', cleanup);
  };
  const fail = (err: Error) => {
    complete = true;
    cleanup();
    // As body-parser does: let the rest of the request go, and answer once it has.
    if (isFinished(req)) return next(err);
    let passed = false;
    const pass = () => {
      if (passed) return;
      passed = true;
      next(err);
    };
    req.once('end', pass);
    req.once('close', pass);
    req.resume();
  };
  const sizeMismatch = () =>
    bodyError(400, 'request size did not match content length', 'request.size.invalid', {
      expected: length,
      length,
      received,
    });
  function onData(chunk: Buffer) {
    if (complete) return;
    received += chunk.length;
    // Node's parser never delivers more than Content-Length; raw-body checks it all the same.
    if (received > length) {
      fail(sizeMismatch());
      return;
    }
    chunks.push(chunk);
  }
  function onEnd() {
    if (complete) return;
    complete = true;
    cleanup();
    if (received !== length) {
      fail(sizeMismatch());
      return;
    }
    const raw = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, received);
    let text = raw.toString('utf8');
    // iconv-lite (what body-parser decodes with) drops a BOM.
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    let body: unknown;
    try {
      body = parseStrictJson(text);
    } catch (err) {
      next(
        Object.assign(err as Error, {
          status: 400,
          statusCode: 400,
          expose: true,
          type: 'entity.parse.failed',
          body: text,
        }),
      );
      return;
    }
    req.body = body;
    next();
  }
  function onError(err: Error) {
    if (complete) return;
    const status =
      (err as { status?: number }).status ?? (err as { statusCode?: number }).statusCode;
    fail(status ? err : Object.assign(err, { status: 400, statusCode: 400, expose: true }));
  }
  function onAborted() {
    if (complete) return;
    fail(
      bodyError(400, 'request aborted', 'request.aborted', {
        code: 'ECONNABORTED',
        expected: length,
        length,
        received,
      }),
    );
  }
  req.on('aborted', onAborted);
  req.on('close', cleanup);
  req.on('data', onData);
  req.on('end', onEnd);
  req.on('error', onError);
}

const JSON_WHITESPACE = /^[ \t\n\r]*([^ \t\n\r]|$)/;

/** body-parser's strict JSON: `{}` for nothing, else an object or an array, or a SyntaxError. */
function parseStrictJson(text: string): unknown {
  if (text.length === 0) return {};
  const first = text[0];
  if (first !== '{' && first !== '[') {
    const found = JSON_WHITESPACE.exec(text)?.[1];
    if (found !== '{' && found !== '[') {
      throw new SyntaxError(
        found ? `Unexpected token ${found} in JSON` : 'Unexpected end of JSON input',
      );
    }
  }
  return JSON.parse(text) as unknown;
}

/**
 * Apollo Server as an Express handler: `@as-integrations/express5`'s `expressMiddleware`
 * (after a JSON body reader), except how a complete POST answer is written: as it is, with
 * its length, instead of through `res.send` (which looks for an ETag to make and a
 * conditional request to answer 304, neither of which a POST has). Other methods (Sandbox,
 * GET queries) still go through `res.send`. A rejection is Express's to pass on (a 500).
 */
export function apolloHandler<TContext extends BaseContext>(
  server: ApolloServer<TContext>,
  context: (args: { req: Request; res: Response }) => Promise<TContext>,
): (req: Request, res: Response) => Promise<void> {
  server.assertStarted('apolloHandler()');
  return async (req, res) => {
    if (!('body' in req)) {
      res.status(500);
      res.send('`req.body` is not set: mount `jsonBody` before the GraphQL route');
      return;
    }
    const headers = new HeaderMap();
    const incoming = req.headers;
    for (const key in incoming) {
      const value = incoming[key];
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

/**
 * The query string of a request target, `?` included, or '': `url.parse(...).search`, so a
 * `?` after a `#` (the fragment, which a browser never sends) starts no query string.
 */
export function searchOf(url: string): string {
  const hash = url.indexOf('#');
  const end = hash < 0 ? url.length : hash;
  const start = url.indexOf('?');
  return start < 0 || start > end ? '' : url.slice(start, end);
}
