import type { ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControl } from '@apollo/server/plugin/cacheControl';
import type { RequestContext } from './request-context';

/**
 * Apollo Server's cache-control plugin (the `@cacheControl` hints of `cache-hints.ts` into a
 * `Cache-Control` header), for anonymous callers only. The header is read by the gateway's
 * catalog cache, which never keeps a signed-in caller's fetch (`catalog-cache.ts`), and a
 * missing header there means max-age 0, which is what a signed-in answer must carry anyway.
 * The plugin's cost is per field: an object and a policy for every field resolved (a seat
 * map of 216 seats resolves about 1,300), and a seat map for a signed-in user is the page
 * every buyer opens. Signed-in callers' requests therefore get no listener from it, and
 * Apollo calls no hook per field for them.
 *
 * Installed under the plugin's own internal id, so that Apollo Server does not add its
 * default one beside it. No resolver of ours reads `info.cacheControl` (which only the
 * plugin sets).
 */
export function anonymousCacheControl(): ApolloServerPlugin<RequestContext> {
  const inner = ApolloServerPluginCacheControl() as ApolloServerPlugin<RequestContext>;
  const plugin: ApolloServerPlugin<RequestContext> & {
    __internal_plugin_id__: string;
    __is_disabled_plugin__: boolean;
  } = {
    __internal_plugin_id__: 'CacheControl',
    __is_disabled_plugin__: false,
    serverWillStart: async (service) => inner.serverWillStart?.(service),
    requestDidStart: async (requestContext) =>
      requestContext.contextValue.identity.userId === null
        ? inner.requestDidStart?.(requestContext)
        : undefined,
  };
  return plugin;
}
