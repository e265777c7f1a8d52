import { createHash } from 'node:crypto';
import { constants, watch, type FSWatcher } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Logger } from '../../runtime/logger';

/** Quiet time after the last change before the file is read: an editor or `cp` is done. */
export const DEFAULT_DEBOUNCE_MS = 250;
/** The stat poll behind `fs.watch` (which misses changes on some mounts and volumes). */
export const DEFAULT_FILE_POLL_MS = 5_000;
/** How often `SUPERGRAPH_URL` is fetched. */
export const DEFAULT_URL_POLL_MS = 30_000;
/** A composition is some tens of kilobytes; anything far larger is not one. */
export const MAX_SUPERGRAPH_BYTES = 16 * 1024 * 1024;
const URL_TIMEOUT_MS = 10_000;

export const sdlHash = (sdl: string): string => createHash('sha256').update(sdl).digest('hex');

/** Where a supergraph text came from, for the log. */
export type SupergraphOrigin = { readonly kind: 'file' | 'url'; readonly where: string };

export interface SupergraphSourceOptions {
  /** The file to watch (`SUPERGRAPH_PATH`). */
  readonly path?: string;
  /** A URL to poll (`SUPERGRAPH_URL`): its body is the supergraph SDL. */
  readonly url?: string;
  /** The hash of the text being served: only a different text is handed on. */
  readonly currentHash: () => string;
  /**
   * A new text. Called one at a time (the next waits for this one's promise), so two changes
   * in a row are never applied out of order.
   */
  readonly onText: (sdl: string, origin: SupergraphOrigin) => Promise<void>;
  readonly log: Pick<Logger, 'warn' | 'error' | 'debug'>;
  readonly debounceMs?: number;
  readonly filePollMs?: number;
  readonly urlPollMs?: number;
}

/**
 * Watches where the supergraph comes from and hands on every new text, whole: the file
 * (`fs.watch` on its folder, so a file replaced by rename — editors, `kubectl` ConfigMap
 * symlink swaps — is still seen, plus a stat poll as a backstop for mounts where `fs.watch`
 * says nothing), and optionally a URL polled on an interval. Changes are debounced, the text
 * read in full and hashed; the same text as the one served is ignored. Reading never throws
 * out of here: a failure is logged and the next change or poll tries again.
 *
 * @returns how to stop watching (timers and watchers are released; a read in progress ends
 * without handing anything on).
 */
