import { createSign, generateKeyPairSync, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Role } from '../runtime/identity';

/** An RSA key pair in PEM, as Clerk's "JWT public key" is given. */
export interface KeyPair {
  publicKeyPem: string;
  privateKeyPem: string;
}

export function generateKeyPair(): KeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

/** The local stack's key pair, made once and kept under the data folder. */
export function loadOrCreateDevKeys(path: string): KeyPair {
  if (existsSync(path)) return JSON.parse(readFileSync(path, 'utf8')) as KeyPair;
  const keys = generateKeyPair();
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(keys, null, 2), { mode: 0o600 });
  return keys;
}

export interface TokenClaims {
  userId: string;
  role?: Role;
  email?: string;
  /** Authorized party (the front end's origin). */
  azp?: string;
  /** Seconds from now; negative makes an expired token. */
  expiresIn?: number;
}

const b64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * Mints an RS256 session token shaped like Clerk's (sub, sid, azp, metadata.role), so the
 * gateway verifies it through the same `verifyToken` path as a real one.
 */
export function mintToken(privateKeyPem: string, claims: TokenClaims, now = Date.now()): string {
  const iat = Math.floor(now / 1000);
  const header = { alg: 'RS256', typ: 'JWT', kid: 'ins_moviehub_dev' };
  const payload = {
    sub: claims.userId,
    sid: `sess_${randomUUID()}`,
    iss: 'https://clerk.moviehub.local',
    iat,
    nbf: iat - 5,
    exp: iat + (claims.expiresIn ?? 3600),
    ...(claims.azp ? { azp: claims.azp } : {}),
    ...(claims.email ? { email: claims.email } : {}),
    metadata: { role: claims.role ?? 'CUSTOMER' },
  };
  const input = `${b64url(header)}.${b64url(payload)}`;
  const signature = createSign('RSA-SHA256')
    .update(input)
    .sign(privateKeyPem)
    .toString('base64url');
  return `${input}.${signature}`;
}
