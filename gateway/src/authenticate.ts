import { verifyToken } from '@clerk/backend';
import type { AppConfig } from '../../runtime/config';
import { AppError } from '../../runtime/errors';
import { ANONYMOUS, ROLES, type Identity, type Role } from '../../runtime/identity';

/** Who the token says the caller is, and until when (epoch seconds; null: anonymous). */
export interface Authentication {
  identity: Identity;
  expiresAt: number | null;
}

/** Turns an `Authorization` header into an identity; throws UNAUTHENTICATED for a bad token. */
export type Authenticator = (authorization: string | undefined) => Promise<Authentication>;

const unauthenticated = (message: string) =>
  new AppError('UNAUTHENTICATED', message, { http: { status: 401 } });

/**
 * Clerk session tokens, verified with `@clerk/backend`: networkless with `CLERK_JWT_KEY`, or
 * through Clerk's JWKS with `CLERK_SECRET_KEY`. No token means anonymous; a token that fails
 * verification is refused, never silently treated as anonymous.
 */
export function createAuthenticator(clerk: AppConfig['clerk']): Authenticator {
  return async (authorization) => {
    if (authorization === undefined || authorization.trim() === '') {
      return { identity: ANONYMOUS, expiresAt: null };
    }
    const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
    if (!match) throw unauthenticated('Authorization must be "Bearer <token>"');
    if (!clerk.jwtKey && !clerk.secretKey) {
      throw unauthenticated('This server is not configured to verify tokens');
    }
    let payload: Record<string, unknown>;
    try {
      payload = await verifyToken(match[1], {
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
