import { verifyToken } from '@clerk/backend';
import {
  createPublicKey,
  verify as verifySignature,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import type { AppConfig } from '../../runtime/config';
import { AppError } from '../../runtime/errors';
import { ANONYMOUS, ROLES, type Identity, type Role } from '../../runtime/identity';
import { LruCache } from '../../runtime/lru-cache';
import { isJsonObject } from '../../runtime/json';

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
 * Clerk session tokens: networkless with `CLERK_JWT_KEY` (the key imported once, Clerk's
 * checks done here: {@link localVerifier}), or by `@clerk/backend` through Clerk's JWKS with
 * `CLERK_SECRET_KEY`. No token means anonymous; a token that fails verification is refused,
 * never silently treated as anonymous.
 *
 * A token is verified once (a new token per user per minute is normal: Clerk's session
 * tokens live 60 s) and its identity kept, in a bounded LRU, until the token's `exp`:
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
  const verify = verifierFor(clerk, now);

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
      pending = verify(token).finally(() => verifying.delete(token));
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

/** One verification: the identity and expiry, or UNAUTHENTICATED. */
type Verify = (token: string) => Promise<Authentication>;

/**
 * With `CLERK_JWT_KEY`, tokens are verified here, with a key imported once; with only
 * `CLERK_SECRET_KEY`, by Clerk's `verifyToken` (which fetches and caches the JWKS).
 */
function verifierFor(clerk: AppConfig['clerk'], now: () => number): Verify {
  const authorizedParties = [...clerk.authorizedParties];
  if (clerk.jwtKey) return localVerifier(clerk.jwtKey, authorizedParties, now);
  return async (token) => {
    let payload: Record<string, unknown>;
    try {
      payload = await verifyToken(token, {
        secretKey: clerk.secretKey,
        authorizedParties: authorizedParties.length > 0 ? authorizedParties : undefined,
      });
    } catch (err) {
      throw unauthenticated(`Invalid token: ${reasonOf(err)}`);
    }
    return authenticationOf(payload);
  };
}

/** Clerk's allowance for clocks that disagree (`verifyJwt`'s `DEFAULT_CLOCK_SKEW_IN_MS`). */
const CLOCK_SKEW_MS = 5_000;
/** Clerk's header category of machine tokens, which are not session tokens. */
const M2M_TOKEN_CATEGORY = 'cl_B7d4PD333AAA';

/**
 * What `@clerk/backend`'s `verifyToken` does with `jwtKey`, without its cost: it imports the
 * key into WebCrypto again for every token (most of a signed-in request's CPU at a new
 * token per user per minute) and checks the signature on the thread pool. Here the key is
 * imported once and the RS256 signature checked with `crypto.verify`; the token is decoded
 * as Clerk's own `decodeJwt` decodes it ({@link decodeToken}) and the same checks follow, in the same order, so nothing
 * Clerk refuses is accepted (`authenticate.test.ts` holds both to a corpus of hostile
 * tokens). Stricter than Clerk where Clerk's leniency serves no real token: only RS256
 * (Clerk's JWK from the PEM is RS256, so it fails RS384/RS512 at import anyway), header and
 * payload must be JSON objects, and a time claim must be a representable date.
 */
function localVerifier(
  pem: string,
  authorizedParties: readonly string[],
  now: () => number,
): Verify {
  let key: KeyObject | Error | undefined;
  const publicKey = (): KeyObject | Error => {
    if (key === undefined) {
      try {
        key = createPublicKey({ key: clerkJwkFromPem(pem), format: 'jwk' });
      } catch (err) {
        // Clerk fails every token on a key it cannot import: so does this, every time.
        key = err instanceof Error ? err : new Error(String(err));
      }
    }
    return key;
  };
  // A promise, as the other verifier's: a refusal rejects it rather than throwing.
  return (token) =>
    new Promise((resolve) => resolve(verifyLocally(token, publicKey(), authorizedParties, now())));
}

function verifyLocally(
  token: string,
  key: KeyObject | Error,
  authorizedParties: readonly string[],
  nowMs: number,
): Authentication {
  const refuse = (reason: string): never => {
    throw unauthenticated(`Invalid token: ${reason}`);
  };
  const jwt = decodeToken(token);
  if (!jwt) return refuse('token-invalid');
  const header = jwt.header;
  const payload = jwt.payload;
  if (!isJsonObject(header) || !isJsonObject(payload)) return refuse('token-invalid');
  if (header.cat === M2M_TOKEN_CATEGORY) return refuse('token-invalid');
  if (header.typ !== undefined && header.typ !== 'JWT') return refuse('token-invalid');
  // The algorithm is the key's, never the token's choice: `none` and HS256 (the public key
  // as an HMAC secret) are refused here, before any key is used.
  if (header.alg !== 'RS256') return refuse('token-invalid-algorithm');
  if (key instanceof Error) return refuse('token-verification-failed');
  let valid = false;
  try {
    valid = verifySignature(
      'sha256',
      Buffer.from(`${jwt.raw.header}.${jwt.raw.payload}`, 'latin1'),
      key,
      jwt.signature,
    );
  } catch {
    valid = false;
  }
  if (!valid) return refuse('token-invalid-signature');

  const { sub, azp, exp, nbf, iat } = payload;
  if (typeof sub !== 'string') return refuse('token-verification-failed');
  if (
    authorizedParties.length > 0 &&
    (typeof azp !== 'string' || azp === '' || !authorizedParties.includes(azp))
  ) {
    return refuse('token-invalid-authorized-parties');
  }
  if (typeof exp !== 'number') return refuse('token-verification-failed');
  const expiresAtMs = claimTime(exp);
  if (Number.isNaN(expiresAtMs)) return refuse('token-verification-failed');
  if (expiresAtMs <= nowMs - CLOCK_SKEW_MS) return refuse('token-expired');
  if (nbf !== undefined) {
    const notBeforeMs = typeof nbf === 'number' ? claimTime(nbf) : NaN;
    if (Number.isNaN(notBeforeMs)) return refuse('token-verification-failed');
    if (notBeforeMs > nowMs + CLOCK_SKEW_MS) return refuse('token-not-active-yet');
  }
  if (iat !== undefined) {
    const issuedAtMs = typeof iat === 'number' ? claimTime(iat) : NaN;
    if (Number.isNaN(issuedAtMs)) return refuse('token-verification-failed');
    if (issuedAtMs > nowMs + CLOCK_SKEW_MS) return refuse('token-iat-in-the-future');
  }
  return authenticationOf(payload);
}

/** A token's parts as Clerk's `decodeJwt` gives them (what `verifyLocally` reads of them). */
export interface DecodedToken {
  readonly header: unknown;
  readonly payload: unknown;
  readonly signature: Uint8Array;
  readonly raw: { readonly header: string; readonly payload: string };
}

/** One part of a token: base64url characters, then any number of `=`. */
const TOKEN_PART = /^([A-Za-z0-9_-]*)=*$/;
const utf8 = new TextDecoder();

/**
 * Clerk's `decodeJwt` (`@clerk/backend/jwt`), with Node's base64url decoder instead of
 * Clerk's character-by-character one (the most of decoding a token): null where Clerk's
 * throws. Node's decoder skips what Clerk's refuses, so a part goes to it only once it is
 * what Clerk's accepts ("loose": base64url characters, `=` only at the end): a length that
 * leaves no stray character (length % 4 ≠ 1) and no stray bits in the last character. The
 * text is decoded as Clerk decodes it (`TextDecoder`: U+FFFD for bad UTF-8, a BOM dropped).
 * `authenticate.test.ts` holds the two to the same answers over mutated tokens.
 */
export function decodeToken(token: string): DecodedToken | null {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  const header = partBytes(parts[0]);
  const payload = partBytes(parts[1]);
  const signature = partBytes(parts[2]);
  if (!header || !payload || !signature) return null;
  try {
    return {
      header: JSON.parse(utf8.decode(header)) as unknown,
      payload: JSON.parse(utf8.decode(payload)) as unknown,
      signature,
      raw: { header: parts[0], payload: parts[1] },
    };
  } catch {
    return null;
  }
}

/** A part's bytes, or null where Clerk's `base64url.parse(part, { loose: true })` throws. */
function partBytes(part: string): Buffer | null {
  const match = TOKEN_PART.exec(part);
  if (!match) return null;
  const chars = match[1];
  const tail = chars.length % 4;
  if (tail === 1) return null;
  if (tail > 1) {
    // The bits of the last character past the last whole byte: 4 of them after 2
    // characters, 2 after 3. Clerk refuses any that is set.
    const last = chars.charCodeAt(chars.length - 1);
    if ((base64urlValue(last) & (tail === 2 ? 0xf : 0x3)) !== 0) return null;
  }
  return Buffer.from(chars, 'base64url');
}

/** The 6-bit value of a base64url character code (one `TOKEN_PART` accepted). */
function base64urlValue(code: number): number {
  if (code >= 65 && code <= 90) return code - 65; // A-Z
  if (code >= 97 && code <= 122) return code - 71; // a-z
  if (code >= 48 && code <= 57) return code + 4; // 0-9
  return code === 45 ? 62 : 63; // - _
}

/**
 * A NumericDate claim in ms, as Clerk reads it (`new Date(0).setUTCSeconds(claim)`:
 * fractions dropped), NaN when it is no date (Clerk lets that pass every comparison).
 */
function claimTime(seconds: number): number {
  return new Date(0).setUTCSeconds(seconds);
}

/**
 * The key exactly as Clerk derives it from the PEM (`loadClerkJwkFromPem`): the modulus cut
 * out of a 2048-bit SPKI, the exponent 65537. Deriving it the same way means the same key
 * Clerk would verify with, even for a PEM Clerk's shortcut misreads.
 */
function clerkJwkFromPem(pem: string): JsonWebKey {
  const n = pem
    .replace(/\r\n|\n|\r/g, '')
    .replace('-----BEGIN PUBLIC KEY-----', '')
    .replace('-----END PUBLIC KEY-----', '')
    .replace('MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA', '')
    .replace('IDAQAB', '')
    .replace(/\+/g, '-')
    .replace(/\//g, '_');
  return { kty: 'RSA', alg: 'RS256', n, e: 'AQAB' };
}

function authenticationOf(payload: Record<string, unknown>): Authentication {
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
