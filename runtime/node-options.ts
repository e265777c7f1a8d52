/**
 * Node's options for every MovieHub server process, kept in one place: the Dockerfile sets
 * them as `NODE_OPTIONS` (so every container: compose and Kubernetes), `npm start` and the
 * `start:*` scripts pass them to node, and the benchmarks start their server processes with
 * them (`runtime/node-options.test.ts` keeps the three in step).
 *
 * `--max-semi-space-size=32`: V8's young generation may grow to semi-spaces of 32 MiB. On
 * its own V8 sizes them from the memory it may use: 16 MiB on this 24 GiB machine, as little
 * as 1 MiB in a 512 MiB container (the Kubernetes pods' limit). In a burst (a sale opening:
 * a thousand holds at once) every request's objects stay alive for as long as the request
 * waits its turn; with 16 MiB the scavenger ran several times per burst and copied those
 * objects, then promoted them to the old generation, whose collection costs more still.
 * `npm run bench:holds -- --only rush`, alternating 16 and 32 MiB, three runs each: rush
 * from the seat map page p99 962–1,038 ms at 16, 834–863 ms at 32 (64 and 128 measured no
 * better). The young
 * generation grows only while what survives its collections asks for it, and shrinks when
 * the process is idle: at most 3 × 32 MiB, and only in a burst. The pods' limits leave room
 * for it (about 170 MB in use at rest, limits of 512 and 768 MiB).
 */
export const SERVER_NODE_OPTIONS: readonly string[] = ['--max-semi-space-size=32'];
