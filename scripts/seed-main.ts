import 'reflect-metadata';
import type { DataSource } from 'typeorm';
import { loadConfig, type SubgraphName } from '../runtime/config';
import { exitOnStartupError } from '../runtime/lifecycle';
import { createLogger } from '../runtime/logger';
import { openSubgraphDatabase } from '../runtime/subgraph-server';
import { seedDemoData } from './seed/seed';
import { ALL_SUBGRAPHS } from './subgraphs';

/**
 * `npm run seed`: the demo data into the configured databases (DATABASE_URL or the
 * per-subgraph URLs), for staging and load tests. Creates the databases and applies the
 * migrations first; idempotent.
 */
async function main(): Promise<void> {
  const config = loadConfig('tool');
  const log = createLogger('seed', config.logLevel);
  const sources: Partial<Record<SubgraphName, DataSource>> = {};
  try {
    for (const definition of ALL_SUBGRAPHS) {
      sources[definition.name] = await openSubgraphDatabase(definition, config, log);
    }
    const inserted = await seedDemoData(sources as Record<SubgraphName, DataSource>, undefined, {
      internalSecret: config.internalSecret,
    });
    log.info({ inserted }, 'demo data seeded');
    console.log(`seeded: ${JSON.stringify(inserted)}`);
  } finally {
    await Promise.all(Object.values(sources).map((ds) => ds.destroy()));
  }
}

main().catch((err: unknown) => exitOnStartupError(createLogger('seed', 'info'), err));
