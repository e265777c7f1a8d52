// The one place the name of a showtime's seat-event feed is built: the seat service listens
// on it, the hold stores publish to it, and tests watch its Redis channel.

/** The pub/sub topic of one showtime's seat events (prefixed by the transport). */
export const seatTopic = (showtimeId: string): string => `seat-events:${showtimeId}`;

/** The Redis channel of that topic: the deployment's key prefix, then the topic. */
export const seatChannel = (keyPrefix: string, showtimeId: string): string =>
  keyPrefix + seatTopic(showtimeId);
