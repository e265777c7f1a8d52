import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../runtime/config';
import { ROLES, type Role } from '../runtime/identity';
import { loadOrCreateDevKeys, mintToken } from './dev-token';

export const TOKEN_USAGE = `Usage: npm run token -- [--role ROLE] [--user ID] [--email ADDRESS] [--azp ORIGIN] [--expires-in SECONDS]

Prints a session token that the local stack (npm start) accepts, signed with its key pair
under the data folder (EMBEDDED_DATA_DIR, default .data/). Send it as the header
"Authorization: Bearer <token>".

  --role ROLE             ${ROLES.join(', ')} (default CUSTOMER)
  --user ID               the Clerk user id, the token's sub (default demo-customer)
  --email ADDRESS         an email claim
  --azp ORIGIN            the authorized party (the front end's origin): needed where the
                          gateway checks CLERK_AUTHORIZED_PARTIES (production, Docker Compose)
  --expires-in SECONDS    lifetime (default 86400, one day)
  -h, --help              this help

Example: npm run token -- --role ADMIN --user demo-admin
`;

/** The token for the arguments, or the text to print and the exit code. */
export function tokenCommand(
  args: string[],
  env: Record<string, string | undefined> = process.env,
): { out: string; code: number } {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        role: { type: 'string', default: 'CUSTOMER' },
        user: { type: 'string', default: 'demo-customer' },
        email: { type: 'string' },
        azp: { type: 'string' },
        'expires-in': { type: 'string', default: '86400' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    return { out: `${(err as Error).message}\n\n${TOKEN_USAGE}`, code: 2 };
  }
  if (values.help) return { out: TOKEN_USAGE, code: 0 };
  const role = String(values.role).toUpperCase() as Role;
  if (!ROLES.includes(role)) return { out: `--role must be one of ${ROLES.join(', ')}\n`, code: 2 };
  const expiresIn = Number(values['expires-in']);
  if (!Number.isInteger(expiresIn)) {
    return { out: '--expires-in must be a whole number of seconds\n', code: 2 };
  }
  const config = loadConfig('tool', env);
  const keys = loadOrCreateDevKeys(join(resolve(config.embedded.dataDir), 'dev-keys.json'));
  const token = mintToken(keys.privateKeyPem, {
    userId: String(values.user),
    role,
    email: values.email,
    azp: values.azp,
    expiresIn,
  });
  return { out: `${token}\n`, code: 0 };
}

/**
 * `npm run token -- --role ADMIN --user demo-admin`: a session token the local stack accepts
 * (signed with its key pair under .data/, verified by the gateway through `verifyToken`).
 */
if (require.main === module) {
  const { out, code } = tokenCommand(process.argv.slice(2));
  (code === 0 ? process.stdout : process.stderr).write(out);
  process.exitCode = code;
}
