import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';

/**
 * The part of Kustomize that deploy/k8s uses, so that the manifests can be rendered and checked
 * with no kubectl or kustomize binary: `resources` (files and directories), `configMapGenerator`
 * and `secretGenerator` (`literals`, `envs`, `behavior`), `patches` (strategic merge, by the
 * patch's own name or by a `target` of kind, name and label selector), `namespace` and `images`.
 * Anything else in a kustomization is refused rather than ignored, so a rendering here never
 * silently differs from `kubectl kustomize`; CI compares the two where kubectl is installed.
 */

/** One Kubernetes object as YAML gives it. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/** An object of the rendering and the file it came from, for messages. */
export interface Manifest {
  readonly object: KubeObject;
  /** The YAML file (or, for a generated object, the kustomization) relative to `root`. */
  readonly source: string;
  /** Made by a generator: its name gets kustomize's content-hash suffix. */
  readonly generated?: boolean;
}

export interface Rendering {
  readonly manifests: Manifest[];
  /** What the reader should know but is not wrong (an example file read in place of another). */
  readonly notes: string[];
  /** What is wrong in the inputs themselves (a placeholder left in a secrets file). */
  readonly problems: string[];
}

/** A kustomization that this subset cannot render: the message names the file and the field. */
export class KustomizeError extends Error {
  override readonly name = 'KustomizeError';
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];
const SUPPORTED_FIELDS = new Set([
  'apiVersion',
  'kind',
  'resources',
  'namespace',
  'images',
  'patches',
  'configMapGenerator',
  'secretGenerator',
]);
const GENERATOR_FIELDS = new Set(['name', 'behavior', 'literals', 'envs', 'type']);
/** Kinds that have no namespace: the namespace transformer leaves them alone. */
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding']);

const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Renders the kustomization in `dir` as `kubectl kustomize dir` would. Messages name files
 * relative to `root`. A generator's env file that does not exist is read from `<file>.example`
 * when there is one (CI has no secrets), which the notes say; a real env file whose value is
 * still the example's is a problem.
 */
export function renderKustomization(dir: string, root: string = dir): Rendering {
  const state: Rendering = { manifests: [], notes: [], problems: [] };
  const manifests = build(resolve(dir), resolve(root), state, []);
  return { ...state, manifests: suffixGeneratedNames(manifests) };
}

function build(dir: string, root: string, state: Rendering, stack: string[]): Manifest[] {
  if (stack.includes(dir)) {
    throw new KustomizeError(
      `${relative(root, dir) || '.'}: includes itself through its resources`,
    );
  }
  const file = KUSTOMIZATION_FILES.map((name) => join(dir, name)).find((path) => existsSync(path));
  if (!file) throw new KustomizeError(`${relative(root, dir) || '.'}: no kustomization.yaml`);
  const where = relative(root, file);
  const docs = parseYaml(file, root);
  if (docs.length !== 1 || !isObject(docs[0])) {
    throw new KustomizeError(`${where}: expected one YAML mapping`);
  }
  const k = docs[0];
  for (const field of Object.keys(k)) {
    if (!SUPPORTED_FIELDS.has(field)) {
      throw new KustomizeError(
        `${where}: "${field}" is not supported by scripts/k8s/kustomize.ts (extend it, or keep to its subset)`,
      );
    }
  }

  let manifests: Manifest[] = [];
  for (const entry of list(k.resources, `${where} resources`)) {
    const name = text(entry, `${where} resources`);
    const path = resolve(dir, name);
    if (!existsSync(path)) throw new KustomizeError(`${where}: resource ${name} not found`);
    manifests.push(
      ...(statSync(path).isDirectory()
        ? build(path, root, state, [...stack, dir])
        : readObjects(path, root)),
    );
  }
  for (const [kind, field] of [
    ['ConfigMap', 'configMapGenerator'],
    ['Secret', 'secretGenerator'],
  ] as const) {
    for (const spec of list(k[field], `${where} ${field}`)) {
      manifests = generate(kind, spec, dir, root, where, manifests, state);
    }
  }
  for (const spec of list(k.patches, `${where} patches`)) {
    applyPatch(spec, dir, where, root, manifests);
  }
  if (k.namespace !== undefined) {
    const namespace = text(k.namespace, `${where} namespace`);
    for (const { object } of manifests) {
      if (!CLUSTER_SCOPED.has(object.kind)) object.metadata.namespace = namespace;
    }
  }
  for (const image of list(k.images, `${where} images`)) setImage(image, where, manifests);
  return manifests;
}

