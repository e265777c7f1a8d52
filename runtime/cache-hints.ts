/**
 * Apollo Server's cache hints, read by its cache-control plugin, which answers each request
 * with `Cache-Control: max-age=N, public` where every field read allows it. The gateway's
 * catalog cache keeps anonymous callers' subgraph answers by that header
 * (`gateway/src/cache/catalog-cache.ts`). No `scope` argument: nothing hinted is per user
 * (an answer with a per-user field carries no hint, hence max-age 0), and without it no
 * `CacheControlScope` enum reaches the composed supergraph. Composition keeps neither.
 */
export const CACHE_CONTROL_DEFINITION =
  'directive @cacheControl(maxAge: Int, inheritMaxAge: Boolean) ' +
  'on FIELD_DEFINITION | OBJECT | INTERFACE | UNION';

/**
 * How long a catalog answer (movies, cinemas, halls, showtime facts) may be kept: the owning
 * subgraph's events drop it everywhere as soon as it changes, so this only bounds answers
 * that change with time alone (what is showing now).
 */
export const CATALOG_MAX_AGE_SECONDS = 60;
/** The hint of a catalog type or root field. */
export const CATALOG_CACHE_HINT = `@cacheControl(maxAge: ${CATALOG_MAX_AGE_SECONDS})`;
/** The hint of a type only ever read under a hinted field (connections, edges, prices). */
export const INHERITED_CACHE_HINT = '@cacheControl(inheritMaxAge: true)';
/** The hint of a field that changes all the time (counts of free seats): never kept. */
export const UNCACHED_HINT = '@cacheControl(maxAge: 0)';
