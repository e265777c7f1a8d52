import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import {
  CloseCode,
  handleProtocols,
  makeServer,
  type ConnectionInitMessage,
  type ServerOptions,
} from 'graphql-ws';
import type { Extra } from 'graphql-ws/use/ws';
import type { WebSocket, WebSocketServer } from 'ws';
import type { Logger } from './logger';

export interface GraphqlWsServerOptions {
  readonly log: Logger;
  /** Close reasons of internal failures say nothing in production. */
  readonly isProd: boolean;
  /** Between keep-alive pings; a ping unanswered for as long ends the socket (12 s). */
  readonly keepAliveMs?: number;
  /**
   * Bytes queued for a client that does not read, beyond which the socket is no longer read
   * (its next messages wait in the network) until they have gone out (1 MiB).
   */
  readonly pauseAtBufferedBytes?: number;
  /**
   * Bytes queued beyond which the client is cut off (the socket destroyed): it reads far
   * slower than it asks (no limit by default).
   */
  readonly dropAtBufferedBytes?: number;
}

const PAUSE_AT_BUFFERED_BYTES = 1024 * 1024;

/**
 * graphql-ws over a `ws` server: `graphql-ws/use/ws`'s `useServer`, with three changes a
 * hostile client made necessary.
 *
 * - **Backpressure.** A client can send messages faster than it reads the answers (a ping
 *   flood, or queries whose results it never reads): past `pauseAtBufferedBytes` queued for
 *   it, its socket is not read until they have gone out, so its next messages wait in the
 *   network, not in our memory; past `dropAtBufferedBytes` it is cut off.
 * - **A send to a socket gone is no error.** `useServer` rejects it, and then logs a
 *   multi-line `console.error` per message still queued (tens of thousands after a ping
 *   flood and a reset); here it resolves, and the socket's close ends the rest.
 * - **Logs are the service's** (JSON, through `log`), never `console`.
 */
export function serveGraphqlWs<
  P extends ConnectionInitMessage['payload'] = ConnectionInitMessage['payload'],
  E extends Record<PropertyKey, unknown> = Record<PropertyKey, never>,
>(
  serverOptions: ServerOptions<P, Extra & Partial<E>>,
  wss: WebSocketServer,
  options: GraphqlWsServerOptions,
): { dispose: () => Promise<void> } {
  const { log, isProd } = options;
  const keepAliveMs = options.keepAliveMs ?? 12_000;
  const pauseAt = options.pauseAtBufferedBytes ?? PAUSE_AT_BUFFERED_BYTES;
  const dropAt = options.dropAtBufferedBytes ?? Infinity;
  const server = makeServer(serverOptions);
  wss.options.handleProtocols = handleProtocols;
  const internalReason = (err: unknown) =>
    isProd ? 'Internal server error' : limitCloseReason(errorMessage(err));

  wss.once('error', (err) => {
    log.error({ err }, 'WebSocket server error: closing every socket');
    for (const client of wss.clients)
      client.close(CloseCode.InternalServerError, internalReason(err));
  });

  wss.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    // The connection's TCP socket (the upgrade's): `drain` says the queue has gone out.
    const raw: Socket = request.socket;
    socket.once('error', (err) => {
      // A client's fault (an invalid frame, a message over the size limit): ws closes it.
      log.debug({ err: errorMessage(err) }, 'WebSocket error from a client');
    });

    let pongWait: NodeJS.Timeout | undefined;
    const pingInterval =
      keepAliveMs > 0 && Number.isFinite(keepAliveMs)
        ? setInterval(() => {
            if (socket.readyState !== socket.OPEN) return;
            pongWait = setTimeout(() => socket.terminate(), keepAliveMs);
            socket.once('pong', () => {
              clearTimeout(pongWait);
              pongWait = undefined;
            });
            socket.ping();
          }, keepAliveMs)
        : undefined;

    /** After every message read and every send: read on only while the queue is short. */
    const checkQueue = () => {
      const queued = socket.bufferedAmount;
      if (queued > dropAt) {
        log.warn({ queued }, 'cut off a WebSocket client that does not read its answers');
        socket.terminate();
        return;
      }
      if (queued <= pauseAt || socket.isPaused || socket.readyState !== socket.OPEN) return;
      socket.pause();
      raw.once('drain', () => {
        if (socket.readyState === socket.OPEN) socket.resume();
      });
    };

    const closed = server.opened(
      {
        protocol: socket.protocol,
        send: (data) =>
          new Promise<void>((resolve) => {
            if (socket.readyState !== socket.OPEN) return resolve();
            // An error here means the socket is going; its close ends what is left.
            socket.send(data, () => resolve());
            checkQueue();
          }),
        close: (code, reason) => socket.close(code, reason),
        onMessage: (cb) =>
          socket.on('message', (message: Buffer | ArrayBuffer | Buffer[]) => {
            checkQueue();
            cb(textOf(message)).catch((err: unknown) => {
              log.error({ err }, 'WebSocket message handling failed: closing the socket');
              socket.close(CloseCode.InternalServerError, internalReason(err));
            });
          }),
      },
      { socket, request } as Extra & Partial<E>,
    );

    socket.once('close', (code, reason) => {
      clearTimeout(pongWait);
      clearInterval(pingInterval);
      void closed(code, String(reason));
    });
  });

  return {
    dispose: async () => {
      for (const client of wss.clients) client.close(1001, 'Going away');
      wss.removeAllListeners();
      await new Promise<void>((resolve, reject) =>
        wss.close((err) => (err ? reject(err) : resolve())),
      );
    },
  };
}

/** A WebSocket close reason is at most 123 bytes. */
function limitCloseReason(reason: string): string {
  return Buffer.byteLength(reason) < 124 ? reason : 'Internal server error';
}

const errorMessage = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** A message as ws hands it (one buffer, fragments, or an ArrayBuffer) as text. */
function textOf(message: Buffer | ArrayBuffer | Buffer[]): string {
  if (Buffer.isBuffer(message)) return message.toString('utf8');
  if (Array.isArray(message)) return Buffer.concat(message).toString('utf8');
  return Buffer.from(message).toString('utf8');
}
