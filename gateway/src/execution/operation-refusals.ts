import { GraphQLError, type OperationDefinitionNode } from 'graphql';
import { buildExecutionContext } from 'graphql/execution/execute';
import { withoutStackTrace } from '../../../runtime/errors';
import type { GatewayExecutionResult, GatewayRequestContext } from './plan-executor';

/** Where subscriptions are served (`websocket.ts`); told to a client that POSTs one. */
export const SUBSCRIPTIONS_OVER_HTTP_MESSAGE =
  'Subscriptions are served over WebSocket (graphql-transport-ws) on /graphql';

/**
 * The answer to a request in which Apollo Server selected no operation, else undefined.
 *
 * Apollo Server hands its gateway's executor every request that parsed and validated,
 * including one where none of the document's operations is the one asked for (two
 * operations and no name, a name the document lacks, an empty name): `operation` is then
 * undefined, though the gateway interface types it as always set. It expects the error
 * graphql-js's `execute` gives back, which it answers as `OPERATION_RESOLUTION_FAILURE` (400),
 * as for a schema it executes itself; Apollo's own executor throws the like. This is that
 * error, from graphql-js's own operation selection: message for message the same.
 */
export function operationNotSelected(
  requestContext: GatewayRequestContext,
): GatewayExecutionResult | undefined {
  if ((requestContext.operation as OperationDefinitionNode | undefined) !== undefined) {
    return undefined;
  }
  const selected = buildExecutionContext({
    schema: requestContext.schema,
    document: requestContext.document,
    operationName: requestContext.request.operationName,
  });
  return {
    errors: Array.isArray(selected)
      ? selected
      : // graphql-js selects as Apollo Server does (`getOperationAST`): not reached.
        [new GraphQLError('Must provide an operation.')],
  };
}

/**
 * A subscription sent over HTTP: a client's mistake (GET is refused before execution with
 * 405). Answered 400 `BAD_REQUEST`; Apollo's executor would throw "Execution of
 * subscriptions not supported by gateway", a 500.
 */
export function subscriptionOverHttp(): GatewayExecutionResult {
  // An answer, not a fault: its stack would say nothing.
  const error = withoutStackTrace(
    () =>
      new GraphQLError(SUBSCRIPTIONS_OVER_HTTP_MESSAGE, {
        extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
      }),
  );
  return { errors: [error] };
}
