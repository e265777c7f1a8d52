import { join } from 'node:path';
import type { AppConfig } from '../runtime/config';
import { loadOrCreateDevKeys, type KeyPair } from './dev-token';

/**
 * How the local stack verifies tokens: Clerk's own key or secret when configured (the
 * embedded default honours CLERK_JWT_KEY), otherwise a local key pair kept under the data
 * folder, with which `npm run token` mints tokens the gateway accepts through `verifyToken`.
 */
export function localClerk(
  config: AppConfig,
  dataDir: string,
): { clerk: Partial<AppConfig['clerk']>; devKeys?: KeyPair } {
  if (config.clerk.jwtKey || config.clerk.secretKey) return { clerk: {} };
  const devKeys = loadOrCreateDevKeys(join(dataDir, 'dev-keys.json'));
  return { clerk: { jwtKey: devKeys.publicKeyPem }, devKeys };
}
