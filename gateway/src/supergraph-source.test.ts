import { execFileSync } from 'node:child_process';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../../tests/support/wait-for';
import {
  MAX_SUPERGRAPH_BYTES,
  sdlHash,
  watchSupergraph,
  type SupergraphOrigin,
} from './supergraph-source';

const silent = { warn: () => {}, error: () => {}, debug: () => {} };

/** A watcher whose "served" text is the last one it handed on (as the gateway's is). */
function watchInto(options: { path?: string; url?: string; served: string }) {
  const seen: Array<{ sdl: string; origin: SupergraphOrigin }> = [];
  let served = options.served;
  const warnings: string[] = [];
  const debugs: string[] = [];
  const watcher = watchSupergraph({
    path: options.path,
    url: options.url,
    currentHash: () => sdlHash(served),
    onText: (sdl, origin) => {
      served = sdl;
      seen.push({ sdl, origin });
      return Promise.resolve();
    },
    log: {
      ...silent,
      warn: (...args: unknown[]) => void warnings.push(String(args[1])),
      debug: (...args: unknown[]) => void debugs.push(String(args[1])),
    },
    debounceMs: 20,
    filePollMs: 100,
    urlPollMs: 1000,
  });
  return { seen, warnings, debugs, watcher };
}

describe('watchSupergraph', () => {
  let dir: string;
  const closers: Array<() => void> = [];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'supergraph-source-'));
  });
  afterEach(async () => {
    while (closers.length) closers.pop()!();
    await rm(dir, { recursive: true, force: true });
  });

  it('hands on a file written in place and one replaced by rename, never the served text again', async () => {
    const path = join(dir, 'supergraph.graphql');
    await writeFile(path, 'v1');
    const { seen, watcher } = watchInto({ path, served: 'v1' });
    closers.push(() => watcher.close());

    await writeFile(path, 'v2');
    await waitFor(() => seen.some((s) => s.sdl === 'v2'), 'v2 written in place');
    await writeFile(join(dir, 'next.tmp'), 'v3');
    await rename(join(dir, 'next.tmp'), path);
    await waitFor(() => seen.some((s) => s.sdl === 'v3'), 'v3 renamed over the file');
    // The same text again (a touch, a rewrite) is not a new composition.
    await writeFile(path, 'v3');
    await writeFile(path, 'v4');
    await waitFor(() => seen.some((s) => s.sdl === 'v4'), 'v4');
    expect(seen.map((s) => s.sdl)).toEqual(['v2', 'v3', 'v4']);
    expect(seen[0].origin).toEqual({ kind: 'file', where: path });
  });

  it('never hands on an empty file (one read between its truncation and its text)', async () => {
    const path = join(dir, 'supergraph.graphql');
    await writeFile(path, 'v1');
    const { seen, debugs, watcher } = watchInto({ path, served: 'v1' });
    closers.push(() => watcher.close());
    await writeFile(path, '');
    await waitFor(() => debugs.length > 0, 'the empty file read');
    await writeFile(path, '  \n');
    await waitFor(() => debugs.length > 1, 'the blank file read');
    await writeFile(path, 'v2');
    await waitFor(() => seen.some((s) => s.sdl === 'v2'), 'v2');
    expect(seen.map((s) => s.sdl)).toEqual(['v2']);
  });

  it('reads a file that is refused (a FIFO, a folder, too large) without blocking, and goes on to the next', async () => {
    const path = join(dir, 'supergraph.graphql');
    execFileSync('mkfifo', [path]);
    const { seen, warnings, watcher } = watchInto({ path, served: 'v1' });
    closers.push(() => watcher.close());
    await waitFor(() => warnings.length > 0, 'the FIFO refused');
    await rm(path);
    // Renamed into place whole: written in place, a part of it could be read before the rest.
    await writeFile(join(dir, 'large.tmp'), Buffer.alloc(MAX_SUPERGRAPH_BYTES + 1, 'x'));
    await rename(join(dir, 'large.tmp'), path);
    await waitFor(() => warnings.length > 1, 'the large file refused');
    await writeFile(join(dir, 'next.tmp'), 'v2');
    await rename(join(dir, 'next.tmp'), path);
    await waitFor(() => seen.some((s) => s.sdl === 'v2'), 'v2 after the refused ones');
    expect(seen.map((s) => s.sdl)).toEqual(['v2']);
  });

  describe('a URL', () => {
    let server: Server;
    let body: string | (() => void);
    let base: string;
    beforeEach(async () => {
      body = 'from-url-1';
      server = createServer((_req, res) => {
        if (typeof body === 'function') return body();
        res.end(body);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/supergraph`;
    });
    afterEach(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });

    it('is fetched at once and polled, new texts handed on', async () => {
      const { seen, watcher } = watchInto({ url: base, served: 'built-in' });
      closers.push(() => watcher.close());
      await waitFor(() => seen.length === 1, 'the first fetch');
      expect(seen[0]).toEqual({ sdl: 'from-url-1', origin: { kind: 'url', where: base } });
      body = 'from-url-2';
      await waitFor(() => seen.length === 2, 'the next poll', 5000);
      expect(seen[1].sdl).toBe('from-url-2');
    });

    it('refuses a body over the size cap, even one that declares no length, and keeps polling', async () => {
      let calls = 0;
      body = () => undefined;
      server.removeAllListeners('request');
      server.on('request', (_req, res) => {
        calls += 1;
        if (calls === 1) {
          // Chunked, no Content-Length: one byte over the cap in 1 MiB pieces.
          res.writeHead(200, { 'content-type': 'text/plain' });
          const piece = Buffer.alloc(1024 * 1024, 'x');
          let sent = 0;
          const push = () => {
            while (sent <= MAX_SUPERGRAPH_BYTES) {
              sent += piece.length;
              if (!res.write(piece)) return void res.once('drain', push);
            }
            res.end();
          };
          push();
        } else {
          res.end('small');
        }
      });
      const { seen, warnings, watcher } = watchInto({ url: base, served: 'built-in' });
      closers.push(() => watcher.close());
      await waitFor(() => seen.length === 1, 'the poll after the refused body', 5000);
      expect(seen[0].sdl).toBe('small');
      expect(warnings.some((w) => /SUPERGRAPH_URL/.test(w))).toBe(true);
    });
  });
});