/** A field that must be text (a number is taken as its text, as YAML may read `newTag: 1.2`). */
function text(value: Json | undefined, where: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  throw new KustomizeError(`${where}: expected a string`);
}

function list(value: Json | undefined, where: string): Json[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new KustomizeError(`${where}: expected a list`);
  return value;
}

function parseYaml(file: string, root: string): Json[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'));
  const out: Json[] = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) {
      throw new KustomizeError(`${relative(root, file)}: ${doc.errors[0].message}`);
    }
    const value = doc.toJS() as Json;
    if (value !== null) out.push(value);
  }
  return out;
}

function readObjects(file: string, root: string): Manifest[] {
  const source = relative(root, file);
  return parseYaml(file, root).map((doc, index) => {
    const meta = isObject(doc) ? doc.metadata : undefined;
    if (
      !isObject(doc) ||
      typeof doc.apiVersion !== 'string' ||
      typeof doc.kind !== 'string' ||
      !isObject(meta) ||
      typeof meta.name !== 'string'
    ) {
      throw new KustomizeError(
        `${source}: document ${index + 1} lacks apiVersion, kind or metadata.name`,
      );
    }
    return { object: doc as unknown as KubeObject, source };
  });
}

// ---- generators ----

/** `KEY=value`, the value without one pair of surrounding quotes (kustomize's literals). */
function parseLiteral(literal: string, where: string): [string, string] {
  const at = literal.indexOf('=');
  if (at <= 0) throw new KustomizeError(`${where}: literal "${literal}" is not KEY=value`);
  let value = literal.slice(at + 1);
  if (value.length >= 2 && value[0] === value.at(-1) && (value[0] === '"' || value[0] === "'")) {
    value = value.slice(1, -1);
  }
  return [literal.slice(0, at), value];
}

/** kustomize's env files: KEY=value a line, the value verbatim; blank lines and # comments skipped. */
function parseEnvFile(content: string, where: string): Map<string, string> {
  const pairs = new Map<string, string>();
  content
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .forEach((raw, index) => {
      const line = raw.trimStart();
      if (line === '' || line.startsWith('#')) return;
      const at = line.indexOf('=');
      const key = at < 0 ? line : line.slice(0, at);
      if (!/^[-._a-zA-Z][-._a-zA-Z0-9]*$/.test(key) || at < 0) {
        // Without "=", kustomize would take the value from its own environment: never wanted here.
        throw new KustomizeError(`${where}:${index + 1}: expected KEY=value`);
      }
      pairs.set(key, line.slice(at + 1));
    });
  return pairs;
}

