#!/usr/bin/env node
// Compiles the project (tsc -p tsconfig.build.json) only when a source is newer than the last
// build made here, and bundles the seat map page (vite build web, into dist/web) only when one
// of its files is, so that `npm start`, `npm run token` and `npm run seed` cost no rebuild
// when nothing changed. Each stamp takes the time its build started: a file saved while the
// build ran is newer, and the next run builds again. `--web`: the page only (the browser tests).
const { spawnSync } = require('node:child_process');
const { existsSync, readdirSync, statSync, utimesSync, writeFileSync } = require('node:fs');
const { dirname, join, resolve } = require('node:path');

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
/** The page: every file under web/ (sources, styles, operations, configuration) shapes the bundle. */
const WEB_DIR = join(root, 'web');
const webStamp = join(root, 'dist', 'web', '.build-stamp');

/** The newest modification time (ms) of the files under `dir` that `keep` accepts. */
function newest(dir, keep = isTypeScriptSource) {
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
    if (entry.isDirectory()) latest = Math.max(latest, newest(path, keep));
    else if (keep(entry.name)) latest = Math.max(latest, statSync(path).mtimeMs);
  }
  return latest;
}

function isTypeScriptSource(name) {
  return name.endsWith('.ts') && !name.endsWith('.test.ts');
}

const mtime = (path) => (existsSync(path) ? statSync(path).mtimeMs : 0);

function isStale() {
  if (!existsSync(stamp) || !existsSync(join(root, 'dist', 'scripts', 'start-local.js')))
    return true;
  const built = statSync(stamp).mtimeMs;
  const sources = Math.max(
    ...SOURCE_DIRS.map((d) => newest(join(root, d))),
    ...SOURCE_FILES.map((f) => mtime(join(root, f))),
  );
  return sources >= built;
}

function isWebStale() {
  const page = join(root, 'dist', 'web', 'index.html');
  if (!existsSync(page)) return true;
  // Built by `npm run build` (no stamp): the page is as new as the last file it wrote.
  const built = existsSync(webStamp) ? mtime(webStamp) : mtime(page);
  return (
    Math.max(
      newest(WEB_DIR, () => true),
      mtime(join(root, 'package.json')),
    ) >= built
  );
}

/** Runs `args` with node; exits with its status when it fails; stamps `stampPath` when not. */
function build(args, stampPath) {
  const startedAt = new Date();
  const run = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  if (run.status !== 0) process.exit(run.status ?? 1);
  writeFileSync(stampPath, '');
  utimesSync(stampPath, startedAt, startedAt);
}

const webOnly = process.argv.includes('--web');
if (!webOnly && isStale()) {
  build(
    [require.resolve('typescript/bin/tsc', { paths: [root] }), '-p', 'tsconfig.build.json'],
    stamp,
  );
}
if (isWebStale()) {
  const vite = join(
    dirname(require.resolve('vite/package.json', { paths: [root] })),
    'bin',
    'vite.js',
  );
  build([vite, 'build', 'web', '--logLevel', 'warn'], webStamp);
}
