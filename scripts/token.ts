import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../runtime/config';
import { ROLES, type Role } from '../runtime/identity';
import { loadOrCreateDevKeys, mintToken } from './dev-token';

/**
 * `npm run token -- --role ADMIN --user demo-admin`: a session token the local stack accepts
 * (signed with its key pair under .data/, verified by the gateway through `verifyToken`).
 */
function main(): void {
  const { values } = parseArgs({
    options: {
      role: { type: 'string', default: 'CUSTOMER' },
      user: { type: 'string', default: 'demo-customer' },
      email: { type: 'string' },
      'expires-in': { type: 'string', default: '86400' },
    },
  });
  const role = String(values.role).toUpperCase() as Role;
  if (!ROLES.includes(role)) {
    console.error(`--role must be one of ${ROLES.join(', ')}`);
    process.exit(2);
  }
  const expiresIn = Number(values['expires-in']);
  if (!Number.isInteger(expiresIn)) {
    console.error('--expires-in must be a number of seconds');
    process.exit(2);
  }
  const config = loadConfig('tool');
  const keys = loadOrCreateDevKeys(join(resolve(config.embedded.dataDir), 'dev-keys.json'));
  process.stdout.write(
    mintToken(keys.privateKeyPem, {
      userId: String(values.user),
      role,
      email: values.email,
      expiresIn,
    }) + '\n',
  );
}

main();
