/**
 * The showtime events the cinemas subgraph publishes (stream `cinemas`) and other subgraphs
 * consume. Events between services are a contract like the GraphQL schema: they live here,
 * where both sides import them, never in one subgraph.
 */
export const CINEMAS_STREAM = 'cinemas';

export const SHOWTIME_EVENT_TYPES = [
  'showtime.scheduled',
  'showtime.updated',
  'showtime.cancelled',
] as const;
export type ShowtimeEventType = (typeof SHOWTIME_EVENT_TYPES)[number];

export interface ShowtimeEventPayload {
  showtimeId: string;
  movieId: string;
  hallId: string;
  cinemaId: string;
  /** The city, folded (runtime/text.ts foldText), as filters compare it. */
  cityKey: string;
  startsAt: string;
  endsAt: string;
  status: 'SCHEDULED' | 'CANCELLED';
}
