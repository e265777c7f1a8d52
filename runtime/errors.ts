import { GraphQLError, type GraphQLFormattedError } from 'graphql';

/**
 * The registry of error codes clients may switch on (`errors[].extensions.code`), each with
 * the one line that documents it. Anything that leaves a server without one of these codes
 * (or one of Apollo's request-level codes) is masked in production.
 */
export const ERROR_CODES = {
  UNAUTHENTICATED: 'No or invalid token / API key.',
  FORBIDDEN: 'Signed in, but the wrong role or not the owner.',
  BAD_USER_INPUT: 'Malformed or out-of-range input; `extensions.field` names the field.',
  NOT_FOUND: 'The id does not exist, or is not visible to the caller.',
  SEAT_UNAVAILABLE: 'A seat is held by someone else, booked or blocked (`extensions.seatIds`).',
  HOLD_LIMIT_EXCEEDED:
    'More than 8 seats in one showtime, or seats held in more than SEAT_HOLD_MAX_SHOWTIMES showtimes at once.',
  SEATS_NOT_HELD: 'Booking seats that the caller does not hold.',
  DUPLICATE_BOOKING: 'A PENDING booking for this showtime already exists.',
  PROMOTION_INVALID: 'The promotion cannot be applied (`extensions.reason`).',
  INSUFFICIENT_POINTS: 'Too few points, under 100, or over 50% of the amount.',
  CONCESSION_OUT_OF_STOCK: 'Inventory would go below zero.',
  INVALID_STATE_TRANSITION: 'The entity is not in a state that allows this.',
  CANCELLATION_WINDOW_CLOSED: 'Under 6 hours before the showtime.',
  SHOWTIME_CONFLICT: 'Scheduling overlaps another showtime in the hall.',
  RATE_LIMITED:
    'Over a rate (partner, seat holds), in a seat-hold cooldown, or over the queries at once on one WebSocket; `extensions.retryAfter` in seconds.',
  QUERY_TOO_COMPLEX:
    'Over the token, depth, field, alias or cost limit (the limit is in the message).',
  RESPONSE_TOO_LARGE: 'The result would exceed the response size cap; ask for less (paginate).',
  TOO_MANY_SUBSCRIPTIONS: 'Over the subscriptions per socket or sockets per client address.',
  SUBSCRIPTION_BUFFER_OVERFLOW:
    'The client read its subscription events too slowly; the subscription ended: resubscribe and refetch.',
  SUPERGRAPH_CHANGED: 'A new composition cannot run this subscription; it ended: resubscribe.',
  PAYLOAD_TOO_LARGE: 'The request body is over the size limit (the limit is in the message).',
  SERVICE_UNAVAILABLE:
    'A subgraph (`extensions.serviceName`), its database or Redis could not be reached, or the gateway is overloaded (HTTP 503, `Retry-After` and `extensions.retryAfter`); retry.',
  INTERNAL_SERVER_ERROR: 'Anything unexpected (message masked in production).',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Request-level codes Apollo Server and the gateway produce themselves; safe to pass on. */
const APOLLO_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
]);

/** The extensions the contract documents (plus `serviceName`, which the gateway adds). */
const PUBLIC_EXTENSIONS = new Set([
  'code',
  'field',
  'seatIds',
  'reason',
  'retryAfter',
  'serviceName',
]);

export function isPublicCode(code: unknown): boolean {
  return typeof code === 'string' && (code in ERROR_CODES || APOLLO_CODES.has(code));
}

/**
 * Builds an error (synchronously: an async builder is covered only up to its first await)
 * without capturing a stack trace: its `stack` is its first line only. For
 * errors that are answers, not faults (a domain error, a subgraph's error passed on), whose
 * stack says nothing: capturing one costs a walk of the call stack, and graphql-js formats
 * it when it wraps the error (`locatedError` reads `originalError.stack`). In a seat rush,
 * where nine holds in ten are refused, that was about 5% of the gateway's and of the cinemas
 * process's CPU.
 */
export function withoutStackTrace<T>(build: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return build();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** Codes that report a fault (a service or Redis unreachable): their errors keep a stack. */
const FAULT_CODES: ReadonlySet<ErrorCode> = new Set([
  'SERVICE_UNAVAILABLE',
  'INTERNAL_SERVER_ERROR',
]);

/**
 * A domain error: a GraphQLError whose `extensions.code` is a registered code. An answer to
 * the caller, not a fault, so it carries no stack trace (`withoutStackTrace`); except for the
 * codes that report a fault (`SERVICE_UNAVAILABLE`), whose stack tells where the call was
 * made (logged, and kept in an outbox record's `last_error`).
 */
export class AppError extends GraphQLError {
  constructor(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}) {
    const limit = Error.stackTraceLimit;
    if (!FAULT_CODES.has(code)) Error.stackTraceLimit = 0;
    try {
      super(message, { extensions: { ...extensions, code } });
    } finally {
      Error.stackTraceLimit = limit;
    }
    this.name = 'AppError';
  }
}

export const badUserInput = (field: string, message: string): AppError =>
  new AppError('BAD_USER_INPUT', message, { field });

export const notFound = (what: string, id: string): AppError =>
  new AppError('NOT_FOUND', `${what} ${id} was not found`);

/**
 * Apollo Server `formatError`: keeps registered codes (and `serviceName`, `field`, ...),
 * masks everything else in production and never lets a stack trace out there.
 */
export function formatError(
  formatted: GraphQLFormattedError,
  isProduction: boolean,
): GraphQLFormattedError {
  const code = formatted.extensions?.code;
  if (isPublicCode(code) && code !== 'INTERNAL_SERVER_ERROR') {
    if (!isProduction) return formatted;
    // Only the extensions clients are promised; nothing internal rides along.
    const extensions = Object.fromEntries(
      Object.entries(formatted.extensions ?? {}).filter(([k]) => PUBLIC_EXTENSIONS.has(k)),
    );
    return { ...formatted, extensions };
  }
  if (!isProduction) return formatted;
  const serviceName = formatted.extensions?.serviceName;
  return {
    message: 'Internal server error',
    ...(formatted.path ? { path: formatted.path } : {}),
    ...(formatted.locations ? { locations: formatted.locations } : {}),
    extensions: {
      code: 'INTERNAL_SERVER_ERROR',
      ...(typeof serviceName === 'string' ? { serviceName } : {}),
    },
  };
}
