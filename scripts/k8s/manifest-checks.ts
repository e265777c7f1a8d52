import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import {
  HorizontalPodAutoscaler,
  type IHorizontalPodAutoscaler,
} from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Ingress, type IIngress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import {
  PodDisruptionBudget,
  type IPodDisruptionBudget,
} from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IContainer } from 'kubernetes-models/v1/Container';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import type { IProbe } from 'kubernetes-models/v1/Probe';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service, type IService } from 'kubernetes-models/v1/Service';
import type { KubeObject, Manifest } from './kustomize';

/**
 * Checks a rendering as the API server and the kubelet would see it, before any cluster does:
 * each object against the Kubernetes schema of its kind (kubernetes-models), then what no
 * schema can say: names that other objects use exist and select what they mean to (Service and
 * PodDisruptionBudget selectors, HorizontalPodAutoscaler targets, ConfigMap and Secret keys,
 * probe and Service ports, Ingress backends), and the rules every workload here keeps (resource
 * requests, two replicas at least, the restricted Pod Security Standard).
 */

export interface CheckOptions {
  /**
   * A base that overlays complete: Secrets that the rendering does not contain may be
   * referenced (noted with the keys read; a placeholder stands in for each value), and the
   * settings a service requires but does not get yet are noted for the overlay, not problems.
   */
  readonly partial?: boolean;
}

/** An object that passed its schema, typed, with how to name it in a message. */
export interface Checked<T> {
  readonly object: T & { metadata: { name: string; namespace?: string } };
  readonly manifest: Manifest;
  /** `Kind name (file)`. */
  readonly label: string;
}

export interface Workload extends Checked<IDeployment> {
  readonly pod: IPodSpec;
  readonly podLabels: Record<string, string>;
}

/** Every object of the rendering that passed its schema, by kind. */
export interface Catalog {
  readonly workloads: Workload[];
  readonly services: Checked<IService>[];
  readonly autoscalers: Checked<IHorizontalPodAutoscaler>[];
  readonly disruptionBudgets: Checked<IPodDisruptionBudget>[];
  readonly ingresses: Checked<IIngress>[];
  /** Data by `namespace/name`; a Secret's decoded. */
  readonly configMaps: Map<string, Record<string, string>>;
  readonly secrets: Map<string, Record<string, string>>;
}

export interface Findings {
  readonly problems: string[];
  readonly notes: string[];
}

/** Where `namespace/name` keys meet: objects of one rendering without a namespace share ''. */
export const refKey = (namespace: string | undefined, name: string) => `${namespace ?? ''}/${name}`;

/** Stands in for a key of a Secret outside the rendering: a URL, long enough for any secret. */
export const EXTERNAL_SECRET_VALUE = 'https://external-secret.invalid/placeholder-0123456789abcdef';

/** The schema of each kind we deploy; an object of another kind is refused, never waved through. */
const SCHEMAS: Record<string, (object: KubeObject) => void> = {
  'v1/ConfigMap': (o) => new ConfigMap(o).validate(),
  // The API server decodes base64 skipping line breaks, and kustomize wraps long values at 70
  // characters: the schema's "byte" format would refuse what the cluster accepts.
  'v1/Secret': (o) =>
    new Secret({
      ...o,
      data: Object.fromEntries(
        Object.entries((o.data as Record<string, string> | undefined) ?? {}).map(([k, v]) => [
          k,
          v.replace(/[\r\n]/g, ''),
        ]),
      ),
    }).validate(),
  'v1/Service': (o) => new Service(o).validate(),
  'v1/Namespace': (o) => new Namespace(o).validate(),
  'apps/v1/Deployment': (o) => new Deployment(o).validate(),
  'autoscaling/v2/HorizontalPodAutoscaler': (o) => new HorizontalPodAutoscaler(o).validate(),
  'policy/v1/PodDisruptionBudget': (o) => new PodDisruptionBudget(o).validate(),
  'networking.k8s.io/v1/Ingress': (o) => new Ingress(o).validate(),
};

/** What ajv reports, one line per error. */
function schemaErrors(err: unknown): string[] {
  const errors = (err as { errors?: Array<{ instancePath: string; message?: string }> }).errors;
  if (!Array.isArray(errors)) return [err instanceof Error ? err.message : String(err)];
  return errors.map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
}

