/**
 * Waits until `probe` yields a value that is neither undefined nor false (a row arrived, a
 * projection caught up), with a deadline. For state another process or a background loop
 * changes, where there is no event in this process to await.
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  timeoutMs = 10_000,
  /** `detail`: appended to the timeout's message (a log's end); `intervalMs` between probes. */
  { detail = () => '', intervalMs = 5 }: { detail?: () => string; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${detail()}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** A promise resolved by hand (a handler, a callback); `wait` fails instead of hanging. */
export function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  const wait = async (what: string, timeoutMs = 10_000): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        promise,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  };
  return { promise, resolve, wait };
}

/**
 * A gate for a fake dependency's answers: each answer awaits `passed()`; `hold()` closes the
 * gate until the function it returns is called (to see what callers do meanwhile).
 */
export function answerGate() {
  let open: Promise<void> = Promise.resolve();
  return {
    passed: () => open,
    hold: (): (() => void) => {
      let release!: () => void;
      open = new Promise((resolve) => (release = resolve));
      return () => {
        open = Promise.resolve();
        release();
      };
    },
  };
}
