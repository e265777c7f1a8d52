#!/usr/bin/env node
// Keeps the architecture honest (DESIGN.md section 1):
// - subgraphs never import each other; the gateway imports no subgraph;
// - the shared runtime imports neither subgraphs, the gateway nor scripts;
// - only runtime/config.ts reads process.env in service code;
// - resolvers and routes import a subgraph's context types, not its wiring (context.ts);
// - no import circles: a cycle makes module initialisation order-dependent (a value read
//   before its module finished loading is undefined) and hides which file owns what.
//   Type-only imports count too, so a cycle cannot come back by dropping a `type`.
const { existsSync, readFileSync, readdirSync, statSync } = require('node:fs');
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

const IMPORT = /(?:from\s+|import\s+|import\s*\(\s*|require\s*\(\s*)['"](\.[^'"]+)['"]/g;

/** The file a relative specifier loads (x.ts, x/index.ts), or undefined for non-TS targets. */
function resolveSpec(file, spec) {
  const base = resolve(dirname(file), spec.replace(/\.js$/, ''));
  for (const candidate of [`${base}.ts`, join(base, 'index.ts'), base]) {
    if (candidate.endsWith('.ts') && existsSync(candidate) && statSync(candidate).isFile()) {
      return candidate;
    }
  }
  return undefined;
}

/** Import graph of every .ts file (tests included) under the given top-level folders. */
function importGraph(tops) {
  const graph = new Map();
  for (const top of tops) {
    for (const file of sourceFiles(join(root, top))) {
      const edges = new Set();
      for (const [, spec] of readFileSync(file, 'utf8').matchAll(IMPORT)) {
        const target = resolveSpec(file, spec);
        if (target) edges.add(target);
      }
      graph.set(file, edges);
    }
  }
  return graph;
}

/** Strongly connected components with more than one file (or a self-import), by Tarjan. */
function cycles(graph) {
  let counter = 0;
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const found = [];
  const visit = (node) => {
    index.set(node, counter);
    low.set(node, counter);
    counter += 1;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node), low.get(next)));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node), index.get(next)));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component = [];
      let member;
      do {
        member = stack.pop();
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || graph.get(node).has(node)) found.push(component);
    }
  };
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node);
  return found;
}

/** One concrete circle inside a component, as a path back to its start (breadth-first). */
function cyclePath(graph, component) {
  const members = new Set(component);
  const start = [...component].sort()[0];
  const previous = new Map([[start, undefined]]);
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift();
    for (const next of graph.get(node)) {
      if (!members.has(next)) continue;
      if (next === start) {
        const path = [start];
        for (let at = node; at !== start; at = previous.get(at)) path.splice(1, 0, at);
        return [...path, start];
      }
      if (!previous.has(next)) {
        previous.set(next, node);
        queue.push(next);
      }
    }
  }
  return [start, start];
}

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

const graph = importGraph(['gateway', 'runtime', 'subgraphs', 'scripts']);
for (const component of cycles(graph)) {
  const path = cyclePath(graph, component).map((file) => relative(root, file));
  const rest = component.map((file) => relative(root, file)).filter((f) => !path.includes(f));
  const also = rest.length > 0 ? ` (same circle: ${rest.join(', ')})` : '';
  problems.push(`import circle: ${path.join(' → ')}${also}`);
}

// A subgraph's wiring (`context.ts`) imports every service and store; only its definition
// (`schema.ts`) and tests may import it, the rest use the types in `context.types.ts`.
for (const [file, targets] of graph) {
  const rel = relative(root, file);
  if (rel.endsWith('.test.ts')) continue;
  for (const target of targets) {
    const wiring = relative(root, target).split(sep);
    const isWiring =
      wiring.length === 4 &&
      wiring[0] === 'subgraphs' &&
      wiring[2] === 'src' &&
      wiring[3] === 'context.ts';
    if (isWiring && rel !== join(...wiring.slice(0, 3), 'schema.ts')) {
      problems.push(`${rel} imports the wiring ${wiring.join('/')} (use context.types.ts)`);
    }
  }
}

if (problems.length > 0) {
  console.error(`Architecture check failed:\n  - ${problems.join('\n  - ')}`);
  process.exit(1);
}
console.log(
  'architecture OK: subgraphs independent, gateway subgraph-free, env read in one place, no import circles, wiring imported by definitions only',
);
