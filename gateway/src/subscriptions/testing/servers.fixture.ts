// Test fixtures of the subscriptions module (not part of it): the "a" and "b" subgraphs on
// real servers, the gateway's data source, and a TCP proxy to break the path with.
import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import type { GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, connect, type AddressInfo, type Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import { composeTicks, subgraphA, subgraphB, type TestContext } from './ticks.fixture';

export interface RunningSubgraph {
  readonly url: string;
  readonly wsUrl: string;
  stop(): Promise<void>;
}

function userOf(header: string | string[] | undefined): string | null {
  return typeof header === 'string' ? header : null;
}

/** A subgraph on port 0: HTTP for queries and `_entities`, optionally graphql-ws as well. */
export async function startSubgraph(
  schema: GraphQLSchema,
  withWebSocket: boolean,
): Promise<RunningSubgraph> {
  const app = express();
  const httpServer: Server = createServer(app);
  const apollo = new ApolloServer({
    schema,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      ApolloServerPluginInlineTraceDisabled(),
    ],
  });
  await apollo.start();
  app.use(
    '/graphql',
    express.json(),
    expressMiddleware(apollo, {
      context: ({ req }) => Promise.resolve({ user: userOf(req.headers['x-user']) }),
    }),
  );
  const wsServer = withWebSocket
    ? new WebSocketServer({ server: httpServer, path: '/graphql' })
    : undefined;
  const wsHandler = wsServer
    ? useServer(
        { schema, context: (ctx) => ({ user: userOf(ctx.extra.request.headers['x-user']) }) },
        wsServer,
      )
    : undefined;
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const { port } = httpServer.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    wsUrl: `ws://127.0.0.1:${port}/graphql`,
    stop: async () => {
      await wsHandler?.dispose();
      if (wsServer) await new Promise<void>((resolve) => wsServer.close(() => resolve()));
      await apollo.stop();
    },
  };
}

/** The gateway's data source: forwards the caller as `x-user`, like a signed identity header. */
export class UserDataSource extends RemoteGraphQLDataSource<TestContext> {
  override willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<TestContext>) {
    if (context.user) request.http?.headers.set('x-user', context.user);
  }
}

/** Subgraphs "a" (with graphql-ws) and "b" running, their supergraph and the gateway's data sources. */
export interface TicksSubgraphs {
  readonly a: RunningSubgraph;
  readonly b: RunningSubgraph;
  readonly supergraphSdl: string;
  readonly serviceMap: Record<string, UserDataSource>;
  stop(): Promise<void>;
}

export async function startTicksSubgraphs(): Promise<TicksSubgraphs> {
  const a = await startSubgraph(buildSubgraphSchema([subgraphA]), true);
  const b = await startSubgraph(buildSubgraphSchema([subgraphB]), false);
  return {
    a,
    b,
    supergraphSdl: composeTicks({ a: a.url, b: b.url }),
    serviceMap: {
      a: new UserDataSource({ url: a.url }),
      b: new UserDataSource({ url: b.url }),
    },
    stop: async () => {
      await a.stop();
      await b.stop();
    },
  };
}

/**
 * A TCP proxy between the gateway and a subgraph, to break the path the ways networks do:
 * `silence()` (connections stay open, nothing passes: a dead peer nobody is told about) and
 * `cut()` (connections reset, nothing listens any more).
 */
export class TcpProxy {
  private readonly pairs = new Set<{ client: Socket; upstream: Socket; silent: boolean }>();
  private readonly server = createTcpServer((client) => {
    const upstream = connect(this.targetPort, '127.0.0.1');
    const pair = { client, upstream, silent: false };
    this.pairs.add(pair);
    client.on('data', (chunk) => void (pair.silent || upstream.write(chunk)));
    upstream.on('data', (chunk) => void (pair.silent || client.write(chunk)));
    const close = () => {
      if (pair.silent) return;
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  });

  private constructor(private readonly targetPort: number) {}

  static async start(targetUrl: string): Promise<TcpProxy> {
    const proxy = new TcpProxy(Number(new URL(targetUrl).port));
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}/graphql`;
  }

  /** Open connections go silent; new ones pass (the route changed, the old one died). */
  silence(): void {
    for (const pair of this.pairs) pair.silent = true;
  }

  /** Resets every connection and stops listening: reconnecting is refused. */
  async cut(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const pair of this.pairs) {
      pair.client.destroy();
      pair.upstream.destroy();
    }
    this.pairs.clear();
    await closed;
  }
}

/** A port nothing listens on. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