function generate(
  kind: 'ConfigMap' | 'Secret',
  spec: Json,
  dir: string,
  root: string,
  where: string,
  manifests: Manifest[],
  state: Rendering,
): Manifest[] {
  if (!isObject(spec) || typeof spec.name !== 'string') {
    throw new KustomizeError(`${where}: a ${kind} generator needs a name`);
  }
  for (const field of Object.keys(spec)) {
    if (!GENERATOR_FIELDS.has(field)) {
      throw new KustomizeError(`${where}: generator ${spec.name}: "${field}" is not supported`);
    }
  }
  const data = new Map<string, string>();
  for (const literal of list(spec.literals, `${where} ${spec.name} literals`)) {
    const [key, value] = parseLiteral(
      text(literal, `${where} ${spec.name}`),
      `${where} ${spec.name}`,
    );
    data.set(key, value);
  }
  for (const envFile of list(spec.envs, `${where} ${spec.name} envs`)) {
    for (const [key, value] of readEnvFile(
      resolve(dir, text(envFile, `${where} ${spec.name}`)),
      root,
      state,
    )) {
      data.set(key, value);
    }
  }

  const name = spec.name;
  const behavior = spec.behavior ?? 'create';
  const index = manifests.findIndex(
    (m) => m.generated && m.object.kind === kind && m.object.metadata.name === name,
  );
  if (behavior === 'create') {
    if (index >= 0) throw new KustomizeError(`${where}: ${kind} ${name} is generated twice`);
    const object: KubeObject =
      kind === 'ConfigMap'
        ? { apiVersion: 'v1', kind, metadata: { name }, data: {} }
        : { apiVersion: 'v1', kind, metadata: { name }, type: spec.type ?? 'Opaque', data: {} };
    setData(object, data, false);
    return [...manifests, { object, source: where, generated: true }];
  }
  if (behavior !== 'merge' && behavior !== 'replace') {
    throw new KustomizeError(
      `${where}: generator ${name}: unknown behavior ${JSON.stringify(behavior)}`,
    );
  }
  if (index < 0) {
    throw new KustomizeError(`${where}: ${kind} ${name} to ${behavior} is not generated by a base`);
  }
  setData(manifests[index].object, data, behavior === 'merge');
  return manifests;
}

/**
 * The pairs of an env file; when it is missing, those of `<file>.example` (noted). A real file
 * that keeps a value of its example has a placeholder left in it: a problem.
 */
function readEnvFile(path: string, root: string, state: Rendering): Map<string, string> {
  const name = relative(root, path);
  const example = `${path}.example`;
  const exampleName = relative(root, example);
  const examplePairs = existsSync(example)
    ? parseEnvFile(readFileSync(example, 'utf8'), exampleName)
    : undefined;
  if (!existsSync(path)) {
    if (!examplePairs) throw new KustomizeError(`env file ${name} not found`);
    state.notes.push(
      `${name} is missing: checked with ${exampleName} (kubectl apply -k needs the real file)`,
    );
    return examplePairs;
  }
  const pairs = parseEnvFile(readFileSync(path, 'utf8'), name);
  for (const [key, value] of pairs) {
    if (examplePairs?.get(key) === value) {
      state.problems.push(`${name}: ${key} still has the placeholder of ${exampleName}`);
    }
  }
  return pairs;
}

/** kustomize wraps a Secret's base64 at 70 characters, each line ending in \n when wrapped. */
function kustomizeBase64(value: string): string {
  const encoded = Buffer.from(value, 'utf8').toString('base64');
  if (encoded.length < 70) return encoded;
  return encoded.replace(/.{1,70}/g, (line) => `${line}\n`);
}

function setData(object: KubeObject, data: Map<string, string>, merge: boolean): void {
  const values = Object.fromEntries(
    [...data].map(([k, v]) => [k, object.kind === 'Secret' ? kustomizeBase64(v) : v]),
  );
  object.data = merge ? { ...(object.data as Record<string, string>), ...values } : values;
}

/**
 * kustomize's name suffix: sha256 over the JSON of kind, data, an empty name (kustomize 5
 * hashes before naming) and a Secret's type, keys sorted and <, >, & escaped as Go does; the
 * first 10 hex digits with 0, 1, 3, a, e swapped for letters so that the suffix is never a
 * number or a word of vowels.
 */
export function kustomizeHash(object: KubeObject): string {
  const fields: JsonObject = { kind: object.kind, name: '', data: (object.data as Json) ?? {} };
  if (object.kind === 'Secret') fields.type = (object.type as Json) ?? 'Opaque';
  const json = JSON.stringify(sortKeys(fields)).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  const swap: Record<string, string> = { '0': 'g', '1': 'h', '3': 'k', a: 'm', e: 't' };
  return createHash('sha256')
    .update(json)
    .digest('hex')
    .slice(0, 10)
    .replace(/[013ae]/g, (c) => swap[c]);
}

