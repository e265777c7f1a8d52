import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { startGateway } from '../../gateway/src/gateway';
import { loadConfig } from '../../runtime/config';
import {
  checkPostgresReachable,
  installLastResortHandlers,
  StartupError,
} from '../../runtime/lifecycle';
import { embeddedPostgres } from '../../scripts/embedded-postgres';
import { tokenCommand } from '../../scripts/token';
import { testKeys } from '../support/test-config';

/** A TCP port that something else holds, and how to let it go. */
async function occupyPort(): Promise<{ port: number; release: () => Promise<void> }> {
  const server: Server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return { port, release: () => new Promise((r) => server.close(() => r())) };
}

describe('start-up failures are one sentence naming the fix', () => {
  const disposals: Array<() => Promise<void> | void> = [];
  afterAll(async () => {
    for (const dispose of disposals.reverse()) await dispose();
  });

  it('a busy PORT names the port and the setting, without a WebSocket error', async () => {
    const taken = await occupyPort();
    disposals.push(taken.release);
    const errors = jest.spyOn(console, 'error').mockImplementation(() => {});
    disposals.push(() => errors.mockRestore());
    const config = loadConfig('gateway', {
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: String(taken.port),
      CLERK_JWT_KEY: testKeys().publicKeyPem,
      REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
    });
    const sockets = () =>
      process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
    const socketsBefore = sockets();
    const failure = await startGateway(config).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(StartupError);
    expect((failure as Error).message).toBe(
      `Port ${taken.port} is in use: stop the other process or set PORT to a free port (e.g. PORT=${taken.port + 1}).`,
    );
    // graphql-ws prints its server's errors ("Internal error emitted on the WebSocket server").
    expect(errors).not.toHaveBeenCalled();
    // Nothing started before the failure stays open (its Redis connection included).
    expect(sockets()).toBe(socketsBefore);
  });

  it('an unreachable DATABASE_URL says where, and to start it or fix the setting', async () => {
    const closed = await occupyPort();
    await closed.release();
    await expect(
      checkPostgresReachable(`postgres://postgres@127.0.0.1:${closed.port}/movies`),
    ).rejects.toThrow(
      new StartupError(
        `Cannot reach PostgreSQL at 127.0.0.1:${closed.port}: is it running? Start it or fix DATABASE_URL.`,
      ),
    );
  });

  it('a second npm start from the same folder names the first one', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'moviehub-startup-'));
    disposals.push(() => rmSync(dataDir, { recursive: true, force: true }));
    // The first npm start: a live node process holding the folder's lock.
    const first: ChildProcess = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e6)'], {
      stdio: 'ignore',
    });
    disposals.push(() => void first.kill());
    writeFileSync(join(dataDir, 'postgres.lock'), JSON.stringify({ pid: first.pid }));
    const second = embeddedPostgres({ dataDir, port: 1, log: () => {} });
    await expect(second.start()).rejects.toThrow(
      new StartupError(
        `Another npm start is already running from this folder (pid ${first.pid}): stop it ` +
          `(Ctrl-C in its terminal, or kill ${first.pid}) or set EMBEDDED_DATA_DIR to another folder.`,
      ),
    );
    await second.stop();
  });
});

describe('npm run token', () => {
  it('prints its usage for --help and for an unknown option', () => {
    expect(tokenCommand(['--help'])).toEqual({
      out: expect.stringContaining('Usage: npm run token -- [--role ROLE]'),
      code: 0,
    });
    const wrong = tokenCommand(['--rol', 'ADMIN']);
    expect(wrong.code).toBe(2);
    expect(wrong.out).toContain("Unknown option '--rol'");
    expect(wrong.out).toContain('Usage: npm run token');
  });

  it('mints a token with the key pair of the data folder', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'moviehub-token-'));
    try {
      const { out, code } = tokenCommand(
        ['--role', 'admin', '--user', 'demo-admin', '--azp', 'http://localhost:3000'],
        {
          EMBEDDED_DATA_DIR: dataDir,
        },
      );
      expect(code).toBe(0);
      const payload = JSON.parse(Buffer.from(out.split('.')[1], 'base64url').toString());
      expect(payload).toMatchObject({
        sub: 'demo-admin',
        azp: 'http://localhost:3000',
        metadata: { role: 'ADMIN' },
      });
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('the last-resort handlers', () => {
  const lines: Array<Record<string, any>> = [];
  const log = pino(
    { base: { service: 'test' } },
    new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    }),
  );
  type Listener = (...args: unknown[]) => void;
  type Event = 'unhandledRejection' | 'uncaughtException';
  const listeners = (event: Event) => process.listeners(event as 'exit') as Listener[];
  const before = {
    unhandledRejection: listeners('unhandledRejection'),
    uncaughtException: listeners('uncaughtException'),
  };
  /** The listeners installed since this file started: the handlers under test. */
  const added = (event: Event) => listeners(event).filter((l) => !before[event].includes(l));

  beforeAll(() => installLastResortHandlers(log));
  afterAll(() => {
    for (const event of ['unhandledRejection', 'uncaughtException'] as const) {
      for (const l of added(event)) process.off(event, l);
    }
  });

  it('log an unhandled rejection with its stack, and keep running', () => {
    const [handler] = added('unhandledRejection');
    expect(handler).toBeDefined();
    const exit = jest.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    try {
      handler(new Error('redis went away'), Promise.resolve());
      expect(exit).not.toHaveBeenCalled();
    } finally {
      exit.mockRestore();
    }
    expect(lines.at(-1)).toMatchObject({
      level: 50,
      msg: 'unhandled promise rejection (still running)',
      err: { message: 'redis went away', stack: expect.stringContaining('startup.test') },
    });
  });

  it('log an uncaught exception with its stack, then exit with 1', () => {
    const [handler] = added('uncaughtException');
    expect(handler).toBeDefined();
    const exit = jest.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    try {
      handler(new TypeError('undefined is not a function'), 'uncaughtException');
      expect(exit).toHaveBeenCalledWith(1);
    } finally {
      exit.mockRestore();
    }
    expect(lines.at(-1)).toMatchObject({
      level: 60,
      msg: 'uncaught exception: exiting',
      err: { type: 'TypeError', stack: expect.stringContaining('startup.test') },
    });
  });
});
