// What graphql-ws clients receive for seat events, byte for byte, through the whole gateway:
// the text every `next` message must have, whichever way the gateway wrote it (its direct
// writes to the socket, or graphql-ws's own serialisation of the result). The expected texts
// are those graphql-ws's standard path produces (this test passes without direct writes).
import WebSocket from 'ws';
import { buildDemoPlan } from '../../../scripts/seed/demo-plan';
import { contractOperation } from '../../../tests/support/contract';
import { startTestStack, type TestStack } from '../../../tests/support/test-stack';
import { waitFor } from '../../../tests/support/wait-for';
import { webSocketUrl } from '../../../tests/support/ws-client';

const plan = buildDemoPlan();
const HOUR = 3_600_000;

const CONTRACT = contractOperation('SeatUpdates');

/** Aliases, named and inline fragments, and @include/@skip on variables. */
const SHAPED = `
subscription Shaped($id: ID!, $withSeats: Boolean!, $bare: Boolean!) {
  live: seatUpdates(showtimeId: $id) {
    ...Head
    changed: seats @include(if: $withSeats) { ...Seat mine: heldByMe }
    showtime @skip(if: $bare) { movie { name: title } }
  }
}
fragment Head on SeatUpdate { v: version ... on SeatUpdate { showtimeId } }
fragment Seat on SeatState { id: seatId status }
`;

/** No viewer field at all. */
const NO_MINE = `
subscription NoMine($showtimeId: ID!) {
  seatUpdates(showtimeId: $showtimeId) { version seats { status seatId } }
}
`;

interface Seen {
  readonly id: string;
  readonly viewer: 'anonymous' | 'holder' | 'other';
  /** The expected `data` text of the event of `version` (seat status, whether it is mine). */
  readonly data: (version: number, status: string, mine: boolean) => string;
  readonly frames: string[];
}

/** A raw graphql-transport-ws socket: every frame it receives, as received. */
async function rawSocket(url: string, token?: string) {
  const socket = new WebSocket(url, 'graphql-transport-ws');
  const frames: string[] = [];
  // A binary frame would reach a browser as a Blob graphql-ws cannot parse: marked, to fail.
  socket.on('message', (data: Buffer, isBinary) => {
    const text = data.toString('utf8');
    frames.push(isBinary ? `binary frame: ${text}` : text);
  });
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  socket.send(
    JSON.stringify({
      type: 'connection_init',
      payload: token ? { authorization: `Bearer ${token}` } : {},
    }),
  );
  await waitFor(() => frames.includes('{"type":"connection_ack"}'), 'connection_ack');
  frames.length = 0;
  return { socket, frames };
}

