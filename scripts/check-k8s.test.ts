import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../runtime/paths';
import { checkKustomization } from './check-k8s';
import { kustomizeHash, type KubeObject } from './k8s/kustomize';

const SOURCE = join(projectRoot(), 'deploy', 'k8s');
const SECRETS = 'overlays/production/secrets.env';

describe('deploy/k8s', () => {
  // A copy of the manifests as CI has them (no secrets.env), which a test may break.
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'moviehub-k8s-'));
    cpSync(SOURCE, dir, { recursive: true, filter: (path) => !path.endsWith(SECRETS) });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const edit = (file: string, from: string | RegExp, to: string) => {
    const path = join(dir, file);
    const text = readFileSync(path, 'utf8');
    const changed = text.replace(from, to);
    if (changed === text) throw new Error(`${String(from)} is not in ${file}`);
    writeFileSync(path, changed);
  };
  const production = () => checkKustomization(join(dir, 'overlays/production'), {}, dir);

  it('passes every check: the base, whose Secret the overlay provides, and production', () => {
    const base = checkKustomization(join(dir, 'base'), { partial: true }, dir);
    expect(base.problems).toEqual([]);
    expect(base.objects).toBe(21);
    expect(base.notes.join('\n')).toContain(
      'Secret moviehub-secrets is not part of this rendering',
    );

    const report = production();
    expect(report.problems).toEqual([]);
    expect(report.objects).toBe(24);
    expect(report.notes.join('\n')).toContain(
      'overlays/production/secrets.env is missing: checked with overlays/production/secrets.env.example',
    );
  });

  it.each<[string, () => void, string[]]>([
    [
      'a Service whose selector matches no pods',
      () => edit('base/users.yaml', 'component: users\n  ports:', 'component: user\n  ports:'),
      [
        'Service moviehub-users (base/users.yaml): its selector {"app.kubernetes.io/name":"moviehub","app.kubernetes.io/component":"user"} matches no Deployment\'s pods',
        'USERS_URL leads to Service moviehub-users, which does not select the users pods',
      ],
    ],
    [
      'a HorizontalPodAutoscaler aimed at a Deployment that does not exist',
      () =>
        edit(
          'base/gateway.yaml',
          'kind: Deployment\n    name: moviehub-gateway',
          'kind: Deployment\n    name: moviehub-gatway',
        ),
      [
        'HorizontalPodAutoscaler moviehub-gateway (base/gateway.yaml): scaleTargetRef Deployment moviehub-gatway is not a Deployment here',
        'Deployment moviehub-gateway (base/gateway.yaml): 0 HorizontalPodAutoscalers target it',
      ],
    ],
    [
      'a key the Secret lacks',
      () => edit(`${SECRETS}.example`, /^INTERNAL_SECRET=.*\n/m, ''),
      [
        'container app: INTERNAL_SECRET reads key INTERNAL_SECRET, which Secret moviehub-secrets-',
        'container app (users) would not start: INTERNAL_SECRET: required in production',
      ],
    ],
    [
      'a setting production requires, left out',
      () => edit('overlays/production/kustomization.yaml', /^ *- CORS_ORIGINS=.*\n/m, ''),
      ['container app (gateway) would not start: CORS_ORIGINS: required in production'],
    ],
    [
      'a misspelt key in the secrets file',
      () => edit(`${SECRETS}.example`, 'SMTP_URL=', 'CLERK_SECRET_KEYS=sk_live\nSMTP_URL='),
      ['Secret moviehub-secrets-', ': no container reads key CLERK_SECRET_KEYS'],
    ],
    [
      'a placeholder left in the real secrets file',
      () => cpSync(join(dir, `${SECRETS}.example`), join(dir, SECRETS)),
      ['overlays/production/secrets.env: INTERNAL_SECRET still has the placeholder of'],
    ],
    [
      'a probe on a port the container does not declare',
      () =>
        edit(
          'base/pod-defaults.yaml',
          /(livenessProbe:\n\s+httpGet:\n\s+path: \/health\n\s+port: )http/,
          '$1htp',
        ),
      ['livenessProbe uses port htp, which the container does not declare'],
    ],
    [
      'a port that is not a number (the schema)',
      () => edit('base/movies.yaml', 'containerPort: 4002', "containerPort: '4002'"),
      ['/spec/template/spec/containers/0/ports/0/containerPort must be integer'],
    ],
    [
      'a subgraph URL on the wrong port',
      () => edit('base/kustomization.yaml', 'moviehub-cinemas:4003', 'moviehub-cinemas:4004'),
      ['CINEMAS_URL http://moviehub-cinemas:4004/graphql is no Service port here'],
    ],
    [
      'a grace period shorter than the drain',
      () =>
        edit(
          'base/pod-defaults.yaml',
          'terminationGracePeriodSeconds: 30',
          'terminationGracePeriodSeconds: 10',
        ),
      ['terminationGracePeriodSeconds 10 < 20 (preStop 5 s + drain 10 s + closing 5 s)'],
    ],
    [
      'a kustomization field the renderer does not know',
      () => edit('base/kustomization.yaml', 'resources:', 'commonLabels:\n  team: web\nresources:'),
      ['base/kustomization.yaml: "commonLabels" is not supported by scripts/k8s/kustomize.ts'],
    ],
  ])('finds %s', (_what, breakIt, expected) => {
    breakIt();
    const problems = production().problems.join('\n');
    for (const fragment of expected) expect(problems).toContain(fragment);
  });
});

describe('kustomizeHash', () => {
  // Suffixes that kubectl kustomize (Kustomize v5.5.0) gave for the same generators.
  it.each<[string, Partial<KubeObject>, string]>([
    ['a ConfigMap', { kind: 'ConfigMap', data: { A: 'b' } }, 'b9t2424hkf'],
    [
      'HTML characters, escaped as Go does',
      { kind: 'ConfigMap', data: { A: 'b<&>' } },
      'bgm5bm4t4f',
    ],
    ['a merged ConfigMap', { kind: 'ConfigMap', data: { A: 'b', B: 'c' } }, 'mb2td97bhm'],
    ['a Secret', { kind: 'Secret', type: 'Opaque', data: { A: 'YjwmPg==', B: '' } }, 'c9cc6f675f'],
  ])('matches kustomize for %s', (_what, object, suffix) => {
    expect(
      kustomizeHash({ apiVersion: 'v1', metadata: { name: 'x' }, ...object } as KubeObject),
    ).toBe(suffix);
  });
});
