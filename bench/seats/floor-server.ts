/**
 * The fan-out's floor, as a forked process: a bare `graphql-transport-ws` server on `ws`,
 * without federation, Redis, authentication or GraphQL execution. It acknowledges
 * connection_init, keeps each subscribe's id, and when the parent sends an event (IPC
 * `emit`, its payload already serialised) writes that one payload to every subscriber with
 * the gateway's own frame writer (`gateway/src/text-frames.ts`), one buffer and one `write`
 * per socket, as the gateway's fan-out does. What is left is the cost of writing the frames
 * to the sockets: the least any server in Node.js pays per delivery on this machine.
 * `fan-out-floor.ts` runs it. Messages: → `{ listening: port }`, `{ cpuMicros }`;
 * ← `{ emit: payload }`, `{ cpu: true }`.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { frameWriter, type FrameWriter } from '../../gateway/src/text-frames';

const SUFFIX = Buffer.from('}');
const prefixes = new Map<string, Buffer>();
const prefixFor = (id: string): Buffer => {
  let prefix = prefixes.get(id);
  if (!prefix) {
    prefix = Buffer.from(`{"id":${JSON.stringify(id)},"type":"next","payload":`);
    prefixes.set(id, prefix);
  }
  return prefix;
};

/** Every live subscription: its socket's writer and its id. */
const subscriptions = new Map<WebSocket, { writer: FrameWriter; ids: Set<string> }>();
const noop = () => undefined;

const server = createServer((_req, res) => res.writeHead(404).end());
const wss = new WebSocketServer({
  server,
  handleProtocols: (protocols) =>
    protocols.has('graphql-transport-ws') ? 'graphql-transport-ws' : false,
});
wss.on('connection', (socket) => {
  const entry = { writer: frameWriter(socket), ids: new Set<string>() };
  socket.on('message', (raw: Buffer) => {
    let message: { type?: string; id?: string };
    try {
      message = JSON.parse(raw.toString()) as typeof message;
    } catch {
      socket.close(4400, 'not JSON');
      return;
    }
    if (message.type === 'connection_init') {
      socket.send('{"type":"connection_ack"}');
    } else if (message.type === 'subscribe' && typeof message.id === 'string') {
      entry.ids.add(message.id);
      subscriptions.set(socket, entry);
    } else if (message.type === 'complete' && typeof message.id === 'string') {
      entry.ids.delete(message.id);
    } else if (message.type === 'ping') {
      socket.send('{"type":"pong"}');
    }
  });
  socket.on('close', () => subscriptions.delete(socket));
});

process.on('message', (message: { emit?: string; cpu?: boolean }) => {
  if (typeof message.emit === 'string') {
    const payload = Buffer.from(message.emit);
    for (const { writer, ids } of subscriptions.values()) {
      for (const id of ids) writer.write(prefixFor(id), payload, SUFFIX, noop);
    }
  } else if (message.cpu) {
    const used = process.cpuUsage();
    process.send!({ cpuMicros: used.user + used.system });
  }
});
process.on('disconnect', () => process.exit(0));

server.listen(0, '127.0.0.1', () => {
  process.send!({ listening: (server.address() as AddressInfo).port });
});
