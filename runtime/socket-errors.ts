/**
 * What Node's sockets say (errno codes, in `code` or in a message) when a connection is gone
 * or cannot be made: the part that Redis's and PostgreSQL's "cannot be reached now" checks
 * share (`isRedisUnavailable`, `isDatabaseUnavailable`), as a regular-expression alternation.
 */
export const SOCKET_UNREACHABLE_CODES =
  'ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN';
