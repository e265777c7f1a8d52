/**
 * Waits until `probe` returns a value that is not undefined (an event arrived, a projection
 * caught up), checking on each turn of the event loop, with a deadline. For state that other
 * processes change: there is no event to await in this process.
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}
