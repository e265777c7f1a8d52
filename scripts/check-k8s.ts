import { readFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { projectRoot } from '../runtime/paths';
import { KustomizeError, renderKustomization, sortKeys, type Manifest } from './k8s/kustomize';
import { catalogue, checkCatalog, type CheckOptions, type Findings } from './k8s/manifest-checks';
import { checkServices } from './k8s/service-checks';

export const CHECK_K8S_USAGE = `Usage: node dist/scripts/check-k8s.js [--partial] [DIR...]
       node dist/scripts/check-k8s.js --same-as RENDERED.yaml DIR

Renders each kustomization DIR without kubectl (the subset of Kustomize in
scripts/k8s/kustomize.ts) and checks every object: its Kubernetes schema, the references
between objects, and that each MovieHub service would start with the environment it gets.
Without DIR: deploy/k8s/base (its Secret comes from an overlay) and
deploy/k8s/overlays/production.

  --partial        DIR is a base that overlays complete: Secrets it lacks may be referenced,
                   and the settings it lacks are listed, not problems
  --same-as FILE   compare the rendering of DIR with FILE (kubectl kustomize DIR)
  -h, --help       this help
`;

const DEFAULT_TARGETS: ReadonlyArray<{ dir: string; options: CheckOptions }> = [
  { dir: 'deploy/k8s/base', options: { partial: true } },
  { dir: 'deploy/k8s/overlays/production', options: {} },
];

export interface KustomizationReport extends Findings {
  readonly dir: string;
  readonly objects: number;
}

/**
 * Renders and checks one kustomization. `root` is where file names in messages start (the
 * checkout by default); the services' sources are always the checkout's.
 */
export function checkKustomization(
  dir: string,
  options: CheckOptions,
  root: string = projectRoot(),
): KustomizationReport {
  const report: KustomizationReport = {
    dir: relative(root, resolve(dir)),
    objects: 0,
    problems: [],
    notes: [],
  };
  let manifests: Manifest[];
  try {
    const rendering = renderKustomization(dir, root);
    manifests = rendering.manifests;
    report.problems.push(...rendering.problems);
    report.notes.push(...rendering.notes);
  } catch (err) {
    if (!(err instanceof KustomizeError)) throw err;
    report.problems.push(err.message);
    return report;
  }
  const catalog = catalogue(manifests, report);
  checkCatalog(catalog, options, report);
  checkServices(catalog, options, projectRoot(), report);
  return { ...report, objects: manifests.length };
}

/** Objects in one order, keys sorted: two renderings compare as strings. */
function canonical(objects: unknown[]): Map<string, string> {
  const byId = new Map<string, string>();
  for (const object of objects) {
    const { kind, metadata } = object as {
      kind: string;
      metadata: { name: string; namespace?: string };
    };
    byId.set(
      `${kind} ${metadata.namespace ?? ''}/${metadata.name}`,
      JSON.stringify(sortKeys(object), null, 1),
    );
  }
  return byId;
}

/** Where the rendering of `dir` differs from `kubectl kustomize dir`'s output in `file`. */
export function compareRenderings(dir: string, file: string): string[] {
  const ours = canonical(renderKustomization(dir).manifests.map((m) => m.object));
  const theirs = canonical(
    parseAllDocuments(readFileSync(file, 'utf8'))
      .map((doc) => doc.toJS() as unknown)
      .filter((doc) => doc !== null),
  );
  const differences: string[] = [];
  for (const id of new Set([...ours.keys(), ...theirs.keys()])) {
    const a = ours.get(id);
    const b = theirs.get(id);
    if (a === b) continue;
    if (a === undefined || b === undefined) {
      differences.push(`${id}: only in ${a === undefined ? file : 'our rendering'}`);
      continue;
    }
    const linesA = a.split('\n');
    const linesB = b.split('\n');
    const at = linesA.findIndex((line, i) => line !== linesB[i]);
    differences.push(
      `${id}: ours has ${linesA[at]?.trim()} where ${file} has ${linesB[at]?.trim()}`,
    );
  }
  return differences;
}

function print(report: KustomizationReport): void {
  const verdict =
    report.problems.length === 0 ? 'no problems' : `${report.problems.length} problem(s)`;
  console.log(`${report.dir}: ${report.objects} objects, ${verdict}`);
  for (const note of report.notes) console.log(`  note: ${note}`);
  for (const problem of report.problems) console.log(`  PROBLEM ${problem}`);
}

function main(): number {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      partial: { type: 'boolean', default: false },
      'same-as': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(CHECK_K8S_USAGE);
    return 0;
  }
  // Messages name files from where the command runs.
  const cwd = process.cwd();
  const at = (dir: string) => (isAbsolute(dir) ? dir : join(cwd, dir));
  if (values['same-as']) {
    if (positionals.length !== 1) throw new UsageError('--same-as compares one DIR');
    const differences = compareRenderings(at(positionals[0]), values['same-as']);
    for (const line of differences) console.log(`  DIFFERENT ${line}`);
    console.log(
      `${positionals[0]}: ${differences.length === 0 ? 'same as' : 'differs from'} ${values['same-as']}`,
    );
    return differences.length === 0 ? 0 : 1;
  }
  const targets =
    positionals.length > 0
      ? positionals.map((dir) => ({
          dir: at(dir),
          options: { partial: values.partial },
        }))
      : DEFAULT_TARGETS.map(({ dir, options }) => ({ dir: join(projectRoot(), dir), options }));
  let failed = false;
  for (const { dir, options } of targets) {
    const report = checkKustomization(dir, options, cwd);
    print(report);
    failed ||= report.problems.length > 0;
  }
  return failed ? 1 : 0;
}

class UsageError extends Error {}

if (require.main === module) {
  try {
    process.exitCode = main();
  } catch (err) {
    // A kustomization this subset cannot render, or bad arguments: one line. Anything else is
    // a bug here, and its stack is wanted.
    const parseArgsError = String((err as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS');
    const known = err instanceof KustomizeError || err instanceof UsageError || parseArgsError;
    if (!known || !(err instanceof Error)) throw err;
    console.error(`${err.message}\n\n${CHECK_K8S_USAGE}`);
    process.exitCode = 2;
  }
}
