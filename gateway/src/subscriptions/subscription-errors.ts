import { GraphQLError, type ExecutionResult, type GraphQLFormattedError } from 'graphql';
import type { GatewayLogger } from './gateway-types';
import type { UpstreamRequest } from './upstream-request';

/** The `extensions.code` of every error this module produces itself. */
export type SubscriptionErrorCode =
  /** The operation is invalid against the API schema. */
  | 'GRAPHQL_VALIDATION_FAILED'
  /** No operation of that name (or several operations and no name). */
  | 'OPERATION_RESOLUTION_FAILURE'
  /** The variables do not fit the operation's variable definitions. */
  | 'BAD_USER_INPUT'
  /** A query or mutation: only subscriptions run here. */
  | 'BAD_REQUEST'
  /** The planner could not plan it, or no data source serves its subgraph. */
  | 'QUERY_PLANNING_FAILED'
  /** The subscription's subgraph is unreachable, closed the subscription, or is reconnecting. */
  | 'SERVICE_UNAVAILABLE'
  /** The subgraph refused the subscription without a code of its own. */
  | 'DOWNSTREAM_SERVICE_ERROR'
  /** The subscriber did not pull its events and was dropped. */
  | 'SUBSCRIPTION_BUFFER_OVERFLOW'
  /** Executing the plan for one event failed unexpectedly. */
  | 'INTERNAL_SERVER_ERROR'
  /**
   * The gateway switched to a new supergraph against which the running subscription's
   * operation is invalid or cannot be planned: it ended (resubscribe with a valid operation).
   */
  | 'SUPERGRAPH_CHANGED';

/** A result made of one error with `code`. */
export function errorResult(
  message: string,
  code: SubscriptionErrorCode,
  originalError?: unknown,
): ExecutionResult {
  return {
    errors: [
      new GraphQLError(message, {
        extensions: { code },
        originalError: originalError instanceof Error ? originalError : undefined,
      }),
    ],
  };
}

/** graphql-js errors (validation, variable coercion) as a result, each with `code`. */
export function withCode(
  errors: readonly GraphQLError[],
  code: SubscriptionErrorCode,
): ExecutionResult {
  return {
    errors: errors.map(
      (error) =>
        new GraphQLError(error.message, {
          nodes: error.nodes,
          source: error.source,
          positions: error.positions,
          path: error.path,
          originalError: error,
          extensions: { ...error.extensions, code },
        }),
    ),
  };
}

/**
 * Turns whatever graphql-ws hands to `sink.error` into GraphQL errors naming the subgraph.
 * A transport failure says which service and what kind of failure, nothing more: socket
 * messages and close reasons name internal hosts and ports, so they go to the log only.
 */
export function upstreamErrors(
  serviceName: string,
  reason: unknown,
  logger: GatewayLogger,
): GraphQLError[] {
  if (Array.isArray(reason)) {
    // The subgraph answered the subscribe message with GraphQL errors.
    return (reason as GraphQLFormattedError[]).map(
      (error) =>
        new GraphQLError(error.message || `Subscription to service "${serviceName}" failed`, {
          path: error.path,
          extensions: {
            ...error.extensions,
            code: error.extensions?.code ?? 'DOWNSTREAM_SERVICE_ERROR',
            serviceName,
          },
        }),
    );
  }
  const extensions = { code: 'SERVICE_UNAVAILABLE', serviceName };
  if (reason !== null && typeof reason === 'object') {
    const r = reason as { code?: unknown; reason?: unknown; message?: unknown };
    if (typeof r.code === 'number') {
      // A CloseEvent: the socket failed to open or was closed under the subscription.
      logger.warn(
        `Subscription to service "${serviceName}" closed (code ${r.code}: ${typeof r.reason === 'string' ? r.reason : ''})`,
      );
      return [
        new GraphQLError(`Subscription to service "${serviceName}" closed (code ${r.code})`, {
          extensions,
        }),
      ];
    }
    if (typeof r.message === 'string' && r.message) {
      logger.warn(`Subscription to service "${serviceName}" failed: ${r.message}`);
    }
  }
  return [new GraphQLError(`Subscription to service "${serviceName}" failed`, { extensions })];
}

/**
 * Why a running subscription ends when the supergraph changes: one `SUPERGRAPH_CHANGED`
 * error naming what no longer fits (the validation or planning messages of the operation
 * against the new supergraph, which name only the client's own fields and types).
 */
export function supergraphChangedErrors(reasons: readonly GraphQLError[]): GraphQLError[] {
  const why = reasons.map((reason) => reason.message).join('; ');
  return [
    new GraphQLError(
      'The graph changed and this subscription can no longer run on it' +
        (why ? ` (${why})` : '') +
        '; subscribe again with an operation valid against the current schema',
      { extensions: { code: 'SUPERGRAPH_CHANGED' } },
    ),
  ];
}

/** What subscribers are told while their upstream connection is being re-established. */
export function connectionLostErrors(serviceName: string): GraphQLError[] {
  return [
    new GraphQLError(
      `The connection to service "${serviceName}" was lost and is being re-established; ` +
        'events may have been missed: fetch the current state again',
      { extensions: { code: 'SERVICE_UNAVAILABLE', serviceName } },
    ),
  ];
}

/** The same errors with their paths in one subscriber's response keys. */
export function withPaths(
  errors: readonly GraphQLError[],
  request: Pick<UpstreamRequest, 'toSubscriberPath'>,
): GraphQLError[] {
  return errors.map((error) =>
    error.path
      ? new GraphQLError(error.message, {
          path: request.toSubscriberPath(error.path),
          originalError: error.originalError ?? undefined,
          extensions: error.extensions,
        })
      : error,
  );
}
