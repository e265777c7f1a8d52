import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { Fetcher, FetcherResponse } from '@apollo/utils.fetcher';
import { GraphQLError } from 'graphql';
import { isPublicCode } from '../../runtime/errors';
import type { Identity } from '../../runtime/identity';
import { IDENTITY_HEADER, signIdentity } from '../../runtime/identity';
import { REQUEST_ID_HEADER } from '../../runtime/logger';

/** What the gateway knows about the request it is planning. */
export interface GatewayContext {
  readonly requestId: string;
  readonly identity: Identity;
}

/**
 * The client's `Idempotency-Key` header: the bookings subgraph makes a retried mutation
 * return its first answer (see subgraphs/bookings/src/idempotency). Forwarded as the client
 * sent it; the subgraph validates it.
 */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';

/** The body of a subgraph's 4xx answer, as far as it is read. */
type ErrorBody = { errors?: { message?: string; extensions?: Record<string, unknown> }[] };

/**
 * The gateway's call to one subgraph: signs the caller's identity (short-lived HMAC with
 * INTERNAL_SECRET), forwards the request id and the client's Idempotency-Key, and turns a
 * subgraph that cannot be reached into an error naming it.
 */
export class SubgraphClient extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(
    readonly name: string,
    url: string,
    private readonly internalSecret: string,
  ) {
    // Node's own fetch (undici, keep-alive) instead of the default make-fetch-happen, whose
    // per-request machinery (agents, cache policy) showed up in profiles of every fetch.
    super({ url, fetcher: fetch as unknown as Fetcher });
  }

  override willSendRequest(options: GraphQLDataSourceProcessOptions<GatewayContext>) {
    const { request, context } = options;
    const identity = (context as Partial<GatewayContext>).identity;
    // Health probes and other internal calls carry no caller: they travel as anonymous.
    request.http?.headers.set(
      IDENTITY_HEADER,
      signIdentity(identity ?? { userId: null, role: null }, this.internalSecret, this.name),
    );
    const requestId = (context as Partial<GatewayContext>).requestId;
    if (requestId) request.http?.headers.set(REQUEST_ID_HEADER, requestId);
    // Only a client's operation has one; health checks and schema loads do not.
    if ('incomingRequestContext' in options) {
      const key = options.incomingRequestContext.request.http?.headers.get(IDEMPOTENCY_KEY_HEADER);
      if (key) request.http?.headers.set(IDEMPOTENCY_KEY_HEADER, key);
    }
  }

  /**
   * A subgraph that refuses a request with 4xx (a variable its scalars reject, say) answers
   * with GraphQL errors: pass those on with their own codes instead of a bare "400: Bad
   * Request" carrying the subgraph's URL and body.
   */
  override async errorFromResponse(response: FetcherResponse): Promise<GraphQLError> {
    let body: ErrorBody | null = null;
    try {
      body = JSON.parse(await response.text()) as ErrorBody | null;
    } catch {
      body = null;
    }
    const first = body?.errors?.[0];
    const code = first?.extensions?.code;
    if (response.status < 500 && response.status !== 401 && first && isPublicCode(code)) {
      const { stacktrace: _stack, ...extensions } = first.extensions ?? {};
      return new GraphQLError(first.message ?? 'Bad request', {
        extensions: { ...extensions, serviceName: this.name },
      });
    }
    // 401 here means the gateway's own signature was refused: our fault, not the caller's.
    return new GraphQLError(`Service "${this.name}" refused the request (${response.status})`, {
      extensions: { code: 'INTERNAL_SERVER_ERROR', serviceName: this.name },
    });
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
