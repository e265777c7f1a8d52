/**
 * What Hive Gateway needs to stand in for our gateway in front of our subgraphs: every
 * subgraph call carries the signed identity header (`runtime/identity.ts`), made for that
 * subgraph, as `gateway/src/subgraph-client.ts` makes it. The caller's Clerk token is
 * verified once per request with `@clerk/backend`'s `verifyToken` and the same key and
 * authorized parties as our gateway (`gateway/src/authenticate.ts`), so that both gateways do
 * the same authentication work; the identity is then signed per subgraph call.
 */
import { verifyToken } from '@clerk/backend';
import type { GatewayPlugin } from '@graphql-hive/gateway';
import { GraphQLError } from 'graphql';
import {
  ANONYMOUS,
  IDENTITY_HEADER,
  ROLES,
  signIdentity,
  type Identity,
  type Role,
} from '../../runtime/identity';

/** The environment variable through which the benchmark hands the settings to the plugin. */
export const HIVE_SETTINGS_ENV = 'BENCH_PEERS_HIVE_SETTINGS';

export interface HiveIdentitySettings {
  internalSecret: string;
  /** The PEM public key our gateway has as CLERK_JWT_KEY. */
  jwtKey: string;
  authorizedParties: string[];
  /** Our subgraphs' names (the header's audience): calls to them are signed. */
  subgraphs: string[];
}

/** The settings from {@link HIVE_SETTINGS_ENV} (JSON); throws naming what is missing. */
export function readHiveSettings(raw: string | undefined): HiveIdentitySettings {
  if (!raw) throw new Error(`${HIVE_SETTINGS_ENV} is not set`);
  const settings = JSON.parse(raw) as Partial<HiveIdentitySettings>;
  if (
    typeof settings.internalSecret !== 'string' ||
    typeof settings.jwtKey !== 'string' ||
    !Array.isArray(settings.authorizedParties) ||
    !Array.isArray(settings.subgraphs)
  ) {
    throw new Error(
      `${HIVE_SETTINGS_ENV} needs internalSecret, jwtKey, authorizedParties and subgraphs`,
    );
  }
  return settings as HiveIdentitySettings;
}

const unauthenticated = (message: string) =>
  new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });

/** The identity a Clerk session token stands for, read as `authenticate.ts` reads it. */
async function identityOf(
  authorization: string | null | undefined,
  settings: HiveIdentitySettings,
): Promise<Identity> {
  if (!authorization || authorization.trim() === '') return ANONYMOUS;
  const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
  if (!match) throw unauthenticated('Authorization must be "Bearer <token>"');
  let payload: Record<string, unknown>;
  try {
    payload = await verifyToken(match[1], {
      jwtKey: settings.jwtKey,
      authorizedParties: settings.authorizedParties,
    });
  } catch {
    throw unauthenticated('Invalid token');
  }
  const sub = payload.sub;
  if (typeof sub !== 'string' || sub === '') throw unauthenticated('Invalid token: no subject');
  const metadata = payload.metadata as { role?: unknown } | undefined;
  const role = typeof metadata?.role === 'string' ? metadata.role.toUpperCase() : undefined;
  return {
    userId: sub,
    role: ROLES.includes(role as Role) ? (role as Role) : 'CUSTOMER',
    email: typeof payload.email === 'string' ? payload.email : null,
  };
}

type IdentityContext = { moviehubIdentity: Identity };

/**
 * A Hive Gateway plugin: the identity is established while the request's context is built
 * (a bad token ends the request with UNAUTHENTICATED, as at our gateway), and every call to
 * one of our subgraphs gets the identity header signed for that subgraph.
 *
 * The header goes into the execution request's `extensions.headers` (what Hive's own
 * `propagateHeaders` does), not into the fetch in `onFetch`: Hive merges identical in-flight
 * subgraph requests by URL, body and those headers before any `onFetch` hook runs, so a
 * header added there would let two users' identical `me` calls share one answer.
 */
export function hiveIdentityPlugin(settings: HiveIdentitySettings): GatewayPlugin<IdentityContext> {
  const subgraphs = new Set(settings.subgraphs);
  return {
    async onContextBuilding({ context, extendContext }) {
      const authorization = context.request?.headers.get('authorization');
      extendContext({ moviehubIdentity: await identityOf(authorization, settings) });
    },
    onSubgraphExecute({ subgraphName, executionRequest }) {
      const audience = subgraphName.toLowerCase();
      if (!subgraphs.has(audience)) return;
      const context = executionRequest.context as Partial<IdentityContext> | undefined;
      const extensions = (executionRequest.extensions ??= {});
      extensions.headers = {
        ...(extensions.headers as Record<string, string> | undefined),
        [IDENTITY_HEADER]: signIdentity(
          context?.moviehubIdentity ?? ANONYMOUS,
          settings.internalSecret,
          audience,
        ),
      };
    },
  };
}
