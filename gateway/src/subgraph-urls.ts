import type { AppConfig } from '../../runtime/config';

/**
 * Where the gateway reaches one subgraph of the supergraph it serves: the URL configured for
 * it (`USERS_URL` … `BOOKINGS_URL`, or the local stack's own ports), else the one composition
 * recorded (`join__graph(url:)`). So the gateway serves any composition as composed, whatever
 * its subgraphs are called, and our deployments can still move our four without recomposing.
 *
 * @throws when neither gives a URL: one sentence naming the subgraph.
 */
export function subgraphUrl(
  name: string,
  composedUrl: string | undefined,
  overrides: AppConfig['subgraphUrlOverrides'],
): string {
  const configured = Object.hasOwn(overrides, name)
    ? overrides[name as keyof typeof overrides]
    : undefined;
  const url = configured ?? composedUrl;
  if (!url) {
    throw new Error(
      `The supergraph records no URL for the subgraph "${name}" (join__graph(url:)) and none ` +
        'is configured for it',
    );
  }
  return url;
}
