/**
 * Preloaded (`--require`) into the audit's own processes: its runner and subgraph server call
 * `Promise.withResolvers`, new in Node 22, and this repository also runs on Node 20.
 */
const promise = Promise as unknown as { withResolvers?: () => unknown };
promise.withResolvers ??= function withResolvers<T>(this: PromiseConstructor) {
  let resolve!: (value: T) => void;
  let reject!: (reason?: unknown) => void;
  const settled = new this<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise: settled, resolve, reject };
};

export {};
