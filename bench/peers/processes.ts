/**
 * The peers benchmark's server processes: each started in its own process group (so that a
 * stop reaches whatever it spawned, and the terminal's Ctrl-C reaches only this process,
 * which then stops them in order), its output in a log file, its CPU time read from /proc.
 */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves with the exit code (or the signal's name) once the process has exited. */
  readonly exited: Promise<number | string>;
  /** True until the process has exited. */
  running(): boolean;
  /** SIGTERM to the group; SIGKILL to what is left after `graceMs`. Idempotent. */
  stop(graceMs?: number): Promise<void>;
  /** CPU time (user + system) of the group leader so far, in µs; NaN off Linux. */
  cpuMicros(): number;
  /** The last lines of its log, to say why it failed. */
  logTail(lines?: number): string;
}

const live = new Set<ManagedProcess>();

/** Last resort (an exit without the orderly stop): kill every group still running. */
process.on('exit', () => {
  for (const child of live) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
});

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    } catch {
      ticksPerSecond = NaN;
    }
    if (!Number.isFinite(ticksPerSecond) || ticksPerSecond <= 0) ticksPerSecond = 100;
  }
  return ticksPerSecond;
}

/** utime + stime of a process from /proc/<pid>/stat, in µs (NaN when unreadable). */
function procCpuMicros(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // fields 14 and 15 of the line
    return (ticks / clockTicks()) * 1e6;
  } catch {
    return NaN;
  }
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts `node <args>` as the leader of a new process group, stdout and stderr appended to
 * `logFile`.
 */
export function startNodeProcess(
  name: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; cwd: string; logFile: string },
): ManagedProcess {
  const fd = openSync(options.logFile, 'a');
  let exitedWith: number | string | undefined;
  let child;
  try {
    child = spawn(process.execPath, args, {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
  } finally {
    closeSync(fd);
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${name} could not be started`);
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      exitedWith = code ?? signal ?? 'unknown';
      live.delete(managed);
      resolve(exitedWith);
    });
  });
  let stopping: Promise<void> | undefined;
  const managed: ManagedProcess = {
    name,
    pid,
    logFile: options.logFile,
    exited,
    running: () => exitedWith === undefined,
    stop: (graceMs = 20_000) =>
      (stopping ??= (async () => {
        if (exitedWith === undefined) {
          try {
            process.kill(-pid, 'SIGTERM');
          } catch {
            // Exited meanwhile.
          }
          const timeout = new Promise<'timeout'>((r) => setTimeout(r, graceMs, 'timeout').unref());
          if ((await Promise.race([exited, timeout])) === 'timeout') {
            process.stderr.write(`bench: ${name} did not stop within ${graceMs} ms; killing it\n`);
          }
        }
        // Whatever it spawned and left behind goes too.
        if (groupAlive(pid)) {
          try {
            process.kill(-pid, 'SIGKILL');
          } catch {
            // Gone meanwhile.
          }
        }
        await exited;
      })()),
    cpuMicros: () => procCpuMicros(pid),
    logTail: (lines = 30) => {
      try {
        return readFileSync(options.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
      } catch {
        return '(no log)';
      }
    },
  };
  live.add(managed);
  return managed;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `url` (GET) until it answers 200; fails as soon as the process exits, or after
 * `timeoutMs`, with the end of its log.
 */
export async function waitUntilHealthy(
  child: ManagedProcess,
  url: string,
  timeoutMs = 120_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void child.exited.then(() => (exited = true));
  for (;;) {
    if (exited) {
      throw new Error(
        `${child.name} exited (${await child.exited}) while starting; the end of ${child.logFile}:\n${child.logTail()}`,
      );
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${child.name} did not answer ${url} within ${timeoutMs / 1000} s; the end of ${child.logFile}:\n${child.logTail()}`,
      );
    }
    await pause(100);
  }
}

/**
 * Waits until `processes` together use less than `percent` of one core over `windowMs`, at
 * most `maxMs`: a run at high concurrency leaves requests queued in the gateway and the
 * subgraphs after its client has gone, and the next measurement must not pay for them.
 * Answers whether they went quiet.
 */
export async function waitForQuiet(
  processes: readonly ManagedProcess[],
  options: { percent?: number; windowMs?: number; maxMs?: number } = {},
): Promise<boolean> {
  const { percent = 5, windowMs = 500, maxMs = 30_000 } = options;
  const total = () => processes.reduce((sum, p) => sum + p.cpuMicros(), 0);
  const deadline = Date.now() + maxMs;
  let before = total();
  if (!Number.isFinite(before)) return true; // no /proc: nothing to wait on
  while (Date.now() < deadline) {
    await pause(windowMs);
    const after = total();
    if ((100 * (after - before)) / (windowMs * 1e3) < percent) return true;
    before = after;
  }
  return false;
}
