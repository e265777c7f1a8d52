/**
 * Node's options for every MovieHub server process, kept in one place: the Dockerfile sets
 * them as `NODE_OPTIONS` (so every container: compose and Kubernetes), `npm start` and the
 * `start:*` scripts pass them to node, and the benchmarks start their server processes with
 * them (`runtime/node-options.test.ts` keeps the three in step).
 *
 * `--max-semi-space-size=32`: V8's young generation gets semi-spaces of 32 MiB instead of
 * the 16 MiB it picks on its own. In a burst (a sale opening: a thousand holds at once)
 * every request's objects stay alive for as long as the request waits its turn; with 16 MiB
 * the scavenger ran several times per burst and copied those objects, then promoted them to
 * the old generation, whose collection costs more still. `npm run bench:holds -- --only
 * rush`, alternating 16 and 32 MiB, three runs each: rush from the seat map page p99
 * 962–1,038 ms at 16, 834–863 ms at 32 (64 and 128 measured no better). The price is at
 * most 3 × 16 MiB more heap per process, and only while it is that busy.
 */
export const SERVER_NODE_OPTIONS: readonly string[] = ['--max-semi-space-size=32'];