const DNS_SUBDOMAIN =
  /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** Service names become DNS labels: a letter first, 63 characters at most. */
const DNS_LABEL = /^(?=.{1,63}$)[a-z]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(?=.{0,63}$)(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const LABEL_KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?(?=.{1,63}$)[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DATA_KEY = /^[-._a-zA-Z0-9]+$/;
/** Volume types the restricted Pod Security Standard allows. */
const RESTRICTED_VOLUMES = [
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
];

type LabelSelector = NonNullable<IDeployment['spec']>['selector'];

/** Whether every label of `selector` is on `labels` (an empty selector selects nothing here). */
export function selects(
  selector: Record<string, string> | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  const entries = Object.entries(selector ?? {});
  return entries.length > 0 && entries.every(([k, v]) => labels?.[k] === v);
}

/** The container port that a probe's or a Service's port means: a number, or a port's name. */
export function containerPort(
  container: IContainer,
  port: number | string | undefined,
): number | undefined {
  if (typeof port === 'number') {
    return container.ports?.some((p) => p.containerPort === port) ? port : undefined;
  }
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

/** The httpGet or tcpSocket port a probe uses. */
export function probePort(probe: IProbe): number | string | undefined {
  return probe.httpGet?.port ?? probe.tcpSocket?.port;
}

/**
 * Validates every object against its schema and sorts those that pass by kind. Objects that
 * fail are reported and left out of the cross-checks, which would only repeat the failure.
 */
export function catalogue(manifests: Manifest[], findings: Findings): Catalog {
  const catalog: Catalog = {
    workloads: [],
    services: [],
    autoscalers: [],
    disruptionBudgets: [],
    ingresses: [],
    configMaps: new Map(),
    secrets: new Map(),
  };
  const seen = new Set<string>();
  for (const manifest of manifests) {
    const { object, source } = manifest;
    const { kind, metadata } = object;
    const label = `${kind} ${metadata.name} (${source})`;
    const type = `${object.apiVersion}/${kind}`;
    const validate = SCHEMAS[type];
    if (!validate) {
      findings.problems.push(
        `${label}: no schema for ${type} in scripts/k8s/manifest-checks.ts (add its kubernetes-models class)`,
      );
      continue;
    }
    try {
      validate(object);
    } catch (err) {
      for (const error of schemaErrors(err)) findings.problems.push(`${label}: ${error}`);
      continue;
    }
    const identity = `${kind}/${refKey(metadata.namespace, metadata.name)}`;
    if (seen.has(identity)) findings.problems.push(`${label}: defined twice`);
    seen.add(identity);
    checkMetadata(object, label, findings);

    // Typed by the schema it has just passed.
    const checked = { object, manifest, label } as Checked<never>;
    switch (kind) {
      case 'Deployment': {
        const template = (object as unknown as IDeployment).spec?.template;
        catalog.workloads.push({
          ...(checked as Checked<IDeployment>),
          pod: template?.spec ?? { containers: [] },
          podLabels: template?.metadata?.labels ?? {},
        });
        break;
      }
      case 'Service':
        catalog.services.push(checked);
        break;
      case 'HorizontalPodAutoscaler':
        catalog.autoscalers.push(checked);
        break;
      case 'PodDisruptionBudget':
        catalog.disruptionBudgets.push(checked);
        break;
      case 'Ingress':
        catalog.ingresses.push(checked);
        break;
      case 'ConfigMap':
        catalog.configMaps.set(
          refKey(metadata.namespace, metadata.name),
          (object.data as Record<string, string> | undefined) ?? {},
        );
        break;
      case 'Secret':
        catalog.secrets.set(refKey(metadata.namespace, metadata.name), decodeSecret(object));
        break;
    }
  }
  return catalog;
}

function decodeSecret(object: KubeObject): Record<string, string> {
  const data = (object.data as Record<string, string> | undefined) ?? {};
  const plain = (object.stringData as Record<string, string> | undefined) ?? {};
  return {
    ...Object.fromEntries(
      Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
    ),
    ...plain,
  };
}

function checkMetadata(object: KubeObject, label: string, findings: Findings): void {
  const { name, labels } = object.metadata;
  const pattern =
    object.kind === 'Service' || object.kind === 'Namespace' ? DNS_LABEL : DNS_SUBDOMAIN;
  if (!pattern.test(name)) {
    findings.problems.push(`${label}: "${name}" is not a valid ${object.kind} name`);
  }
  for (const [key, value] of Object.entries(labels ?? {})) {
    if (!LABEL_KEY.test(key) || !LABEL_VALUE.test(value)) {
      findings.problems.push(`${label}: label ${key}=${value} is not a valid label`);
    }
  }
  if (object.kind === 'ConfigMap' || object.kind === 'Secret') {
    for (const key of Object.keys({
      ...(object.data as object),
      ...(object.stringData as object),
    })) {
      if (!DATA_KEY.test(key)) findings.problems.push(`${label}: "${key}" is not a valid key`);
    }
  }
}

/** A selector's matchLabels; matchExpressions are beyond these checks and said so. */
function matchLabels(
  selector: LabelSelector | undefined,
  label: string,
  findings: Findings,
): Record<string, string> | undefined {
  if (selector?.matchExpressions?.length) {
    findings.problems.push(`${label}: matchExpressions are not supported by these checks`);
  }
  return selector?.matchLabels;
}

/** Keys read from each Secret outside the rendering (by `namespace/name`), for a note. */
type ExternalKeys = Map<string, Set<string>>;

/** Which keys of each Secret (by `namespace/name`) some container reads (`*`: all of them). */
type UsedKeys = Map<string, Set<string>>;

interface EnvContext {
  readonly catalog: Catalog;
  readonly options: CheckOptions;
  readonly report?: (problem: string) => void;
  readonly external?: ExternalKeys;
  readonly used?: UsedKeys;
}

/**
 * The environment a container starts with: envFrom first, then env (which wins), each
 * ConfigMap and Secret reference resolved. A reference that cannot be resolved is reported
 * unless optional; a Secret outside the rendering (when allowed) gives a placeholder value.
 */
export function containerEnv(
  workload: Workload,
  container: IContainer,
  context: EnvContext,
): Record<string, string> {
  const { catalog, options, report, external, used } = context;
  const namespace = workload.object.metadata.namespace;
  const where = `${workload.label} container ${container.name}`;
  const env: Record<string, string> = {};
  const use = (name: string, key: string) => {
    const id = refKey(namespace, name);
    used?.set(id, (used.get(id) ?? new Set<string>()).add(key));
  };
  const expect = (name: string, key: string) => {
    const id = refKey(namespace, name);
    external?.set(id, (external.get(id) ?? new Set<string>()).add(key));
  };

  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    const ref = from.configMapRef ?? from.secretRef;
    if (!ref?.name) continue;
    const isSecret = from.secretRef !== undefined;
    const data = (isSecret ? catalog.secrets : catalog.configMaps).get(refKey(namespace, ref.name));
    if (isSecret) use(ref.name, '*');
    if (!data) {
      if (isSecret && options.partial) {
        expect(ref.name, '(all keys)');
      } else if (!ref.optional) {
        report?.(
          `${where}: envFrom ${isSecret ? 'Secret' : 'ConfigMap'} ${ref.name} does not exist`,
        );
      }
      continue;
    }
    for (const [key, value] of Object.entries(data)) env[prefix + key] = value;
  }

  for (const variable of container.env ?? []) {
    if (variable.value !== undefined || !variable.valueFrom) {
      env[variable.name] = variable.value ?? '';
      continue;
    }
    const { configMapKeyRef, secretKeyRef } = variable.valueFrom;
    const ref = configMapKeyRef ?? secretKeyRef;
    if (!ref) {
      // fieldRef, resourceFieldRef: the kubelet fills them in; their value is not ours to check.
      env[variable.name] = 'set-by-the-kubelet';
      continue;
    }
    const isSecret = secretKeyRef !== undefined;
    const kind = isSecret ? 'Secret' : 'ConfigMap';
    const name = ref.name ?? '';
    const data = (isSecret ? catalog.secrets : catalog.configMaps).get(refKey(namespace, name));
    if (isSecret) use(name, ref.key);
    if (!data && isSecret && options.partial) {
      expect(name, ref.optional ? `${ref.key} (optional)` : ref.key);
      env[variable.name] = EXTERNAL_SECRET_VALUE;
    } else if (data?.[ref.key] !== undefined) {
      env[variable.name] = data[ref.key];
    } else if (!ref.optional) {
      report?.(
        data
          ? `${where}: ${variable.name} reads key ${ref.key}, which ${kind} ${name} does not have`
          : `${where}: ${variable.name} reads ${kind} ${name}, which does not exist`,
      );
    }
  }
  return env;
}

/** Runs every generic check over a catalogued rendering. */
export function checkCatalog(catalog: Catalog, options: CheckOptions, findings: Findings): void {
  const report = (problem: string) => findings.problems.push(problem);
  const external: ExternalKeys = new Map();
  const used: UsedKeys = new Map();
  for (const workload of catalog.workloads) {
    checkWorkload(workload, catalog, findings);
    for (const container of workload.pod.containers) {
      containerEnv(workload, container, { catalog, options, report, external, used });
    }
    checkVolumes(workload, catalog, options, findings, used);
  }
  const nameOf = (key: string) => key.slice(key.indexOf('/') + 1);
  for (const [key, keys] of external) {
    findings.notes.push(
      `Secret ${nameOf(key)} is not part of this rendering (an overlay or the cluster provides it); ` +
        `keys read: ${[...keys].sort().join(', ')}`,
    );
  }
  for (const [key, data] of catalog.secrets) {
    const read = used.get(key);
    if (read?.has('*')) continue;
    for (const dataKey of Object.keys(data)) {
      if (!read?.has(dataKey)) {
        findings.problems.push(
          `Secret ${nameOf(key)}: no container reads key ${dataKey} (a misspelt name?)`,
        );
      }
    }
  }
  checkServices(catalog, findings);
  checkAutoscalers(catalog, findings);
  checkDisruptionBudgets(catalog, findings);
  checkIngresses(catalog, findings);
}

function checkWorkload(workload: Workload, catalog: Catalog, findings: Findings): void {
  const { object, pod, podLabels, label } = workload;
  const selector = matchLabels(object.spec?.selector, label, findings);
  if (!selects(selector, podLabels)) {
    findings.problems.push(`${label}: spec.selector does not match the pod template's labels`);
  }
  const scaled = catalog.autoscalers.some(
    (a) => a.object.spec?.scaleTargetRef.name === object.metadata.name,
  );
  if (scaled && object.spec?.replicas !== undefined) {
    findings.problems.push(
      `${label}: spec.replicas is set, but a HorizontalPodAutoscaler owns the count (every apply would reset it)`,
    );
  }
  for (const constraint of pod.topologySpreadConstraints ?? []) {
    const own = matchLabels(constraint.labelSelector, label, findings);
    if (!selects(own, podLabels)) {
      findings.problems.push(
        `${label}: topologySpreadConstraints (${constraint.topologyKey}) select other pods than this Deployment's`,
      );
    }
  }
  checkPodSecurity(workload, findings);
  for (const container of pod.containers) {
    const where = `${label} container ${container.name}`;
    const image = container.image ?? '';
    const lastPart = image.slice(image.lastIndexOf('/') + 1);
    if (!image.includes('@') && (!lastPart.includes(':') || lastPart.endsWith(':latest'))) {
      findings.problems.push(
        `${where}: image ${image || '(none)'} is not pinned to a tag or digest (not :latest)`,
      );
    }
    const { requests, limits } = container.resources ?? {};
    for (const [what, value] of [
      ['requests.cpu', requests?.cpu],
      ['requests.memory', requests?.memory],
      ['limits.memory', limits?.memory],
    ] as const) {
      if (value === undefined) findings.problems.push(`${where}: resources.${what} is not set`);
    }
    for (const [kind, probe] of [
      ['livenessProbe', container.livenessProbe],
      ['readinessProbe', container.readinessProbe],
      ['startupProbe', container.startupProbe],
    ] as const) {
      if (!probe) {
        if (kind !== 'startupProbe') findings.problems.push(`${where}: no ${kind}`);
        continue;
      }
      const port = probePort(probe);
      if (port !== undefined && containerPort(container, port) === undefined) {
        findings.problems.push(
          `${where}: ${kind} uses port ${port}, which the container does not declare`,
        );
      }
    }
  }
}

/** The restricted Pod Security Standard, which the production namespace enforces. */
function checkPodSecurity(workload: Workload, findings: Findings): void {
  const { pod, label } = workload;
  const podContext = pod.securityContext ?? {};
  if (pod.hostNetwork || pod.hostPID || pod.hostIPC) {
    findings.problems.push(`${label}: host namespaces are not allowed (restricted)`);
  }
  for (const volume of pod.volumes ?? []) {
    const type = Object.keys(volume).find((key) => key !== 'name');
    if (type && !RESTRICTED_VOLUMES.includes(type)) {
      findings.problems.push(
        `${label}: volume ${volume.name} of type ${type} is not allowed (restricted)`,
      );
    }
  }
  for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
    const where = `${label} container ${container.name}`;
    const context = container.securityContext ?? {};
    const runAsNonRoot = context.runAsNonRoot ?? podContext.runAsNonRoot;
    const runAsUser = context.runAsUser ?? podContext.runAsUser;
    const seccomp = (context.seccompProfile ?? podContext.seccompProfile)?.type;
    const rules: Array<[boolean, string]> = [
      [context.privileged !== true, 'must not be privileged'],
      [context.allowPrivilegeEscalation === false, 'needs allowPrivilegeEscalation: false'],
      [context.capabilities?.drop?.includes('ALL') === true, 'needs capabilities.drop: [ALL]'],
      [
        (context.capabilities?.add ?? []).every((c) => c === 'NET_BIND_SERVICE'),
        'may add no capability but NET_BIND_SERVICE',
      ],
      [runAsNonRoot === true, 'needs runAsNonRoot: true'],
      [runAsUser !== 0, 'must not run as uid 0'],
      [
        seccomp === 'RuntimeDefault' || seccomp === 'Localhost',
        'needs a RuntimeDefault seccompProfile',
      ],
    ];
    for (const [ok, rule] of rules) {
      if (!ok) findings.problems.push(`${where}: ${rule} (restricted Pod Security Standard)`);
    }
    // The kubelet verifies runAsNonRoot against the image's USER, and cannot when that is a
    // name (ours is "node"): the container would never start.
    if (runAsNonRoot === true && runAsUser === undefined) {
      findings.problems.push(
        `${where}: runAsNonRoot needs a numeric runAsUser (the kubelet cannot verify a user name)`,
      );
    }
  }
}

function checkVolumes(
  workload: Workload,
  catalog: Catalog,
  options: CheckOptions,
  findings: Findings,
  used: UsedKeys,
): void {
  const namespace = workload.object.metadata.namespace;
  const names = new Set((workload.pod.volumes ?? []).map((v) => v.name));
  for (const volume of workload.pod.volumes ?? []) {
    const configMap = volume.configMap;
    if (
      configMap?.name &&
      !configMap.optional &&
      !catalog.configMaps.has(refKey(namespace, configMap.name))
    ) {
      findings.problems.push(
        `${workload.label}: volume ${volume.name}: ConfigMap ${configMap.name} does not exist`,
      );
    }
    const secret = volume.secret;
    if (secret?.secretName) {
      used.set(refKey(namespace, secret.secretName), new Set(['*']));
      if (
        !secret.optional &&
        !options.partial &&
        !catalog.secrets.has(refKey(namespace, secret.secretName))
      ) {
        findings.problems.push(
          `${workload.label}: volume ${volume.name}: Secret ${secret.secretName} does not exist`,
        );
      }
    }
  }
  for (const container of workload.pod.containers) {
    for (const mount of container.volumeMounts ?? []) {
      if (!names.has(mount.name)) {
        findings.problems.push(
          `${workload.label} container ${container.name}: mounts volume ${mount.name}, which the pod does not have`,
        );
      }
    }
  }
}

/** The one workload whose pods a selector picks, or a problem. */
function selectedWorkload(
  selector: Record<string, string> | undefined,
  namespace: string | undefined,
  catalog: Catalog,
  label: string,
  findings: Findings,
): Workload | undefined {
  const matches = catalog.workloads.filter(
    (w) => w.object.metadata.namespace === namespace && selects(selector, w.podLabels),
  );
  if (matches.length !== 1) {
    findings.problems.push(
      matches.length === 0
        ? `${label}: its selector ${JSON.stringify(selector ?? {})} matches no Deployment's pods`
        : `${label}: its selector matches the pods of ${matches.map((m) => m.object.metadata.name).join(' and ')}`,
    );
    return undefined;
  }
  return matches[0];
}

function checkServices(catalog: Catalog, findings: Findings): void {
  for (const service of catalog.services) {
    const { spec, metadata } = service.object;
    const workload = selectedWorkload(
      spec?.selector,
      metadata.namespace,
      catalog,
      service.label,
      findings,
    );
    if (!workload) continue;
    for (const port of spec?.ports ?? []) {
      const target = port.targetPort ?? port.port;
      const found = workload.pod.containers.some((c) => containerPort(c, target) !== undefined);
      if (!found) {
        findings.problems.push(
          `${service.label}: port ${port.name ?? port.port} targets ${target}, which ${workload.object.metadata.name}'s containers do not declare`,
        );
      }
    }
  }
}

function checkAutoscalers(catalog: Catalog, findings: Findings): void {
  for (const hpa of catalog.autoscalers) {
    const { spec, metadata } = hpa.object;
    const ref = spec?.scaleTargetRef;
    const workload = catalog.workloads.find(
      (w) =>
        w.object.metadata.name === ref?.name && w.object.metadata.namespace === metadata.namespace,
    );
    if (ref?.kind !== 'Deployment' || ref.apiVersion !== 'apps/v1' || !workload) {
      findings.problems.push(
        `${hpa.label}: scaleTargetRef ${ref?.kind} ${ref?.name} is not a Deployment here`,
      );
      continue;
    }
    const min = spec?.minReplicas ?? 1;
    if (min < 2) {
      findings.problems.push(
        `${hpa.label}: minReplicas ${min}: two at least, so that a node drain or a crash never leaves ${ref.name} without a pod`,
      );
    }
    if ((spec?.maxReplicas ?? 0) < min) {
      findings.problems.push(`${hpa.label}: maxReplicas is below minReplicas`);
    }
    for (const metric of spec?.metrics ?? []) {
      const resource = metric.resource?.name;
      if (metric.type !== 'Resource' || !resource) continue;
      for (const container of workload.pod.containers) {
        if (container.resources?.requests?.[resource] === undefined) {
          findings.problems.push(
            `${hpa.label}: scales on ${resource} utilisation, but container ${container.name} requests no ${resource}`,
          );
        }
      }
    }
  }
  for (const workload of catalog.workloads) {
    const count = catalog.autoscalers.filter(
      (a) => a.object.spec?.scaleTargetRef.name === workload.object.metadata.name,
    ).length;
    if (count !== 1) {
      findings.problems.push(
        `${workload.label}: ${count} HorizontalPodAutoscalers target it (one expected)`,
      );
    }
  }
}

function checkDisruptionBudgets(catalog: Catalog, findings: Findings): void {
  const covered = new Set<Workload>();
  for (const pdb of catalog.disruptionBudgets) {
    const selector = matchLabels(pdb.object.spec?.selector, pdb.label, findings);
    const workload = selectedWorkload(
      selector,
      pdb.object.metadata.namespace,
      catalog,
      pdb.label,
      findings,
    );
    if (workload) covered.add(workload);
  }
  for (const workload of catalog.workloads) {
    if (!covered.has(workload))
      findings.problems.push(`${workload.label}: no PodDisruptionBudget covers its pods`);
  }
}

function checkIngresses(catalog: Catalog, findings: Findings): void {
  for (const ingress of catalog.ingresses) {
    const { spec, metadata } = ingress.object;
    const backends = [
      spec?.defaultBackend,
      ...(spec?.rules ?? []).flatMap((rule) => (rule.http?.paths ?? []).map((p) => p.backend)),
    ];
    for (const backend of backends) {
      const target = backend?.service;
      if (!target) continue;
      const service = catalog.services.find(
        (s) =>
          s.object.metadata.name === target.name &&
          s.object.metadata.namespace === metadata.namespace,
      );
      const port = target.port?.name ?? target.port?.number;
      const hasPort = service?.object.spec?.ports?.some((p) => p.name === port || p.port === port);
      if (!service || !hasPort) {
        findings.problems.push(
          `${ingress.label}: backend ${target.name}:${port} is not a Service port here`,
        );
      }
    }
  }
}
