/**
 * The seat operations of the client contract, sent to the gateway over HTTP (`post`, below),
 * and the shapes of their answers.
 */
import { Agent, request } from 'node:http';
import { contractOperation } from '../../tests/support/contract';
import type { GraphQLResponse } from '../../tests/support/http-client';

export const OPS = {
  hold: contractOperation('HoldSeats'),
  release: contractOperation('ReleaseSeats'),
  seatMap: contractOperation('SeatMap'),
  seatUpdates: contractOperation('SeatUpdates'),
};

/** An answer: its status and body (the benchmarks read no response header). */
export type GraphQLReply<T> = Omit<GraphQLResponse<T>, 'headers'>;

export interface SeatState {
  seatId: string;
  row: string;
  number: number;
  type: string;
  status: string;
  heldByMe: boolean;
}
export interface SeatMapData {
  showtime: {
    id: string;
    startsAt: string;
    hall: { id: string; name: string; rows: number; columns: number; cinema: { name: string } };
    movie: { title: string };
    seatMap: { version: number; seats: SeatState[] };
  } | null;
}
export interface HoldData {
  holdSeats: {
    expiresAt: string;
    seats: Array<{ seatId: string; status: string; heldByMe: boolean }>;
  };
}
export interface ReleaseData {
  releaseSeats: { seats: Array<{ seatId: string; status: string; heldByMe: boolean }> };
}
/** One `SeatUpdates` event, as the contract's subscription selects it. */
export interface SeatEventPayload {
  showtimeId: string;
  version: number;
  seats: Array<{ seatId: string; status: string; heldByMe: boolean }>;
  showtime: { id: string; movie: { title: string } | null } | null;
}

/**
 * The load generator's connections: kept alive and reused, as many as the requests in flight
 * (a rush of 1,000 at once opens 1,000, as 1,000 browsers would), and all of them kept open
 * once idle, as each browser keeps its own. Node's default `maxFreeSockets` (256 per
 * gateway) closed the rest after the seat map loads, so a rush "from the page" opened
 * hundreds of new connections after all.
 */
const agent = new Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: Infinity });
/** Idle time after which a request fails (fetch, before, gave up after 300 s without headers). */
const REQUEST_TIMEOUT_MS = 120_000;

/**
 * One GraphQL POST, over `node:http` rather than `fetch`: the benchmarks run their load
 * generator on the same cores as the servers, and `fetch` (its Request, Headers, Response
 * and web streams) cost about 0.75 ms of CPU per hold here, as much as the gateway's own
 * work on it. Answers whatever came back (errors are the caller's to judge), a body that is
 * not JSON as an error of the reply. Rejects when the request itself fails (the error's
 * `code`: ECONNRESET, ECONNREFUSED, ...).
 */
export function post<T>(
  url: string,
  query: string,
  variables: Record<string, unknown>,
  token?: string,
): Promise<GraphQLReply<T>> {
  const body = JSON.stringify({ query, variables });
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            const parsed = JSON.parse(text) as Pick<GraphQLReply<T>, 'data' | 'errors'>;
            resolve({ status, data: parsed.data, errors: parsed.errors });
          } catch {
            resolve({ status, errors: [{ message: `non-JSON answer: ${text.slice(0, 200)}` }] });
          }
        });
      },
    );
    req.on('error', reject);
    // A server that stops answering fails the request, instead of holding the run forever.
    req.setTimeout(REQUEST_TIMEOUT_MS, () =>
      req.destroy(Object.assign(new Error('no answer in time'), { code: 'ETIMEDOUT' })),
    );
    req.end(body);
  });
}

/** The first error's code: `NO_CODE` for an error without one, undefined without errors. */
export const codeOf = (reply: GraphQLReply<unknown>): string | undefined =>
  (reply.errors?.[0]?.extensions?.code as string | undefined) ??
  (reply.errors?.length ? 'NO_CODE' : undefined);

export const describeErrors = (reply: GraphQLReply<unknown>): string =>
  `${reply.status} ${reply.errors?.map((e) => `${e.extensions?.code ?? ''} ${e.message}`).join('; ')}`;

/** A showtime's seat map (as `token`'s user sees it); throws unless it came back whole. */
export async function seatMap(gatewayUrl: string, showtimeId: string, token?: string) {
  const reply = await post<SeatMapData>(gatewayUrl, OPS.seatMap, { showtimeId }, token);
  if (reply.errors?.length || !reply.data?.showtime) {
    throw new Error(`SeatMap ${showtimeId}: ${describeErrors(reply)}`);
  }
  return reply.data.showtime;
}

export type ShowtimeView = Awaited<ReturnType<typeof seatMap>>;