/** The same value with every object's keys in order (Go's json.Marshal of a map sorts them). */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (!isObject(value)) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sortKeys(value[key])]),
  );
}

/** Suffixes generated names with their hash and renames every reference in pod templates. */
function suffixGeneratedNames(manifests: Manifest[]): Manifest[] {
  const renamed = new Map<string, string>();
  for (const { object, generated } of manifests) {
    if (!generated) continue;
    const name = `${object.metadata.name}-${kustomizeHash(object)}`;
    renamed.set(`${object.kind}/${object.metadata.name}`, name);
    object.metadata.name = name;
  }
  for (const { object } of manifests) {
    const pod = podSpecOf(object);
    if (pod) renamePodReferences(pod, renamed);
  }
  return manifests;
}

/** The pod template's spec of a workload (Deployment, StatefulSet, Job...), if it has one. */
function podSpecOf(object: KubeObject): JsonObject | undefined {
  const spec = object.spec;
  return isObject(spec) && isObject(spec.template) && isObject(spec.template.spec)
    ? spec.template.spec
    : undefined;
}

function renamePodReferences(pod: JsonObject, renamed: Map<string, string>): void {
  const rename = (ref: Json | undefined, kind: string, field = 'name') => {
    if (!isObject(ref) || typeof ref[field] !== 'string') return;
    ref[field] = renamed.get(`${kind}/${ref[field]}`) ?? ref[field];
  };
  const containers = [
    ...list(pod.initContainers, 'initContainers'),
    ...list(pod.containers, 'containers'),
  ];
  for (const container of containers.filter(isObject)) {
    for (const from of list(container.envFrom, 'envFrom').filter(isObject)) {
      rename(from.configMapRef, 'ConfigMap');
      rename(from.secretRef, 'Secret');
    }
    for (const env of list(container.env, 'env').filter(isObject)) {
      const source = env.valueFrom;
      if (!isObject(source)) continue;
      rename(source.configMapKeyRef, 'ConfigMap');
      rename(source.secretKeyRef, 'Secret');
    }
  }
  for (const volume of list(pod.volumes, 'volumes').filter(isObject)) {
    rename(volume.configMap, 'ConfigMap');
    rename(volume.secret, 'Secret', 'secretName');
    const projected = isObject(volume.projected) ? volume.projected.sources : undefined;
    for (const source of list(projected, 'projected sources').filter(isObject)) {
      rename(source.configMap, 'ConfigMap');
      rename(source.secret, 'Secret');
    }
  }
}

// ---- patches ----

/**
 * Lists that strategic merge patches merge item by item, and the key that pairs items (the
 * patchMergeKey of the Kubernetes API); every other list is replaced whole.
 */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  ports: 'containerPort',
  imagePullSecrets: 'name',
};

/** Merges `patch` into `target` as a strategic merge patch does; `null` deletes a field. */
function strategicMerge(target: JsonObject, patch: JsonObject, where: string): void {
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith('$')) {
      throw new KustomizeError(`${where}: patch directive ${key} is not supported`);
    }
    const current = target[key];
    if (value === null) {
      delete target[key];
    } else if (isObject(value) && isObject(current)) {
      strategicMerge(current, value, where);
    } else if (Array.isArray(value) && Array.isArray(current) && MERGE_KEYS[key]) {
      mergeList(current, value, MERGE_KEYS[key], where);
    } else {
      target[key] = structuredClone(value);
    }
  }
}

function mergeList(current: Json[], patch: Json[], mergeKey: string, where: string): void {
  for (const item of patch) {
    if (!isObject(item) || item[mergeKey] === undefined) {
      throw new KustomizeError(`${where}: a list item without its merge key ${mergeKey}`);
    }
    const match = current.find((c) => isObject(c) && c[mergeKey] === item[mergeKey]);
    if (isObject(match)) strategicMerge(match, item, where);
    else current.push(structuredClone(item));
  }
}

