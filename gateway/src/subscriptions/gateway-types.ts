import type { executeQueryPlan } from '@apollo/gateway';
import type { FormattedExecutionResult } from 'graphql-ws';

/**
 * The request context `executeQueryPlan` expects, named from the function itself: its type
 * lives in a package `@apollo/gateway` does not export.
 */
export type GatewayRequestContext = Parameters<typeof executeQueryPlan>[2];

/** The logger the gateway's executor takes (`debug`, `info`, `warn`, `error`). */
export type GatewayLogger = GatewayRequestContext['logger'];

/** One event of an upstream graphql-ws subscription, as the subgraph sent it. */
export type UpstreamEvent = FormattedExecutionResult<Record<string, unknown>, unknown>;
