import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { frameWriter } from './text-frames';

/** A ws server and one client connected to it; `received` has the client's messages. */
async function connected(perMessageDeflate: boolean) {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate });
  await once(wss, 'listening');
  const accepted = once(wss, 'connection') as Promise<[WebSocket]>;
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, {
    perMessageDeflate,
  });
  const received: { text: string; binary: boolean }[] = [];
  client.on('message', (data: Buffer, binary) =>
    received.push({ text: data.toString('utf8'), binary }),
  );
  const [[server]] = await Promise.all([accepted, once(client, 'open')]);
  return {
    server,
    client,
    received,
    async close() {
      client.terminate();
      for (const socket of wss.clients) socket.terminate();
      await new Promise((resolve) => wss.close(resolve));
    },
  };
}

const until = async (check: () => boolean) => {
  while (!check()) await new Promise((resolve) => setImmediate(resolve));
};

describe('text frames written in one buffer', () => {
  it("finds the ws internals it relies on, as ws's own server socket has them", async () => {
    const c = await connected(false);
    try {
      const internals = c.server as unknown as {
        _socket: { write: unknown };
        _sender: { _state: unknown; _queue: unknown };
        _extensions: Record<string, unknown>;
      };
      expect(typeof internals._socket.write).toBe('function');
      expect(internals._sender._state).toBe(0);
      expect(internals._sender._queue).toEqual([]);
      expect(internals._extensions).toEqual({});
    } finally {
      await c.close();
    }
  });

  it('arrive as the text ws.send would send, at every length encoding, in order with ws.send', async () => {
    const c = await connected(false);
    try {
      const writer = frameWriter(c.server);
      const texts = [
        'x'.repeat(10), // 7-bit length
        'é'.repeat(100), // 16-bit length, multibyte UTF-8
        'y'.repeat(70_000), // 64-bit length
        '', // empty payload
      ];
      let written = 0;
      const expected: string[] = [];
      for (const [i, text] of texts.entries()) {
        const prefix = Buffer.from(`{"id":"${i}","payload":`);
        expect(
          writer.write(prefix, Buffer.from(JSON.stringify(text)), Buffer.from('}'), () => {
            written += 1;
          }),
        ).toBe(true);
        expected.push(`{"id":"${i}","payload":${JSON.stringify(text)}}`);
        c.server.send(`between ${i}`);
        expected.push(`between ${i}`);
      }
      await until(() => c.received.length === expected.length && written === texts.length);
      expect(c.received).toEqual(expected.map((text) => ({ text, binary: false })));
    } finally {
      await c.close();
    }
  });

  it('go through ws.send, in order, when compression was negotiated', async () => {
    const c = await connected(true);
    try {
      const writer = frameWriter(c.server);
      const big = 'z'.repeat(5000); // over ws's compression threshold: the sender queues
      c.server.send(big);
      let written = false;
      writer.write(Buffer.from('['), Buffer.from('"after"'), Buffer.from(']'), () => {
        written = true;
      });
      await until(() => c.received.length === 2 && written);
      expect(c.received).toEqual([
        { text: big, binary: false },
        { text: '["after"]', binary: false },
      ]);
    } finally {
      await c.close();
    }
  });

  it('write nothing to a socket that is closing', async () => {
    const c = await connected(false);
    try {
      c.server.close();
      let written = false;
      expect(
        frameWriter(c.server).write(Buffer.from('a'), Buffer.from('b'), Buffer.from('c'), () => {
          written = true;
        }),
      ).toBe(false);
      await once(c.client, 'close');
      expect({ received: c.received, written }).toEqual({ received: [], written: false });
    } finally {
      await c.close();
    }
  });
});
