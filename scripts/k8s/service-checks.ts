import { existsSync } from 'node:fs';
import { join, posix } from 'node:path';
import type { IContainer } from 'kubernetes-models/v1/Container';
import {
  ConfigError,
  databaseUrlFor,
  loadConfig,
  SUBGRAPH_NAMES,
  type AppConfig,
  type SubgraphName,
} from '../../runtime/config';
import {
  containerEnv,
  containerPort,
  EXTERNAL_SECRET_VALUE,
  probePort,
  selects,
  type Catalog,
  type CheckOptions,
  type Findings,
  type Workload,
} from './manifest-checks';

/**
 * What only MovieHub's code can say about its manifests: which service each container runs,
 * whether that service would start with the environment it is given (runtime/config.ts's own
 * validation, production rules included), whether the subgraph URLs reach the right pods,
 * whether the probes ask the right routes, and whether the pod waits long enough for the drain.
 */

type MovieHubService = SubgraphName | 'gateway';
const SERVICES: readonly MovieHubService[] = ['gateway', ...SUBGRAPH_NAMES];

/** `node dist/<entry>.js` runs one service; the image's CMD alone would be the gateway. */
const ENTRY_POINTS: Record<MovieHubService, string> = {
  gateway: 'gateway/src/main',
  users: 'subgraphs/users/src/main',
  movies: 'subgraphs/movies/src/main',
  cinemas: 'subgraphs/cinemas/src/main',
  bookings: 'subgraphs/bookings/src/main',
};

/**
 * Apollo Server's drain (ApolloServerPluginDrainHttpServer, whose stopGracePeriodMillis we keep
 * at its default) waits this long for requests in flight after SIGTERM.
 */
export const DRAIN_SECONDS = 10;
/** Left after the drain to close WebSockets, Redis and PostgreSQL and to exit. */
export const CLOSE_SECONDS = 5;

const URL_VARIABLES: Record<SubgraphName, string> = {
  users: 'USERS_URL',
  movies: 'MOVIES_URL',
  cinemas: 'CINEMAS_URL',
  bookings: 'BOOKINGS_URL',
};

interface Deployed {
  readonly service: MovieHubService;
  readonly workload: Workload;
  readonly container: IContainer;
  readonly where: string;
  /** The service's configuration as it would load it, if it would start at all. */
  readonly config?: AppConfig;
}

/** Which MovieHub service a container's command runs, if any. */
function serviceOf(container: IContainer): MovieHubService | undefined {
  const words = [...(container.command ?? []), ...(container.args ?? [])];
  return SERVICES.find((service) => words.includes(`dist/${ENTRY_POINTS[service]}.js`));
}

/** Runs the MovieHub checks; `root` is the checkout, whose sources name the entry points. */
export function checkServices(
  catalog: Catalog,
  options: CheckOptions,
  root: string,
  findings: Findings,
): void {
  const deployed: Deployed[] = [];
  for (const workload of catalog.workloads) {
    for (const container of workload.pod.containers) {
      const where = `${workload.label} container ${container.name}`;
      const service = serviceOf(container);
      if (!service) {
        findings.problems.push(
          `${where}: its command runs no MovieHub service (node dist/<service>/src/main.js)`,
        );
        continue;
      }
      if (!existsSync(join(root, `${ENTRY_POINTS[service]}.ts`))) {
        findings.problems.push(`${where}: ${ENTRY_POINTS[service]}.ts does not exist`);
      }
      const config = loadServiceConfig(service, workload, container, catalog, options, findings);
      deployed.push({ service, workload, container, where, config });
    }
  }
  for (const service of SERVICES) {
    const count = deployed.filter((d) => d.service === service).length;
    if (count !== 1) {
      findings.problems.push(`${count} Deployments run the ${service} service (one expected)`);
    }
  }
  for (const entry of deployed) {
    checkProbes(entry, findings);
    checkShutdown(entry, findings);
    if (entry.config) {
      checkSubgraphUrls(entry, entry.config, catalog, deployed, findings);
      checkSupergraphPath(entry, entry.config, findings);
    }
  }
  noteConnectionBudget(deployed, catalog, findings);
}

/**
 * Loads the service's configuration from the container's environment exactly as the service
 * would at start (runtime/config.ts), so every variable production requires is checked by the
 * code that requires it. NODE_ENV defaults to the image's (the Dockerfile sets production).
 */
