import type { ApolloServer } from '@apollo/server';
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { GraphQLError, print, type ExecutionResult } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { AppConfig, SubgraphName } from '../../runtime/config';
import { IDENTITY_HEADER, signIdentity } from '../../runtime/identity';
import { REQUEST_ID_HEADER, type Logger } from '../../runtime/logger';
import type { Authentication, Authenticator } from './authenticate';
import { SubgraphClient, type GatewayContext } from './subgraph-client';
import { FederatedSubscriptions } from './subscriptions/federated-subscriptions';

/** The subgraph's graphql-ws endpoint: the same URL as its HTTP one, on ws(s). */
const wsUrl = (httpUrl: string) => httpUrl.replace(/^http/, 'ws');

/**
 * graphql-transport-ws on the gateway's `/graphql`, beside HTTP: subscriptions are planned by
 * the gateway's query planner and executed by {@link FederatedSubscriptions} (root field from
 * its subgraph, other subgraphs' fields per event); queries and mutations sent over the socket
 * go through Apollo Server as over HTTP. The Clerk token is checked at `connection_init`
 * (`payload.authorization`): none is anonymous, a bad one closes the socket with 4401.
 */
export function serveWebSockets(options: {
  httpServer: Server;
  apollo: ApolloServer<GatewayContext>;
  supergraphSdl: string;
  config: AppConfig;
  authenticate: Authenticator;
  log: Logger;
}): { dispose(): Promise<void>; subscriptions: FederatedSubscriptions<GatewayContext> } {
  const { config, log } = options;
  const subscriptions = new FederatedSubscriptions<GatewayContext>({
    supergraphSdl: options.supergraphSdl,
    serviceMap: Object.fromEntries(
      (Object.keys(config.subgraphUrls) as SubgraphName[]).map((name) => [
        name,
        new SubgraphClient(name, config.subgraphUrls[name], config.internalSecret),
      ]),
    ),
    subscriptionUrl: (name) => wsUrl(config.subgraphUrls[name as SubgraphName]),
    upstreamHeaders: (ctx, serviceName) => ({
      [IDENTITY_HEADER]: signIdentity(ctx.identity, config.internalSecret, serviceName),
      [REQUEST_ID_HEADER]: ctx.requestId,
    }),
    // Events carry `heldByMe`, computed by the cinemas subgraph for the connection's user:
    // only subscribers who are the same user (or all anonymous ones) may share an upstream.
    shareKey: (ctx) => ctx.identity.userId ?? '',
    // Fields of other subgraphs depend on who asks, nothing else: subscribers who are the same
    // user (or all anonymous ones) get one result per event, fetched once.
    resultShareKey: (ctx) => ctx.identity.userId ?? '',
    logger: log,
  });

  const wss = new WebSocketServer({
    server: options.httpServer,
    path: '/graphql',
    // As HTTP bodies: no message a client needs is larger.
    maxPayload: 1024 * 1024,
  });
  const server = useServer<Record<string, unknown>, { auth?: Authentication }>(
    {
      schema: subscriptions.schema,
      onConnect: async (ctx) => {
        const authorization = ctx.connectionParams?.authorization;
        try {
          ctx.extra.auth = await options.authenticate(
            typeof authorization === 'string' ? authorization : undefined,
          );
          return true;
        } catch {
          (ctx.extra as unknown as { socket: WebSocket }).socket.close(
            CloseCode.Unauthorized,
            'Unauthorized',
          );
          return false;
        }
      },
      // Clerk session tokens are short-lived: a socket keeps its subscriptions, but anything it
      // starts after its token expired (a new subscription, a query, a mutation) is refused,
      // so a demoted or signed-out user cannot act on an old socket. Clients reconnect with a
      // fresh token.
      onSubscribe: (ctx) => {
        const expiresAt = ctx.extra.auth?.expiresAt;
        if (expiresAt != null && expiresAt * 1000 <= Date.now()) {
          return [
            new GraphQLError('The session token has expired; reconnect with a fresh one', {
              extensions: { code: 'UNAUTHENTICATED' },
            }),
          ];
        }
        return undefined;
      },
      context: (ctx): GatewayContext => ({
        requestId: randomUUID(),
        identity: ctx.extra.auth!.identity,
      }),
      subscribe: async (args) => {
        const context = args.contextValue as GatewayContext;
        const result = await subscriptions.subscribe({
          document: args.document,
          operationName: args.operationName ?? undefined,
          variables: (args.variableValues ?? {}) as Record<string, unknown>,
          context,
        });
        return result as AsyncIterableIterator<ExecutionResult> | ExecutionResult;
      },
      execute: async (args) => {
        const response = await options.apollo.executeOperation(
          {
            query: print(args.document),
            variables: (args.variableValues ?? {}) as Record<string, unknown>,
            operationName: args.operationName ?? undefined,
          },
          { contextValue: args.contextValue as GatewayContext },
        );
        if (response.body.kind !== 'single') {
          return { errors: [new GraphQLError('Incremental delivery is not supported here')] };
        }
        return response.body.singleResult as ExecutionResult;
      },
    },
    wss,
  );
  return {
    subscriptions,
    dispose: async () => {
      await server.dispose();
      await subscriptions.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
