import { createHmac, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

export const ROLES = ['CUSTOMER', 'STAFF', 'ADMIN'] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling, as the gateway established it. `userId` null means anonymous. */
export interface Identity {
  readonly userId: string | null;
  readonly role: Role | null;
  readonly email?: string | null;
  /** Set on service-to-service calls (e.g. 'gateway' relaying a Clerk webhook). */
  readonly service?: string;
  /**
   * The client's IP address as the gateway saw it, for a signed-in caller's mutation only
   * (VNPay's `vnp_IpAddr`). Only {@link verifyIdentity} sets it, from the signed claim: the
   * gateway's own identity objects never carry it (they are shared by every request of a
   * token and key request sharing), and {@link signIdentity} never copies it from here, so a
   * subgraph relaying its caller's identity to another service does not vouch for an address.
   */
  readonly clientIp?: string;
}

export const ANONYMOUS: Identity = Object.freeze({ userId: null, role: null });

/** The header that carries the signed identity from the gateway to a subgraph. */
export const IDENTITY_HEADER = 'x-moviehub-identity';

/** Short-lived: a captured header is useless after this long. */
const IDENTITY_TTL_SECONDS = 60;

interface IdentityClaims {
  /** The service the header is meant for: a header captured at one subgraph is refused by another. */
  aud: string;
  sub: string | null;
  role: Role | null;
  email?: string | null;
  svc?: string;
  /** The client's IP address (signed-in callers only; see {@link Identity.clientIp}). */
  ip?: string;
  iat: number;
  exp: number;
}

/** VNPay's `vnp_IpAddr` holds at most 45 characters (an IPv4-mapped IPv6 address in full). */
const MAX_CLIENT_IP_LENGTH = 45;

/**
 * `value` as a client IP address that can be signed and sent to VNPay, or null: an IPv4 or
 * IPv6 address (IPv4-mapped IPv6 written as the IPv4 address it is), at most 45 characters,
 * without an IPv6 zone (`fe80::1%eth0` is an address to Node but not to VNPay's field).
 */
export function clientIpOrNull(value: unknown): string | null {
  if (typeof value !== 'string' || value.length > MAX_CLIENT_IP_LENGTH) return null;
  const mapped = /^::ffff:/i.test(value) ? value.slice(7) : '';
  const address = isIP(mapped) === 4 ? mapped : value;
  return isIP(address) !== 0 && /^[0-9A-Fa-f.:]+$/.test(address) ? address : null;
}

/**
 * A key for one purpose, derived from `INTERNAL_SECRET` (HMAC as a KDF): identity headers and
 * seat-holder tags never share a key, so a value made for one can never pass as the other.
 */
export function deriveKey(secret: string, purpose: 'identity' | 'seat-holder' | 'ticket'): Buffer {
  return createHmac('sha256', secret).update(`moviehub:${purpose}:v1`).digest();
}

const identityKeys = new Map<string, Buffer>();
function identityKey(secret: string): Buffer {
  let key = identityKeys.get(secret);
  if (!key) {
    key = deriveKey(secret, 'identity');
    identityKeys.set(secret, key);
  }
  return key;
}

const sign = (payload: string, secret: string) =>
  createHmac('sha256', identityKey(secret)).update(payload).digest('base64url');

/**
 * Signs an identity for one internal call (gateway → subgraph, subgraph → subgraph) to the
 * service named `audience` (a subgraph name): only that service accepts it. `clientIp` (the
 * gateway's, for a signed-in caller) is signed with it when it is a valid address
 * ({@link clientIpOrNull}); for an anonymous caller or an invalid address it is left out.
 */
export function signIdentity(
  identity: Identity,
  secret: string,
  audience: string,
  now = Date.now(),
  clientIp?: string | null,
): string {
  const iat = Math.floor(now / 1000);
  const ip = identity.userId === null ? null : clientIpOrNull(clientIp);
  const claims: IdentityClaims = {
    aud: audience,
    sub: identity.userId,
    role: identity.role,
    email: identity.email ?? null,
    ...(identity.service ? { svc: identity.service } : {}),
    ...(ip ? { ip } : {}),
    iat,
    exp: iat + IDENTITY_TTL_SECONDS,
  };
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return `${payload}.${sign(payload, secret)}`;
}

/**
 * Verifies a signed identity header meant for `audience` (the verifying service's name).
 * Returns null when it is missing, malformed, forged, expired or meant for another service:
 * the caller must then refuse the request.
 */
export function verifyIdentity(
  header: string | undefined,
  secret: string,
  audience: string,
  now = Date.now(),
): Identity | null {
  if (!header) return null;
  const [payload, signature, extra] = header.split('.');
  if (!payload || !signature || extra !== undefined) return null;
  const expected = Buffer.from(sign(payload, secret));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
  let claims: IdentityClaims;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as IdentityClaims;
  } catch {
    return null;
  }
  if (claims === null || typeof claims !== 'object' || claims.aud !== audience) return null;
  const nowSeconds = Math.floor(now / 1000);
  // A few seconds of leeway for clock skew between hosts.
  if (typeof claims.exp !== 'number' || claims.exp < nowSeconds - 5) return null;
  if (typeof claims.iat !== 'number' || claims.iat > nowSeconds + 5) return null;
  const service = typeof claims.svc === 'string' ? { service: claims.svc } : {};
  if (claims.sub === null) return { ...ANONYMOUS, ...service };
  if (typeof claims.sub !== 'string' || !ROLES.includes(claims.role as Role)) return null;
  // Signed, so ours; checked again all the same, as VNPay refuses a bad `vnp_IpAddr`.
  const ip = clientIpOrNull(claims.ip);
  return {
    userId: claims.sub,
    role: claims.role,
    email: claims.email ?? null,
    ...service,
    ...(ip ? { clientIp: ip } : {}),
  };
}
