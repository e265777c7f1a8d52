import { createSign, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { AppConfig } from '../../../runtime/config';

/**
 * The seeded customers the page's "demo user" switch signs in as (scripts/seed's DEMO_USERS:
 * the first has the demo bookings and points). Customers only: no switch ever hands out a
 * STAFF or ADMIN token.
 */
export const DEMO_CUSTOMERS = [
  { id: 'demo-customer', email: 'customer@moviehub.example' },
  { id: 'demo-customer-2', email: 'customer2@moviehub.example' },
] as const;

/** How long a demo session token lasts; the page asks for a new one before it runs out. */
export const DEMO_TOKEN_SECONDS = 3600;

export interface DemoToken {
  readonly token: string;
  /** Epoch seconds. */
  readonly expiresAt: number;
}

/** Signs demo customers in, as Clerk's sign-in would hand the page a session token. */
export interface DemoSignIn {
  readonly userIds: readonly string[];
  /** A session token for a demo customer, or undefined for anyone else. */
  mint(userId: string, authorizedParty: string, now?: number): DemoToken | undefined;
}

/** Where the local stack keeps its key pair (scripts/local-clerk.ts, `npm run token`). */
const devKeysPath = (config: AppConfig) => join(resolve(config.embedded.dataDir), 'dev-keys.json');

const pemBody = (pem: string) => pem.replace(/\\n/g, '\n').replace(/\s+/g, '');

/**
 * The local stand-in for Clerk's sign-in, or undefined where there must be none. Available
 * only outside production, and only when the key this gateway verifies tokens with
 * (`CLERK_JWT_KEY`) is the public half of the local key pair under the data folder: the
 * embedded default, where `npm start` and `npm run token` mint with its private half. Anywhere
 * else (Clerk configured, production, even production on the local key as the README's
 * Compose recipe does) the page has no demo switch and this gateway mints nothing.
 */
export function demoSignIn(config: AppConfig): DemoSignIn | undefined {
  if (config.isProduction || !config.clerk.jwtKey) return undefined;
  let keys: { publicKeyPem?: unknown; privateKeyPem?: unknown };
  try {
    keys = JSON.parse(readFileSync(devKeysPath(config), 'utf8')) as typeof keys;
  } catch {
    return undefined;
  }
  const { publicKeyPem, privateKeyPem } = keys;
  if (typeof publicKeyPem !== 'string' || typeof privateKeyPem !== 'string') return undefined;
  if (pemBody(publicKeyPem) !== pemBody(config.clerk.jwtKey)) return undefined;
  return {
    userIds: DEMO_CUSTOMERS.map((c) => c.id),
    mint(userId, authorizedParty, now = Date.now()) {
      const customer = DEMO_CUSTOMERS.find((c) => c.id === userId);
      if (!customer) return undefined;
      return signSessionToken(privateKeyPem, customer, authorizedParty, now);
    },
  };
}

/**
 * An RS256 token shaped like a Clerk session token (`sub`, `sid`, `azp`, `metadata.role`), as
 * `npm run token` mints them, so the gateway verifies it through the same `verifyToken` path.
 * `azp` is the page's origin: checked only where CLERK_AUTHORIZED_PARTIES is set.
 */
function signSessionToken(
  privateKeyPem: string,
  customer: (typeof DEMO_CUSTOMERS)[number],
  authorizedParty: string,
  now: number,
): DemoToken {
  const iat = Math.floor(now / 1000);
  const expiresAt = iat + DEMO_TOKEN_SECONDS;
  const encode = (part: object) => Buffer.from(JSON.stringify(part)).toString('base64url');
  const input = [
    encode({ alg: 'RS256', typ: 'JWT', kid: 'ins_moviehub_dev' }),
    encode({
      sub: customer.id,
      sid: `sess_${randomUUID()}`,
      iss: 'https://clerk.moviehub.local',
      iat,
      nbf: iat - 5,
      exp: expiresAt,
      azp: authorizedParty,
      email: customer.email,
      metadata: { role: 'CUSTOMER' },
    }),
  ].join('.');
  const signature = createSign('RSA-SHA256').update(input).sign(privateKeyPem, 'base64url');
  return { token: `${input}.${signature}`, expiresAt };
}
