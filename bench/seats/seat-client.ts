/**
 * The seat operations of the client contract, sent to the gateway over HTTP with the test
 * kit's client (`tests/support/http-client.ts`), and the shapes of their answers.
 */
import { contractOperation } from '../../tests/support/contract';
import {
  NotJsonResponseError,
  postGraphQL,
  type GraphQLResponse,
} from '../../tests/support/http-client';

export const OPS = {
  hold: contractOperation('HoldSeats'),
  release: contractOperation('ReleaseSeats'),
  seatMap: contractOperation('SeatMap'),
  seatUpdates: contractOperation('SeatUpdates'),
};

export type GraphQLReply<T> = GraphQLResponse<T>;

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
 * One GraphQL POST; answers whatever came back (errors are the caller's to judge), a body
 * that is not JSON as an error of the reply. Throws when the request itself fails.
 */
export async function post<T>(
  url: string,
  query: string,
  variables: Record<string, unknown>,
  token?: string,
): Promise<GraphQLReply<T>> {
  try {
    return await postGraphQL<T>(url, query, variables, { token });
  } catch (err) {
    if (!(err instanceof NotJsonResponseError)) throw err;
    return {
      status: err.status,
      headers: new Headers(),
      errors: [{ message: `non-JSON answer: ${err.body.slice(0, 200)}` }],
    };
  }
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