export function watchSupergraph(options: SupergraphSourceOptions): { close(): void } {
  const { log } = options;
  const debounceMs = options.debounceMs ?? DEFAULT_DEBOUNCE_MS;
  let closed = false;
  let chain: Promise<void> = Promise.resolve();
  const timers = new Set<NodeJS.Timeout>();
  const later = (fn: () => void, ms: number): NodeJS.Timeout => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    // Watching never keeps the process alive on its own.
    timer.unref();
    timers.add(timer);
    return timer;
  };

  /** Hands one text on after the ones before it, unless it is what is served already. */
  const offer = (sdl: string, origin: SupergraphOrigin) => {
    chain = chain.then(async () => {
      if (closed || sdlHash(sdl) === options.currentHash()) return;
      try {
        await options.onText(sdl, origin);
      } catch (error) {
        log.error({ err: error, origin }, 'supergraph reload failed');
      }
    });
  };

  let watcher: FSWatcher | undefined;
  if (options.path) {
    const path = options.path;
    const name = basename(path);
    let lastStat: string | undefined;
    let reading = false;
    let again = false;
    const readNow = async (): Promise<void> => {
      if (closed) return;
      // A change seen during a read is read again after it: the first read may predate it.
      if (reading) {
        again = true;
        return;
      }
      reading = true;
      try {
        // The stat is noted even when the file is refused: the poll reads it again only once
        // it changes, so a bad file is reported once, not every poll.
        const text = await readBounded(path, (seen) => (lastStat = seen));
        // An empty file is one being written in place, read between its truncation and its
        // text (`writeFile`, `>`): never a supergraph, and the write's own event follows.
        if (text.trim() === '') log.debug({ path }, 'the supergraph file is empty for now');
        else offer(text, { kind: 'file', where: path });
      } catch (error) {
        // A file mid-replacement may be missing for a moment; the next event reads it.
        log.warn(
          { path, err: error },
          'cannot read the supergraph file (SUPERGRAPH_PATH); still serving the current one',
        );
      } finally {
        reading = false;
      }
      if (again) {
        again = false;
        await readNow();
      }
    };
    let debounce: NodeJS.Timeout | undefined;
    const changed = () => {
      if (closed) return;
      if (debounce) {
        clearTimeout(debounce);
        timers.delete(debounce);
      }
      debounce = later(() => void readNow(), debounceMs);
    };
    try {
      watcher = watch(dirname(path), { persistent: false }, (_event, filename) => {
        // Kubernetes swaps a ConfigMap through `..data`; anything else in the folder is not ours.
        if (filename === null || filename === name || String(filename).startsWith('..')) {
          changed();
        }
      });
      watcher.on('error', (error) => {
        log.warn({ path, err: error }, 'fs.watch failed on the supergraph folder; polling only');
        watcher?.close();
        watcher = undefined;
      });
    } catch (error) {
      log.warn({ path, err: error }, 'cannot fs.watch the supergraph folder; polling only');
    }
    // The backstop: a stat, and a read only when it differs from the last one seen.
    const poll = () => {
      later(() => {
        stat(path).then(
          (info) => {
            const seen = `${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}`;
            if (seen !== lastStat) changed();
          },
          // Missing for now: said when it is read.
          () => undefined,
        );
        if (!closed) poll();
      }, options.filePollMs ?? DEFAULT_FILE_POLL_MS);
    };
    // Read once now: the file may have changed between the gateway's first read and the
    // watch (the same text is ignored by its hash).
    changed();
    poll();
  }

  if (options.url) {
    const url = options.url;
    const fetchNow = async () => {
      try {
        const res = await fetch(url, {
          headers: { accept: 'text/plain, application/graphql, */*' },
          signal: AbortSignal.timeout(URL_TIMEOUT_MS),
        });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        const declared = Number(res.headers.get('content-length') ?? 0);
        if (declared > MAX_SUPERGRAPH_BYTES) throw new Error('the body is too large');
        offer(await boundedText(res), { kind: 'url', where: url });
      } catch (error) {
        log.warn(
          { url, err: error },
          'cannot fetch the supergraph (SUPERGRAPH_URL); still serving the current one',
        );
      }
    };
    const poll = (delay: number) => {
      later(() => {
        void fetchNow().then(() => {
          if (!closed) poll(options.urlPollMs ?? DEFAULT_URL_POLL_MS);
        });
      }, delay);
    };
    // At once: the URL, when set, is where current compositions come from.
    poll(0);
  }

  return {
    close: () => {
      closed = true;
      watcher?.close();
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}

/**
 * The body as text, read no further than {@link MAX_SUPERGRAPH_BYTES}: a server that sends
 * no length (or lies about it) cannot make the gateway buffer more than that.
 */
async function boundedText(res: Response): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_SUPERGRAPH_BYTES) {
      await reader.cancel();
      throw new Error('the body is too large');
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The file's text, from one open file: what is checked (a regular file, its size) is what is
 * read, even if the path is swapped meanwhile. Opened without blocking (a FIFO put there would
 * otherwise hold a thread-pool thread forever), and read no further than
 * {@link MAX_SUPERGRAPH_BYTES} even if the file grows while it is read.
 */
async function readBounded(path: string, onStat: (seen: string) => void): Promise<string> {
  const file = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const info = await file.stat();
    onStat(`${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}`);
    if (!info.isFile()) throw new Error('it is not a regular file');
    const tooLarge = () => new Error(`it is over ${MAX_SUPERGRAPH_BYTES} bytes`);
    if (info.size > MAX_SUPERGRAPH_BYTES) throw tooLarge();
    const chunks: Buffer[] = [];
    let length = 0;
    for (;;) {
      // What is left by the stat, at least 64 KiB (the file may grow), at most 1 MiB a read.
      const chunk = Buffer.allocUnsafe(Math.min(Math.max(info.size - length, 1 << 16), 1 << 20));
      const { bytesRead } = await file.read(chunk, 0, chunk.length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > MAX_SUPERGRAPH_BYTES) throw tooLarge();
      chunks.push(chunk.subarray(0, bytesRead));
    }
    return Buffer.concat(chunks, length).toString('utf8');
  } finally {
    await file.close();
  }
}
