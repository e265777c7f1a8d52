#!/usr/bin/env node
// Compiles the project (tsc -p tsconfig.build.json) only when a source is newer than the last
// build made here, so that `npm start`, `npm run token` and `npm run seed` cost no rebuild
// when nothing changed. The stamp takes the time the build started: a file saved while tsc
// ran is newer, and the next run builds again.
const { spawnSync } = require('node:child_process');
const { existsSync, readdirSync, statSync, utimesSync, writeFileSync } = require('node:fs');
const { join, resolve } = require('node:path');

const root = resolve(__dirname, '..');
const SOURCE_DIRS = [
  'runtime',
  'gateway',
  'subgraphs',
  'scripts',
  'schema/__generated__',
  'bench',
  'tests',
];
const SOURCE_FILES = ['tsconfig.json', 'tsconfig.build.json', 'package.json'];
const stamp = join(root, 'dist', '.build-stamp');

/** The newest modification time (ms) of the TypeScript sources under `dir`. */
function newest(dir) {
  let latest = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) latest = Math.max(latest, newest(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
      latest = Math.max(latest, statSync(path).mtimeMs);
    }
  }
  return latest;
}

function isStale() {
  if (!existsSync(stamp) || !existsSync(join(root, 'dist', 'scripts', 'start-local.js')))
    return true;
  const built = statSync(stamp).mtimeMs;
  const sources = Math.max(
    ...SOURCE_DIRS.map((d) => newest(join(root, d))),
    ...SOURCE_FILES.map((f) => (existsSync(join(root, f)) ? statSync(join(root, f)).mtimeMs : 0)),
  );
  return sources >= built;
}

if (isStale()) {
  const startedAt = new Date();
  const tsc = spawnSync(
    process.execPath,
    [require.resolve('typescript/bin/tsc', { paths: [root] }), '-p', 'tsconfig.build.json'],
    { cwd: root, stdio: 'inherit' },
  );
  if (tsc.status !== 0) process.exit(tsc.status ?? 1);
  writeFileSync(stamp, '');
  utimesSync(stamp, startedAt, startedAt);
}
