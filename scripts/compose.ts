import 'reflect-metadata';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { projectRoot } from '../runtime/paths';
import { composeSupergraph } from './supergraph';

/**
 * `npm run compose` writes schema/*.graphql; `npm run compose -- --check` fails when the
 * committed files differ from a fresh composition.
 */
async function main(): Promise<void> {
  const check = process.argv.includes('--check');
  const dir = join(projectRoot(), 'schema');
  const { files } = await composeSupergraph();
  const stale: string[] = [];
  for (const [name, contents] of files) {
    const path = join(dir, name);
    if (check) {
      const current = await readFile(path, 'utf8').catch(() => null);
      if (current !== contents) stale.push(`schema/${name}`);
    } else {
      await writeFile(path, contents);
    }
  }
  if (stale.length > 0) {
    console.error(`Stale generated schema (run \`npm run compose\`): ${stale.join(', ')}`);
    process.exit(1);
  }
  console.log(check ? 'schema/ is up to date' : `wrote ${[...files.keys()].join(', ')} to schema/`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
