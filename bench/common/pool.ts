/** Pacing for the benchmarks' own clients: bounded concurrency and pauses. */

/** Runs `task(i)` for i in [0, n) with at most `limit` in flight. */
export async function pool(
  n: number,
  limit: number,
  task: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, worker));
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