function matchesSelector(labels: Record<string, string> | undefined, selector: string): boolean {
  return selector
    .split(',')
    .map((term) => term.trim())
    .filter(Boolean)
    .every((term) => {
      const [key, value] = term.split('=');
      if (value === undefined || /[!()]/.test(term)) {
        throw new KustomizeError(
          `label selector "${selector}": only key=value terms are supported`,
        );
      }
      return labels?.[key.trim()] === value.trim();
    });
}

function applyPatch(
  spec: Json,
  dir: string,
  where: string,
  root: string,
  manifests: Manifest[],
): void {
  if (!isObject(spec) || typeof spec.path !== 'string') {
    throw new KustomizeError(`${where}: a patch needs a path (inline patches are not supported)`);
  }
  const file = resolve(dir, spec.path);
  const docs = parseYaml(file, root);
  const patchWhere = relative(root, file);
  if (docs.length !== 1 || !isObject(docs[0]) || !isObject(docs[0].metadata)) {
    throw new KustomizeError(`${patchWhere}: expected one object to patch with`);
  }
  const patch = docs[0];
  const patchMeta = patch.metadata as JsonObject;
  // Without a target, the patch names the one object it changes.
  if (!isObject(spec.target) && typeof patchMeta.name !== 'string') {
    throw new KustomizeError(`${patchWhere}: a patch without a target needs metadata.name`);
  }
  const target = isObject(spec.target) ? spec.target : { kind: patch.kind, name: patchMeta.name };
  for (const field of Object.keys(target)) {
    if (!['kind', 'name', 'labelSelector'].includes(field)) {
      throw new KustomizeError(`${where}: patch target field "${field}" is not supported`);
    }
  }
  const selected = manifests.filter(
    ({ object }) =>
      (target.kind === undefined || object.kind === target.kind) &&
      (target.name === undefined || object.metadata.name === target.name) &&
      (target.labelSelector === undefined ||
        matchesSelector(
          object.metadata.labels,
          text(target.labelSelector, `${where} patch target`),
        )),
  );
  if (selected.length === 0) {
    throw new KustomizeError(`${patchWhere}: the patch matches no object`);
  }
  // With a target the patch's own name is only a placeholder: each selected object keeps its own.
  const { name: _name, ...metadata } = patchMeta;
  const body: JsonObject = { ...patch, metadata };
  delete body.apiVersion;
  delete body.kind;
  for (const { object } of selected) {
    strategicMerge(object as unknown as JsonObject, structuredClone(body), patchWhere);
  }
}

// ---- images ----

/** Splits an image reference into its name and its `:tag` / `@digest`. */
function splitImage(image: string): { name: string; rest: string } {
  const at = image.indexOf('@');
  if (at >= 0) return { name: image.slice(0, at), rest: image.slice(at) };
  const colon = image.lastIndexOf(':');
  return colon > image.lastIndexOf('/')
    ? { name: image.slice(0, colon), rest: image.slice(colon) }
    : { name: image, rest: '' };
}

function setImage(spec: Json, where: string, manifests: Manifest[]): void {
  if (!isObject(spec) || typeof spec.name !== 'string') {
    throw new KustomizeError(`${where}: an images entry needs a name`);
  }
  for (const field of Object.keys(spec)) {
    if (!['name', 'newName', 'newTag', 'digest'].includes(field)) {
      throw new KustomizeError(`${where}: images field "${field}" is not supported`);
    }
  }
  for (const { object } of manifests) {
    const pod = podSpecOf(object);
    if (!pod) continue;
    for (const container of [...list(pod.initContainers, ''), ...list(pod.containers, '')]) {
      if (!isObject(container) || typeof container.image !== 'string') continue;
      const { name, rest } = splitImage(container.image);
      if (name !== spec.name) continue;
      const newName = typeof spec.newName === 'string' ? spec.newName : name;
      const suffix =
        spec.digest !== undefined
          ? `@${text(spec.digest, where)}`
          : spec.newTag !== undefined
            ? `:${text(spec.newTag, where)}`
            : rest;
      container.image = newName + suffix;
    }
  }
}
