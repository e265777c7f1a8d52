import type { Fetcher, FetcherHeaders, FetcherResponse } from '@apollo/utils.fetcher';
import {
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type RequestOptions,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { REQUEST_ID_HEADER } from '../../runtime/logger';

/** One subgraph answer as received: shared by every caller of a deduplicated fetch. */
interface RawResponse {
  readonly url: string;
  readonly status: number;
  readonly statusText: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface UpstreamFetcherOptions {
  /**
   * Connections kept per subgraph origin. Requests beyond them wait for a free one, so a
   * burst never opens thousands of sockets to one subgraph, and the ones open stay warm.
   */
  readonly maxSocketsPerOrigin?: number;
  /** A subgraph that sends nothing for this long fails the request (SERVICE_UNAVAILABLE). */
  readonly timeoutMs?: number;
}

/** What {@link createUpstreamFetcher} returns: Apollo's fetcher, and its figures and pools. */
export interface UpstreamFetcher {
  readonly fetch: Fetcher;
  /**
   * A POST of a body already serialised, with its headers as they go out (lower-case names,
   * no `content-length`: added here): what `fetch` does, without Apollo's request objects.
   */
  readonly post: (
    url: string,
    headers: Record<string, string>,
    body: string,
  ) => Promise<UpstreamResponse>;
  /** Requests sent to a subgraph, and requests answered by one already in flight. */
  readonly stats: () => { sent: number; shared: number; inFlight: number };
  /** Closes the idle keep-alive sockets (the busy ones close as their requests end). */
  readonly close: () => void;
}

/** Enough for 200 concurrent clients whose plans fan out to one or two subgraphs each. */
const DEFAULT_MAX_SOCKETS = 256;
/** Longer than any subgraph's statement timeout: only a subgraph that hangs reaches it. */
const DEFAULT_TIMEOUT_MS = 60_000;

/**
 * The operation of a request body as `RemoteGraphQLDataSource` writes it
 * (`{"query":"query …` or `{"query":"{…`): only queries are shared between callers. A
 * mutation is always sent once per caller, and so is anything not in that shape.
 */
const QUERY_BODY = /^\{"query":"\s*(?:query\b|\{)/;

/**
 * Apollo's `Fetcher` over Node's own HTTP client with keep-alive pools per origin, instead of
 * `fetch`: no WHATWG streams, request or header objects per call (they were a fifth of the
 * gateway's profile). Identical queries in flight at the same time share one request: the
 * key is the URL, every header but the request id (so the signed identity header, which
 * names the caller, and the Idempotency-Key) and the body, so two callers never share
 * unless the subgraph could not tell them apart. Each caller gets its own response object
 * and parses the body itself: the gateway merges entity data into what it parsed, so two
 * requests must never hold the same objects.
 */
export function createUpstreamFetcher(options: UpstreamFetcherOptions = {}): UpstreamFetcher {
  const maxSockets = options.maxSocketsPerOrigin ?? DEFAULT_MAX_SOCKETS;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const agentOptions = { keepAlive: true, maxSockets, maxFreeSockets: maxSockets };
  const http = new HttpAgent(agentOptions);
  const https = new HttpsAgent(agentOptions);
  const inFlight = new Map<string, Promise<RawResponse>>();
  let sent = 0;
  let shared = 0;

  // The handful of subgraph URLs, parsed once.
  const targets = new Map<string, URL>();
  /** `headers` are the request's own: `content-length` is set in them. */
  const send = (
    url: string,
    method: string,
    headers: Record<string, string>,
    body: string | Buffer,
    retryStale: boolean,
  ) =>
    new Promise<RawResponse>((resolve, reject) => {
      const target = targets.get(url) ?? new URL(url);
      if (targets.size < 64) targets.set(url, target);
      const secure = target.protocol === 'https:';
      headers['content-length'] = String(Buffer.byteLength(body));
      const requestOptions: RequestOptions = {
        protocol: target.protocol,
        hostname: target.hostname,
        port: target.port,
        path: target.pathname + target.search,
        method,
        headers,
        agent: secure ? https : http,
        timeout: timeoutMs,
      };
      const req = (secure ? httpsRequest : httpRequest)(requestOptions, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () =>
          resolve({
            url,
            status: res.statusCode ?? 0,
            statusText: res.statusMessage ?? '',
            headers: res.headers,
            body: (chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)).toString('utf8'),
          }),
        );
      });
      req.on('timeout', () =>
        req.destroy(new Error(`No answer from ${target.host} within ${timeoutMs} ms`)),
      );
      req.on('error', (error: NodeJS.ErrnoException) => {
        // A kept-alive socket the subgraph closed just as it was reused: the request never
        // reached it, so sending it again on a fresh socket is safe (queries only).
        if (retryStale && req.reusedSocket && error.code === 'ECONNRESET') {
          send(url, method, headers, body, false).then(resolve, reject);
        } else {
          reject(error);
        }
      });
      req.end(body);
    });

  const request = async (
    url: string,
    method: string,
    headers: Record<string, string>,
    body: string | Buffer,
  ): Promise<UpstreamResponse> => {
    if (typeof body !== 'string' || !QUERY_BODY.test(body)) {
      sent += 1;
      return new UpstreamResponse(await send(url, method, headers, body, false));
    }
    const key = dedupeKey(url, headers, body);
    let pending = inFlight.get(key);
    if (pending) {
      shared += 1;
    } else {
      sent += 1;
      pending = send(url, method, headers, body, true).finally(() => inFlight.delete(key));
      inFlight.set(key, pending);
    }
    return new UpstreamResponse(await pending);
  };

  const fetch: Fetcher = (url, init = {}) =>
    request(url, init.method ?? 'POST', { ...init.headers }, init.body ?? '');

  return {
    fetch,
    post: (url, headers, body) => request(url, 'POST', headers, body),
    stats: () => ({ sent, shared, inFlight: inFlight.size }),
    close: () => {
      http.destroy();
      https.destroy();
    },
  };
}

