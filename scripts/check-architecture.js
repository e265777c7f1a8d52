#!/usr/bin/env node
// Keeps the architecture honest (DESIGN.md section 1):
// - subgraphs never import each other; the gateway imports no subgraph;
// - the shared runtime imports neither subgraphs, the gateway nor scripts;
// - only runtime/config.ts reads process.env in service code.
const { readFileSync, readdirSync, statSync } = require('node:fs');
const { dirname, join, relative, resolve, sep } = require('node:path');

const root = resolve(__dirname, '..');
const problems = [];

function* sourceFiles(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* sourceFiles(path);
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) yield path;
  }
}

const area = (path) => {
  const parts = relative(root, path).split(sep);
  return parts[0] === 'subgraphs' ? `subgraphs/${parts[1]}` : parts[0];
};

const IMPORT = /(?:from\s+|import\s*\(\s*|require\s*\(\s*)['"](\.[^'"]+)['"]/g;

for (const top of ['runtime', 'gateway', 'subgraphs']) {
  for (const file of sourceFiles(join(root, top))) {
    const isTest = file.endsWith('.test.ts');
    const text = readFileSync(file, 'utf8');
    const from = area(file);
    for (const [, spec] of text.matchAll(IMPORT)) {
      const to = area(resolve(dirname(file), spec));
      const bad =
        (from.startsWith('subgraphs/') && to.startsWith('subgraphs/') && to !== from) ||
        (from === 'gateway' && to.startsWith('subgraphs/')) ||
        (from === 'runtime' && to !== 'runtime' && !isTest) ||
        (!isTest && ['scripts', 'tests', 'bench'].includes(to));
      if (bad) problems.push(`${relative(root, file)} imports ${spec} (${from} → ${to})`);
    }
    const rel = relative(root, file);
    if (!isTest && rel !== join('runtime', 'config.ts') && /process\.env\b/.test(text)) {
      problems.push(`${rel} reads process.env (only runtime/config.ts may)`);
    }
  }
}

if (problems.length > 0) {
  console.error(`Architecture check failed:\n  - ${problems.join('\n  - ')}`);
  process.exit(1);
}
console.log('architecture OK: subgraphs independent, gateway subgraph-free, env read in one place');
