/** Command-line parsing shared by the benchmarks: `--flag value` or `--flag=value`. */

export interface FlagValue {
  /** The flag's value as a non-negative number. */
  number(): number;
  /** The flag's value as it is. */
  string(): string;
}

/** What each flag does with its value (a flag without a value ignores it). */
export type FlagHandlers = Record<string, (value: FlagValue) => void>;

/** Runs the handler of each flag in `argv`; `--help`/`-h` prints `usage` and exits. */
export function parseFlags(argv: string[], usage: string, handlers: FlagHandlers): void {
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const string = () => {
      const raw = inline ?? argv[++i];
      if (raw === undefined) throw new Error(`${flag} needs a value\n${usage}`);
      return raw;
    };
    const number = () => {
      const raw = inline ?? argv[++i];
      const n = Number(raw);
      if (raw === undefined || !Number.isFinite(n) || n < 0) {
        throw new Error(`${flag} needs a non-negative number\n${usage}`);
      }
      return n;
    };
    if (flag === '--help' || flag === '-h') {
      console.log(usage);
      process.exit(0);
    }
    const handler = Object.hasOwn(handlers, flag) ? handlers[flag] : undefined;
    if (!handler) throw new Error(`unknown option ${argv[i]}\n${usage}`);
    handler({ number, string });
  }
}

/** A count: rounded, at least 1. */
export const atLeastOne = (n: number): number => Math.max(1, Math.round(n));

/** The closed-loop benchmarks' (gateway, catalog) timing and concurrency. */
export interface LoadOptions {
  durationSeconds: number;
  warmupSeconds: number;
  prewarmSeconds: number;
  connections: number;
}

/** `--duration S`, `--warmup S`, `--prewarm S`, `--connections N`, setting `options`. */
export function loadFlags(options: LoadOptions): FlagHandlers {
  return {
    '--duration': (v) => void (options.durationSeconds = v.number()),
    '--warmup': (v) => void (options.warmupSeconds = v.number()),
    '--prewarm': (v) => void (options.prewarmSeconds = v.number()),
    '--connections': (v) => void (options.connections = atLeastOne(v.number())),
  };
}

export function checkLoadOptions(options: LoadOptions): void {
  if (options.durationSeconds <= 0) throw new Error('--duration must be more than 0');
}

/** The `settings` of a closed-loop benchmark's results file. */
export const loadSettings = (options: LoadOptions, databasePoolSize: number) => ({
  durationSeconds: options.durationSeconds,
  warmupSeconds: options.warmupSeconds,
  prewarmSeconds: options.prewarmSeconds,
  connections: options.connections,
  databasePoolSize,
});
