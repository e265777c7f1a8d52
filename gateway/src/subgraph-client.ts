import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { GraphQLError } from 'graphql';
import type { Identity } from '../../runtime/identity';
import { IDENTITY_HEADER, signIdentity } from '../../runtime/identity';
import { REQUEST_ID_HEADER } from '../../runtime/logger';

/** What the gateway knows about the request it is planning. */
export interface GatewayContext {
  readonly requestId: string;
  readonly identity: Identity;
}

/**
 * The gateway's call to one subgraph: signs the caller's identity (short-lived HMAC with
 * INTERNAL_SECRET), forwards the request id, and turns a subgraph that cannot be reached into
 * an error naming it.
 */
export class SubgraphClient extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(
    readonly name: string,
    url: string,
    private readonly internalSecret: string,
  ) {
    super({ url });
  }

  override willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>) {
    const identity = (context as Partial<GatewayContext>).identity;
    // Health probes and other internal calls carry no caller: they travel as anonymous.
    request.http?.headers.set(
      IDENTITY_HEADER,
      signIdentity(identity ?? { userId: null, role: null }, this.internalSecret),
    );
    const requestId = (context as Partial<GatewayContext>).requestId;
    if (requestId) request.http?.headers.set(REQUEST_ID_HEADER, requestId);
  }

  override didEncounterError(error: Error, _req: unknown, response?: { status: number }): never {
    if (!response || response.status >= 500) {
      throw new GraphQLError(`Service "${this.name}" is unavailable`, {
        extensions: { code: 'SERVICE_UNAVAILABLE', serviceName: this.name },
        originalError: error,
      });
    }
    throw error;
  }
}
