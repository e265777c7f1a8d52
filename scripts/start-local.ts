import 'reflect-metadata';
import { resolve } from 'node:path';
import { loadConfig, withOverrides } from '../runtime/config';
import { exitOnStartupError, stopOnSignals } from '../runtime/lifecycle';
import { createLogger } from '../runtime/logger';
import { mintToken } from './dev-token';
import { localClerk } from './local-clerk';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './embedded-postgres';
import { seedDemoData } from './seed/seed';
import { startStack } from './stack';

/**
 * `npm start`: the whole supergraph in one process. With no configuration it brings its own
 * PostgreSQL (embedded, data under .data/) and uses in-process pub/sub; with DATABASE_URL and
 * REDIS_URL it uses those. Demo data is seeded idempotently on every start.
 */
async function main(): Promise<void> {
  const base = loadConfig('local');
  const log = createLogger('local', base.logLevel);
  const dataDir = resolve(base.embedded.dataDir);
  const stops: Array<() => Promise<void>> = [];
  stopOnSignals(log, stops);

  let embedded: EmbeddedDatabase | undefined;
  if (!base.db.url && Object.values(base.db.perService).every((u) => !u)) {
    embedded = await startEmbeddedPostgres(dataDir, base.embedded.pgPort, (m) => log.info(m));
    stops.push(() => embedded!.stop());
  }
  const { clerk, devKeys } = localClerk(base, dataDir);
  const config = withOverrides(base, { db: embedded ? { url: embedded.url } : {}, clerk });

  const stack = await startStack(config);
  stops.unshift(stack.stop);
  const seeded = await seedDemoData({
    users: stack.subgraphs.users.dataSource,
    movies: stack.subgraphs.movies.dataSource,
    cinemas: stack.subgraphs.cinemas.dataSource,
    bookings: stack.subgraphs.bookings.dataSource,
  });
  log.info({ seeded }, 'demo data ready');

  const lines = [
    '',
    `  MovieHub supergraph is up: Apollo Sandbox at http://localhost:${stack.gateway.port}/graphql`,
  ];
  if (devKeys) {
    const token = mintToken(devKeys.privateKeyPem, {
      userId: 'demo-customer',
      role: 'CUSTOMER',
      email: 'customer@moviehub.example',
      expiresIn: 7 * 86_400,
    });
    lines.push(
      '  Demo customer token (header "Authorization: Bearer <token>", valid 7 days):',
      `  ${token}`,
      '  More tokens: npm run token -- --role ADMIN --user demo-admin',
    );
  }
  lines.push('  Ctrl-C stops everything.', '');
  process.stdout.write(lines.join('\n') + '\n');
}

main().catch((err: unknown) => exitOnStartupError(createLogger('local', 'info'), err));
