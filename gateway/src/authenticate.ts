import { verifyToken } from '@clerk/backend';
import type { AppConfig } from '../../runtime/config';
import { AppError } from '../../runtime/errors';
import { ANONYMOUS, ROLES, type Identity, type Role } from '../../runtime/identity';
import { LruCache } from './lru-cache';

/** Who the token says the caller is, and until when (epoch seconds; null: anonymous). */
export interface Authentication {
  identity: Identity;
  expiresAt: number | null;
}

/** Turns an `Authorization` header into an identity; throws UNAUTHENTICATED for a bad token. */
export type Authenticator = (authorization: string | undefined) => Promise<Authentication>;

const unauthenticated = (message: string) =>
  new AppError('UNAUTHENTICATED', message, { http: { status: 401 } });

/** Verified tokens kept: one per signed-in client active within a token's lifetime. */
export const VERIFIED_TOKENS_KEPT = 10_000;

export interface AuthenticatorOptions {
  /** Verified tokens kept (least recently used dropped first); 0 verifies every request. */
  readonly maxCachedTokens?: number;
  /** The clock, for tests. */
  readonly now?: () => number;
}

/**
 * Clerk session tokens, verified with `@clerk/backend`: networkless with `CLERK_JWT_KEY`, or
 * through Clerk's JWKS with `CLERK_SECRET_KEY`. No token means anonymous; a token that fails
 * verification is refused, never silently treated as anonymous.
 *
 * A token is verified once (its signature checked, its key imported: most of a signed-in
 * request's CPU otherwise) and its identity kept, in a bounded LRU, until the token's `exp`:
 * from then on it is verified again, and refused as expired. A token without `exp` is not
 * kept. Concurrent first requests with one token share one verification.
 */
export function createAuthenticator(
  clerk: AppConfig['clerk'],
  options: AuthenticatorOptions = {},
): Authenticator {
  const now = options.now ?? Date.now;
  const maxCached = options.maxCachedTokens ?? VERIFIED_TOKENS_KEPT;
  const verified =
    maxCached > 0 ? new LruCache<string, Authentication & { expiresAt: number }>(maxCached) : null;
  const verifying = new Map<string, Promise<Authentication>>();

  const verifyOnce = (token: string): Promise<Authentication> => {
    const kept = verified?.get(token);
    if (kept) {
      // Expired: never answered from here; verification refuses it (or, within Clerk's
      // clock-skew allowance, accepts it once more without keeping it).
      if (now() < kept.expiresAt * 1000) return Promise.resolve(kept);
      verified!.delete(token);
    }
    let pending = verifying.get(token);
    if (!pending) {
      pending = verify(clerk, token).finally(() => verifying.delete(token));
      verifying.set(token, pending);
      void pending.then(
        (auth) => {
          if (verified && auth.expiresAt !== null && now() < auth.expiresAt * 1000) {
            verified.set(token, { identity: auth.identity, expiresAt: auth.expiresAt });
          }
        },
        () => undefined,
      );
    }
    return pending;
  };

  return async (authorization) => {
    if (authorization === undefined || authorization.trim() === '') {
      return { identity: ANONYMOUS, expiresAt: null };
    }
    const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
    if (!match) throw unauthenticated('Authorization must be "Bearer <token>"');
    if (!clerk.jwtKey && !clerk.secretKey) {
      throw unauthenticated('This server is not configured to verify tokens');
    }
    return verifyOnce(match[1]);
  };
}

/** One verification by Clerk: the identity and expiry, or UNAUTHENTICATED. */
async function verify(clerk: AppConfig['clerk'], token: string): Promise<Authentication> {
  let payload: Record<string, unknown>;
  try {
    payload = await verifyToken(token, {
      jwtKey: clerk.jwtKey,
      secretKey: clerk.jwtKey ? undefined : clerk.secretKey,
      authorizedParties:
        clerk.authorizedParties.length > 0 ? [...clerk.authorizedParties] : undefined,
    });
  } catch (err) {
    throw unauthenticated(`Invalid token: ${reasonOf(err)}`);
  }
  const sub = payload.sub;
  if (typeof sub !== 'string' || sub === '') throw unauthenticated('Invalid token: no subject');
  return {
    identity: { userId: sub, role: roleOf(payload), email: emailOf(payload) },
    expiresAt: typeof payload.exp === 'number' ? payload.exp : null,
  };
}

/** Role from the `metadata.role` claim (Clerk session-token customisation); CUSTOMER otherwise. */
function roleOf(payload: Record<string, unknown>): Role {
  const metadata = payload.metadata as { role?: unknown } | undefined;
  const role = typeof metadata?.role === 'string' ? metadata.role.toUpperCase() : undefined;
  return ROLES.includes(role as Role) ? (role as Role) : 'CUSTOMER';
}

function emailOf(payload: Record<string, unknown>): string | null {
  return typeof payload.email === 'string' ? payload.email : null;
}

function reasonOf(err: unknown): string {
  const reason = (err as { reason?: unknown }).reason;
  if (typeof reason === 'string') return reason;
  return 'verification failed';
}