/** URL, headers but the request id (in the order given), body: equal only for equal requests. */
function dedupeKey(url: string, headers: Record<string, string> | undefined, body: string) {
  let key = url;
  for (const name in headers) {
    if (name.toLowerCase() !== REQUEST_ID_HEADER) key += `\n${name}:${headers[name]}`;
  }
  return `${key}\n\n${body}`;
}

/** Response headers as Apollo's data source reads them (`get`); read-only. */
class UpstreamHeaders implements FetcherHeaders {
  constructor(private readonly raw: IncomingHttpHeaders) {}

  get(name: string): string | null {
    const value = this.raw[name.toLowerCase()];
    if (value === undefined) return null;
    return Array.isArray(value) ? value.join(', ') : value;
  }

  has(name: string): boolean {
    return this.raw[name.toLowerCase()] !== undefined;
  }

  append(): void {
    throw new TypeError('Response headers are read-only');
  }

  delete(): void {
    throw new TypeError('Response headers are read-only');
  }

  set(): void {
    throw new TypeError('Response headers are read-only');
  }

  *entries(): IterableIterator<[string, string]> {
    for (const name of Object.keys(this.raw)) yield [name, this.get(name)!];
  }

  *keys(): IterableIterator<string> {
    for (const [name] of this.entries()) yield name;
  }

  *values(): IterableIterator<string> {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }
}

/** One caller's view of a subgraph answer: its own body reads, its own parsed objects. */
export class UpstreamResponse implements FetcherResponse {
  bodyUsed = false;
  readonly redirected = false;
  readonly headers: UpstreamHeaders;

  constructor(private readonly raw: RawResponse) {
    this.headers = new UpstreamHeaders(raw.headers);
  }

  get url(): string {
    return this.raw.url;
  }

  get status(): number {
    return this.raw.status;
  }

  get statusText(): string {
    return this.raw.statusText;
  }

  get ok(): boolean {
    return this.raw.status >= 200 && this.raw.status < 300;
  }

  private read(): string {
    if (this.bodyUsed) throw new TypeError('Body has already been read');
    this.bodyUsed = true;
    return this.raw.body;
  }

  text(): Promise<string> {
    return settle(() => this.read());
  }

  json(): Promise<unknown> {
    return settle(() => JSON.parse(this.read()) as unknown);
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    return settle(() => {
      const bytes = Buffer.from(this.read(), 'utf8');
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    });
  }

  clone(): UpstreamResponse {
    if (this.bodyUsed) throw new TypeError('Cannot clone a response whose body was read');
    return new UpstreamResponse(this.raw);
  }
}

/** `read()`'s value, or its exception as a rejection (as a body read fails in fetch). */
function settle<T>(read: () => T): Promise<T> {
  try {
    return Promise.resolve(read());
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}
