import { GraphQLObjectType, GraphQLSchema, GraphQLString } from 'graphql';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { waitFor } from '../tests/support/wait-for';
import { serveGraphqlWs, type GraphqlWsServerOptions } from './graphql-ws-server';
import { createLogger } from './logger';

/** A server whose one query answers `resultBytes` of text; counts what it executed. */
async function start(options: Partial<GraphqlWsServerOptions>, resultBytes = 200_000) {
  let executed = 0;
  const schema = new GraphQLSchema({
    query: new GraphQLObjectType({
      name: 'Query',
      fields: {
        big: {
          type: GraphQLString,
          resolve: () => {
            executed += 1;
            return 'x'.repeat(resultBytes);
          },
        },
      },
    }),
  });
  const log = createLogger('graphql-ws-test', 'silent');
  const logged = jest.spyOn(log, 'error');
  const http: Server = createServer();
  const wss = new WebSocketServer({ server: http, path: '/graphql' });
  const server = serveGraphqlWs({ schema }, wss, { log, isProd: true, ...options });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/graphql`;
  return {
    wss,
    logged,
    executed: () => executed,
    /** A client past connection_ack. */
    client: async () => {
      const ws = new WebSocket(url, 'graphql-transport-ws');
      ws.on('error', () => {});
      await new Promise((resolve) => ws.once('open', resolve));
      ws.send(JSON.stringify({ type: 'connection_init' }));
      await new Promise((resolve) => ws.once('message', resolve));
      return ws;
    },
    stop: async () => {
      await server.dispose();
      await new Promise((resolve) => http.close(resolve));
    },
  };
}

/** The server's side of its only connection. */
const serverSide = (wss: WebSocketServer) => [...wss.clients][0];
/** `count` queries for `big`, each message padded so that they take many reads to arrive. */
const queries = (count: number) =>
  Array.from({ length: count }, (_, i) =>
    JSON.stringify({
      id: `q${i}`,
      type: 'subscribe',
      payload: { query: `{ big }${' '.repeat(4000)}` },
    }),
  );

describe('serveGraphqlWs', () => {
  let server: Awaited<ReturnType<typeof start>> | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it('stops reading a client that does not read its answers, and reads on once it does', async () => {
    server = await start({ pauseAtBufferedBytes: 64 * 1024 });
    const ws = await server.client();
    const raw = (ws as unknown as { _socket: Socket })._socket;
    raw.pause(); // the client reads nothing from now on
    let answered = 0;
    ws.on('message', (data: Buffer) => {
      if (data.includes('"complete"')) answered += 1;
    });
    for (const message of queries(300)) ws.send(message);
    // Once the network's buffers are full (a few MB), answers queue here, and reading stops.
    await waitFor(() => serverSide(server!.wss)?.isPaused, 'the server to stop reading');
    const whilePaused = server.executed();
    expect(whilePaused).toBeLessThan(300);
    expect(serverSide(server.wss).bufferedAmount).toBeGreaterThan(64 * 1024);
    raw.resume();
    await waitFor(() => answered === 300, 'every answer', 30_000);
    expect(server.executed()).toBe(300);
    expect(serverSide(server.wss).isPaused).toBe(false);
    ws.close();
  });

  it('cuts off a client past dropAtBufferedBytes', async () => {
    server = await start({ pauseAtBufferedBytes: 64 * 1024, dropAtBufferedBytes: 512 * 1024 });
    const ws = await server.client();
    (ws as unknown as { _socket: Socket })._socket.pause();
    // Small messages, read at once, with large answers: the queue passes the limit although
    // reading stopped.
    for (let i = 0; i < 100; i++) {
      ws.send(JSON.stringify({ id: `q${i}`, type: 'subscribe', payload: { query: '{ big }' } }));
    }
    await waitFor(() => server!.wss.clients.size === 0, 'the client to be cut off');
    ws.terminate();
  });

  it('takes a ping flood and a reset without logging an error per message', async () => {
    const console = jest.spyOn(global.console, 'error');
    server = await start({});
    const ws = await server.client();
    (ws as unknown as { _socket: Socket })._socket.pause();
    const ping = JSON.stringify({ type: 'ping' });
    for (let i = 0; i < 20_000; i++) ws.send(ping);
    await new Promise((resolve) => ws.send(ping, resolve));
    ws.terminate();
    await waitFor(() => server!.wss.clients.size === 0, 'the server to see the reset');
    expect(console).not.toHaveBeenCalled();
    expect(server.logged).not.toHaveBeenCalled();
    console.mockRestore();
  });
});
