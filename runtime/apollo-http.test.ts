import express from 'express';
import { request, type Server } from 'node:http';
import { connect } from 'node:net';
import { parse } from 'node:url';
import { gzipSync } from 'node:zlib';
import { jsonBody, searchOf } from './apollo-http';
import { createLogger } from './logger';
import { jsonErrorHandler } from './query-limits';
import { waitFor } from '../tests/support/wait-for';

const LIMIT = 1024;

interface Answer {
  status: number;
  body: unknown;
}

/**
 * `/stock` reads bodies with `express.json`, `/lean` with `jsonBody`, both with the same
 * limit and error handler: every request must get the same answer from both.
 */
describe('jsonBody', () => {
  let server: Server;
  let port: number;
  /** How each request ended on the server: its body read, or the reader's error type. */
  const outcomes: Array<{ path: string; outcome: string }> = [];

  beforeAll(async () => {
    const app = express();
    const echo: express.RequestHandler = (req, res) => {
      outcomes.push({ path: req.path, outcome: 'body' });
      res.json({ hasBody: 'body' in req, body: req.body as unknown });
    };
    app.post('/stock', express.json({ limit: LIMIT }), echo);
    app.post('/lean', jsonBody(LIMIT), echo);
    app.use(((err: { type?: string }, req, _res, next) => {
      outcomes.push({ path: req.path, outcome: err.type ?? 'error' });
      next(err);
    }) as express.ErrorRequestHandler);
    app.use(jsonErrorHandler(createLogger('apollo-http-test', 'silent')));
    server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', resolve));
    port = (server.address() as { port: number }).port;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  /** Sends `parts` (one write each, the next once the last is flushed) with `headers`. */
  const send = (
    path: string,
    headers: Record<string, string>,
    parts: readonly Buffer[],
  ): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, method: 'POST', headers }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
      });
      req.on('error', reject);
      const next = (i: number) => {
        if (i === parts.length) return void req.end();
        req.write(parts[i], () => next(i + 1));
      };
      next(0);
    });

  const both = async (headers: Record<string, string>, parts: readonly Buffer[]) => {
    const stock = await send('/stock', headers, parts);
    const lean = await send('/lean', headers, parts);
    expect(lean).toEqual(stock);
    return lean;
  };

  const json = (text: string | Buffer, type = 'application/json', extra = {}) => {
    const body = typeof text === 'string' ? Buffer.from(text) : text;
    return both({ 'content-type': type, 'content-length': String(body.length), ...extra }, [body]);
  };

  it('parses what express.json parses, to the same value', async () => {
    expect(await json('{"query":"{ a }","variables":{"x":[1,2]}}')).toEqual({
      status: 200,
      body: { hasBody: true, body: { query: '{ a }', variables: { x: [1, 2] } } },
    });
    await json('[{"a":1}]');
    await json(' \n\t{"a":"Nguyễn Văn A"}');
    await json('\ufeff{"bom":true}');
    await json('{"a":1}', 'Application/JSON; Charset=UTF-8');
    await json('{"a":1}', 'application/json;charset=utf-8');
    // Bytes that are not UTF-8: replaced alike.
    await json(
      Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xff, 0xc3]), Buffer.from('"}')]),
    );
  });

  it('reads a body that arrives in several parts', async () => {
    const parts = ['{"query":', '"{ a }"', '}'].map((p) => Buffer.from(p));
    const length = String(parts.reduce((n, p) => n + p.length, 0));
    expect(
      await both({ 'content-type': 'application/json', 'content-length': length }, parts),
    ).toEqual({ status: 200, body: { hasBody: true, body: { query: '{ a }' } } });
  });

  it('refuses what express.json refuses, with the same coded answers', async () => {
    const malformed = await json('{"query": "{ a }"');
    expect(malformed).toEqual({
      status: 400,
      body: {
        errors: [
          { message: 'The request body is not valid JSON', extensions: { code: 'BAD_REQUEST' } },
        ],
      },
    });
    // Strict: an object or an array only.
    expect((await json('"text"')).status).toBe(400);
    expect((await json('   ')).status).toBe(400);
    expect((await json('null')).status).toBe(400);
    const big = await json(JSON.stringify({ query: 'x'.repeat(LIMIT) }));
    expect(big.status).toBe(413);
    expect(big.body).toMatchObject({ errors: [{ extensions: { code: 'PAYLOAD_TOO_LARGE' } }] });
    expect((await json('{"a":1}', 'application/json; charset=latin1')).status).toBe(415);
    expect(
      (await json('{"a":1}', 'application/json', { 'content-encoding': 'compress' })).status,
    ).toBe(415);
  });

  it('passes on a body cut short by the client going away, as express.json does', async () => {
    outcomes.length = 0;
    for (const path of ['/stock', '/lean']) {
      // The server has the request (headers and the first part, sent together) before it goes.
      const received = new Promise((resolve) =>
        server.once('request', () => setImmediate(resolve)),
      );
      const socket = connect(port, '127.0.0.1');
      socket.on('error', () => {});
      await new Promise<void>((resolve) =>
        socket.write(
          `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
            'Content-Length: 100\r\n\r\n{"query":',
          () => resolve(),
        ),
      );
      await received;
      socket.destroy();
      await waitFor(() => outcomes.find((o) => o.path === path), `how ${path} ended`);
    }
    expect(outcomes).toEqual([
      { path: '/stock', outcome: 'request.aborted' },
      { path: '/lean', outcome: 'request.aborted' },
    ]);
    // And the server goes on answering.
    expect((await json('{"a":1}')).status).toBe(200);
  });

  it('leaves the rest to express.json: other types, compressed, chunked and empty bodies', async () => {
    expect(await json('{"a":1}', 'text/plain')).toEqual({
      status: 200,
      body: { hasBody: true },
    });
    expect(
      await json(gzipSync('{"zipped":true}'), 'application/json', { 'content-encoding': 'gzip' }),
    ).toEqual({ status: 200, body: { hasBody: true, body: { zipped: true } } });
    expect(
      await both({ 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, [
        Buffer.from('{"chunked":'),
        Buffer.from('true}'),
      ]),
    ).toEqual({ status: 200, body: { hasBody: true, body: { chunked: true } } });
    expect(await json('')).toEqual({ status: 200, body: { hasBody: true, body: {} } });
  });
});

describe('searchOf', () => {
  it('is the query string of a request target, as url.parse gives it', () => {
    const targets = [
      '/graphql',
      '/graphql?query=%7Ba%7D&x=1',
      '/graphql?a=1#frag',
      '/graphql#x?query=%7B__typename%7D',
      '/graphql?',
      '/graphql#',
    ];
    const reference = (target: string) => parse(target).search ?? '';
    expect(targets.map(searchOf)).toEqual(targets.map(reference));
  });
});