describe('next messages on the wire', () => {
  let t: TestStack;
  const sockets: WebSocket[] = [];

  beforeAll(async () => {
    t = await startTestStack();
  });
  afterAll(async () => {
    for (const socket of sockets) socket.terminate();
    await t?.stop();
  });

  it('are the same text for every selection and viewer, whoever holds the seat', async () => {
    const showtime = plan.showtimes.filter((s) => s.startsAt.getTime() > Date.now() + 24 * HOUR)[3];
    const seat = plan.seats.find((s) => s.hallId === showtime.hallId && !s.blocked)!;
    const title = plan.movies.find((m) => m.id === showtime.movieId)!.title;
    const S = JSON.stringify(showtime.id);
    const A = JSON.stringify(seat.id);
    const T = JSON.stringify(title);
    const url = webSocketUrl(t.gatewayUrl);
    const tokens = {
      anonymous: undefined,
      holder: t.token('wire-holder'),
      other: t.token('wire-other'),
    };

    const kinds: Array<{
      name: string;
      query: string;
      variables: Record<string, unknown>;
      data: Seen['data'];
    }> = [
      {
        name: 'contract',
        query: CONTRACT,
        variables: { showtimeId: showtime.id },
        data: (v, status, mine) =>
          `{"seatUpdates":{"showtimeId":${S},"version":${v},"seats":[{"seatId":${A},"status":"${status}","heldByMe":${mine}}],"showtime":{"id":${S},"movie":{"title":${T}}}}}`,
      },
      {
        name: 'shaped',
        query: SHAPED,
        variables: { id: showtime.id, withSeats: true, bare: false },
        data: (v, status, mine) =>
          `{"live":{"v":${v},"showtimeId":${S},"changed":[{"id":${A},"status":"${status}","mine":${mine}}],"showtime":{"movie":{"name":${T}}}}}`,
      },
      {
        name: 'bare',
        query: SHAPED,
        variables: { id: showtime.id, withSeats: false, bare: true },
        data: (v) => `{"live":{"v":${v},"showtimeId":${S}}}`,
      },
      {
        name: 'no-mine',
        query: NO_MINE,
        variables: { showtimeId: showtime.id },
        data: (v, status) =>
          `{"seatUpdates":{"version":${v},"seats":[{"status":"${status}","seatId":${A}}]}}`,
      },
    ];

    const seen: Seen[] = [];
    for (const viewer of ['anonymous', 'holder', 'other'] as const) {
      const { socket, frames } = await rawSocket(url, tokens[viewer]);
      sockets.push(socket);
      for (const kind of kinds) {
        const id = `${kind.name}:${viewer}`;
        socket.send(
          JSON.stringify({
            id,
            type: 'subscribe',
            payload: { query: kind.query, variables: kind.variables },
          }),
        );
        seen.push({ id, viewer, data: kind.data, frames });
      }
    }

    const hold = (user: string) =>
      t.query(
        contractOperation('HoldSeats'),
        { showtimeId: showtime.id, seatIds: [seat.id] },
        { token: t.token(user) },
      );
    const release = (user: string) =>
      t.query(
        contractOperation('ReleaseSeats'),
        { showtimeId: showtime.id, seatIds: [seat.id] },
        { token: t.token(user) },
      );
    const framesOf = (s: Seen) => s.frames.filter((f) => f.startsWith(`{"id":"${s.id}"`));
    /** The seat map version a `next` frame is of, whatever the selection calls it. */
    const versionOf = (frame: string): number | undefined => {
      const event = Object.values(
        (JSON.parse(frame) as { payload?: { data?: Record<string, Record<string, unknown>> } })
          .payload?.data ?? {},
      )[0];
      return (event?.version ?? event?.v) as number | undefined;
    };

    // Live once a change reaches every subscription (changes made before are not counted).
    await waitFor(
      async () => {
        expect((await hold('wire-probe')).errors).toBeUndefined();
        expect((await release('wire-probe')).errors).toBeUndefined();
        return seen.every((s) => framesOf(s).length > 0);
      },
      'every subscription live',
      30_000,
    );
    const version = (await t.query(contractOperation('SeatMap'), { showtimeId: showtime.id })).data!
      .showtime.seatMap.version as number;
    // Every probe event delivered: the counted ones start from here.
    await waitFor(
      () => seen.every((s) => framesOf(s).some((f) => versionOf(f) === version)),
      'the probe events',
    );
    for (const s of seen) s.frames.length = 0;

    expect((await hold('wire-holder')).errors).toBeUndefined();
    expect((await release('wire-holder')).errors).toBeUndefined();
    await waitFor(() => seen.every((s) => framesOf(s).length >= 2), 'both events everywhere');

    for (const s of seen) {
      const frame = (v: number, status: string, mine: boolean) =>
        `{"id":${JSON.stringify(s.id)},"type":"next","payload":{"data":${s.data(v, status, mine)}}}`;
      expect({ id: s.id, frames: framesOf(s) }).toEqual({
        id: s.id,
        frames: [
          frame(version + 1, 'HELD', s.viewer === 'holder'),
          frame(version + 2, 'AVAILABLE', false),
        ],
      });
    }
    // Nothing else arrived on any socket (no error, no complete).
    expect(seen.flatMap((s) => s.frames.filter((f) => !f.includes('"type":"next"')))).toEqual([]);
  });
});