function loadServiceConfig(
  service: MovieHubService,
  workload: Workload,
  container: IContainer,
  catalog: Catalog,
  options: CheckOptions,
  findings: Findings,
): AppConfig | undefined {
  const where = `${workload.label} container ${container.name} (${service})`;
  const env = {
    NODE_ENV: 'production',
    ...containerEnv(workload, container, { catalog, options }),
  };
  if (env.NODE_ENV !== 'production') {
    findings.problems.push(`${where}: NODE_ENV is ${env.NODE_ENV}, not production`);
  }
  try {
    return loadConfig(service, env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    // A base leaves what differs between environments (origins, VNPay's URLs) to its overlays.
    const missing = err.problems.filter((p) => options.partial && /\brequired\b/.test(p));
    if (missing.length > 0) {
      findings.notes.push(
        `${where}: the overlay must supply ${missing.map((p) => p.split(':')[0]).join(', ')}`,
      );
    }
    for (const problem of err.problems.filter((p) => !missing.includes(p))) {
      findings.problems.push(`${where} would not start: ${problem}`);
    }
    return undefined;
  }
}

function checkProbes({ container, where, config }: Deployed, findings: Findings): void {
  const http = containerPort(container, 'http');
  if (http === undefined) {
    findings.problems.push(`${where}: no container port named http`);
  } else if (config && config.http.port !== http) {
    findings.problems.push(
      `${where}: PORT is ${config.http.port} but the container port http is ${http}`,
    );
  }
  if (config && ['127.0.0.1', 'localhost', '::1'].includes(config.http.host)) {
    findings.problems.push(
      `${where}: HOST ${config.http.host} is unreachable for probes and Services`,
    );
  }
  const expected: Array<[string, IContainer['livenessProbe'], string[]]> = [
    // Never a dependency check: a PostgreSQL outage must not restart every pod.
    ['livenessProbe', container.livenessProbe, ['/health']],
    ['startupProbe', container.startupProbe, ['/health']],
    ['readinessProbe', container.readinessProbe, ['/ready', '/health']],
  ];
  for (const [kind, probe, paths] of expected) {
    if (!probe) continue;
    const path = probe.httpGet?.path;
    if (!path || !paths.includes(path)) {
      findings.problems.push(
        `${where}: ${kind} asks ${path ?? '(no HTTP path)'}; expected ${paths.join(' or ')}`,
      );
    }
    if (http !== undefined && containerPort(container, probePort(probe)) !== http) {
      findings.problems.push(`${where}: ${kind} does not ask the http port`);
    }
  }
}

/**
 * The kubelet sends SIGTERM after preStop, and SIGKILL when terminationGracePeriodSeconds (counted
 * from the start of preStop) run out: the sleep that lets endpoints go, the drain and the closing
 * must fit.
 */
function checkShutdown({ workload, container, where }: Deployed, findings: Findings): void {
  const preStop = container.lifecycle?.preStop;
  const command = preStop?.exec?.command ?? [];
  const sleep =
    preStop?.sleep?.seconds ??
    (command.length === 2 && command[0] === 'sleep' ? Number(command[1]) : undefined);
  if (sleep === undefined || !Number.isFinite(sleep) || sleep < 1) {
    findings.problems.push(
      `${where}: no preStop sleep: requests would still arrive after SIGTERM, while endpoints update`,
    );
    return;
  }
  const grace = workload.pod.terminationGracePeriodSeconds ?? 30;
  const needed = sleep + DRAIN_SECONDS + CLOSE_SECONDS;
  if (grace < needed) {
    findings.problems.push(
      `${where}: terminationGracePeriodSeconds ${grace} < ${needed} (preStop ${sleep} s + drain ${DRAIN_SECONDS} s + closing ${CLOSE_SECONDS} s)`,
    );
  }
}

/**
 * The Service port a URL reaches from a pod in `namespace`: the host is a Service's name, alone
 * or followed by the namespace (and `.svc`, `.svc.cluster.local`).
 */
function servicePortAt(url: URL, namespace: string | undefined, catalog: Catalog) {
  const [name, ns, ...rest] = url.hostname.split('.');
  const inNamespace = ns === undefined || ns === namespace;
  if (!inNamespace || !['', 'svc', 'svc.cluster.local'].includes(rest.join('.'))) return undefined;
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const service = catalog.services.find(
    (s) => s.object.metadata.name === name && s.object.metadata.namespace === namespace,
  );
  const servicePort = service?.object.spec?.ports?.find((p) => p.port === port);
  return service && servicePort ? { service, servicePort } : undefined;
}

/** USERS_URL etc. must reach that subgraph's pods, on the port its container listens on. */
function checkSubgraphUrls(
  entry: Deployed,
  config: AppConfig,
  catalog: Catalog,
  deployed: Deployed[],
  findings: Findings,
): void {
  const namespace = entry.workload.object.metadata.namespace;
  for (const subgraph of SUBGRAPH_NAMES) {
    const url = new URL(config.subgraphUrls[subgraph]);
    const variable = URL_VARIABLES[subgraph];
    const reached = servicePortAt(url, namespace, catalog);
    const target = deployed.find((d) => d.service === subgraph);
    if (!reached) {
      findings.problems.push(`${entry.where}: ${variable} ${url.href} is no Service port here`);
    } else if (
      !target ||
      !selects(reached.service.object.spec?.selector, target.workload.podLabels)
    ) {
      findings.problems.push(
        `${entry.where}: ${variable} leads to Service ${reached.service.object.metadata.name}, which does not select the ${subgraph} pods`,
      );
    } else {
      const { port, targetPort } = reached.servicePort;
      const reachedPort = containerPort(target.container, targetPort ?? port);
      if (reachedPort === undefined || reachedPort !== containerPort(target.container, 'http')) {
        findings.problems.push(
          `${entry.where}: ${variable} reaches port ${targetPort ?? port} of the ${subgraph} pods, where it does not listen`,
        );
      }
    }
  }
}

/** The image's working directory (Dockerfile WORKDIR), where relative paths start. */
const IMAGE_WORKDIR = '/app';

/**
 * SUPERGRAPH_PATH, when set, must name a file the pod has: the image's own schema/ or a mounted
 * volume (a ConfigMap with a newer composition, say).
 */
function checkSupergraphPath(entry: Deployed, config: AppConfig, findings: Findings): void {
  if (!config.supergraphPath) return;
  const path = posix.resolve(IMAGE_WORKDIR, config.supergraphPath);
  const roots = [
    posix.join(IMAGE_WORKDIR, 'schema'),
    ...(entry.container.volumeMounts ?? []).map((m) => m.mountPath),
  ];
  if (!roots.some((root) => path.startsWith(`${root.replace(/\/$/, '')}/`))) {
    findings.problems.push(
      `${entry.where}: SUPERGRAPH_PATH ${path} is neither in the image's schema/ nor in a mounted volume`,
    );
  }
}

/**
 * PostgreSQL connections at the autoscalers' maxima, per server: each subgraph pod keeps a pool
 * of DATABASE_POOL_SIZE. A note, not a rule: the server's max_connections is not in the
 * manifests.
 */
function noteConnectionBudget(deployed: Deployed[], catalog: Catalog, findings: Findings): void {
  const servers = new Map<string, string[]>();
  const totals = new Map<string, number>();
  for (const { service, workload, config } of deployed) {
    if (service === 'gateway' || !config) continue;
    const server = new URL(databaseUrlFor(config, service)).host;
    if (server === new URL(EXTERNAL_SECRET_VALUE).host) continue; // a base's placeholder
    const hpa = catalog.autoscalers.find(
      (a) => a.object.spec?.scaleTargetRef.name === workload.object.metadata.name,
    );
    const pods = hpa?.object.spec?.maxReplicas ?? workload.object.spec?.replicas ?? 1;
    servers.set(server, [
      ...(servers.get(server) ?? []),
      `${service} ${pods} × ${config.db.poolSize}`,
    ]);
    totals.set(server, (totals.get(server) ?? 0) + pods * config.db.poolSize);
  }
  for (const [server, parts] of servers) {
    findings.notes.push(
      `PostgreSQL ${server}: up to ${totals.get(server)} connections at the autoscalers' maxima ` +
        `(${parts.join(', ')}); keep it within the server's max_connections`,
    );
  }
}
