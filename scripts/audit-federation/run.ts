/**
 * The Guild's federation gateway audit (github.com/graphql-hive/federation-gateway-audit)
 * against our gateway, the way the audit drives any gateway: its subgraphs served by its own
 * server; for each suite, the suite's supergraph written to a file, our built gateway
 * (`dist/gateway/src/main.js`) started on it through `SUPERGRAPH_PATH`, the audit's health
 * check (`GET /health`, then `query ping { __typename }`), the suite's cases run by the
 * audit's test file under node:test, the gateway stopped. Prints the score per suite (with
 * the failed cases' queries and diffs) and in total.
 *
 *   FEDERATION_AUDIT_DIR=<checkout> npm run audit:federation -- [--suite a,b] [--keep-logs]
 *
 * The audit is a checkout of its own, outside this repository and not needed by CI: without
 * one, the runner says how to get it. Figures are printed, never asserted.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseFlags } from '../../bench/common/options';
import {
  startNodeProcess,
  waitUntilHealthy,
  type ManagedProcess,
} from '../../bench/peers/processes';
import { casesOfTap, type AuditCase } from './tap';

const AUDIT_REPOSITORY = 'https://github.com/graphql-hive/federation-gateway-audit';

const USAGE = `usage: FEDERATION_AUDIT_DIR=<audit checkout> npm run audit:federation -- [options]
  --suite ID[,ID]   run only these suites (default: all the audit lists)
  --keep-logs       keep the logs (gateway, tests, supergraphs) even when every case passed`;

const howToGetIt = (dir: string | undefined) => `The federation gateway audit is not at ${
  dir ? `FEDERATION_AUDIT_DIR=${dir}` : 'FEDERATION_AUDIT_DIR (not set)'
}. To get it, outside this repository:
  git clone ${AUDIT_REPOSITORY} ../federation-gateway-audit
  cd ../federation-gateway-audit && npm install
(its runner, tsx and its subgraphs are what is used: if npm cannot install the other gateways
or its release tools, remove wgc, pkgroll, @changesets/*, @graphql-hive/gateway and
@graphql-hive/router-runtime from its devDependencies first). Then, from here:
  FEDERATION_AUDIT_DIR=../federation-gateway-audit npm run audit:federation`;

/** The audit's health check waits this long for `/health`, then 2 s for the ping. */
const HEALTH_TIMEOUT_MS = 30_000;
const PING_TIMEOUT_MS = 2_000;
/** A suite's tests each time out after 10 s; a whole suite that hangs is stopped after this. */
const SUITE_TIMEOUT_MS = 5 * 60_000;

interface SuiteResult {
  readonly id: string;
  readonly cases: AuditCase[];
  /** Why the gateway did not pass the health check, when it did not. */
  readonly unhealthy?: string;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A port nothing listens on right now (the gateway's address must be known to test it). */
async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

async function getText(url: string): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status} ${text.slice(0, 200)}`);
  return text;
}

/**
 * The audit's health check (its `waitOnGraphQL`): `GET /health` answers 200, then the
 * gateway answers `query ping { __typename }` with `Query`.
 */
async function auditHealthCheck(gateway: ManagedProcess, origin: string): Promise<void> {
  await waitUntilHealthy(gateway, `${origin}/health`, HEALTH_TIMEOUT_MS);
  const deadline = Date.now() + PING_TIMEOUT_MS;
  for (;;) {
    try {
      const res = await fetch(`${origin}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ operationName: 'ping', query: 'query ping { __typename }' }),
        signal: AbortSignal.timeout(PING_TIMEOUT_MS),
      });
      const body = (await res.json()) as { data?: { __typename?: string } };
      if (res.ok && body.data?.__typename === 'Query') return;
    } catch {
      // Not answering yet.
    }
    if (Date.now() > deadline) throw new Error('the gateway did not answer query ping');
    await pause(100);
  }
}

/**
 * Runs the audit's `src/test.ts` for one suite under node:test (as its own runner does, with
 * TAP out) and returns the report.
 */
function runSuiteTests(
  auditDir: string,
  preload: string[],
  env: NodeJS.ProcessEnv,
): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(
      process.execPath,
      [...preload, '--test', '--test-reporter=tap', join(auditDir, 'src', 'test.ts')],
      { cwd: auditDir, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const out: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => out.push(chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), SUITE_TIMEOUT_MS);
    child.once('error', reject);
    // A failed case exits non-zero: the report says which.
    child.once('close', () => {
      clearTimeout(timer);
      resolvePromise(Buffer.concat(out).toString('utf8'));
    });
  });
}

/** The environment of a process started here: nothing of the caller's shell but PATH. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    // A build run from elsewhere (outside the project) finds the project's packages here.
    ...(process.env.NODE_PATH ? { NODE_PATH: process.env.NODE_PATH } : {}),
    ...extra,
  };
}

async function runSuite(options: {
  id: string;
  auditDir: string;
  auditOrigin: string;
  preload: string[];
  gatewayMain: string;
  logDir: string;
}): Promise<SuiteResult> {
  const { id, auditDir, auditOrigin, preload, logDir } = options;
  const supergraphPath = join(logDir, `${id}.supergraph.graphql`);
  writeFileSync(supergraphPath, await getText(`${auditOrigin}/${id}/supergraph`));
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  // Only what the suite needs: no subgraph URL overrides, Redis or secrets from this shell.
  const gateway = startNodeProcess(`gateway ${id}`, [options.gatewayMain], {
    cwd: logDir,
    env: cleanEnv({
      NODE_ENV: 'development',
      HOST: '127.0.0.1',
      PORT: String(port),
      SUPERGRAPH_PATH: supergraphPath,
      LOG_LEVEL: 'warn',
    }),
    logFile: join(logDir, `${id}.gateway.log`),
  });
  let unhealthy: string | undefined;
  try {
    // As in the audit: a gateway that fails its health check is tested all the same.
    await auditHealthCheck(gateway, origin).catch((err: Error) => (unhealthy = err.message));
    const report = await runSuiteTests(
      auditDir,
      preload,
      cleanEnv({
        TEST_SUITE: id,
        TESTS_ENDPOINT: `${auditOrigin}/${id}/tests`,
        GRAPHQL_ENDPOINT: `${origin}/graphql`,
      }),
    );
    writeFileSync(join(logDir, `${id}.tests.tap`), report);
    return { id, cases: casesOfTap(report), unhealthy };
  } finally {
    await gateway.stop(10_000);
  }
}

function printSuite(result: SuiteResult): void {
  const passed = result.cases.filter((c) => c.passed).length;
  const marks = result.cases.map((c) => (c.passed ? '.' : 'X')).join('');
  console.log(
    `${result.id.padEnd(40)} ${String(passed).padStart(3)}/${result.cases.length} ${marks}`,
  );
  if (result.unhealthy) console.log(`  gateway health check failed: ${result.unhealthy}`);
  for (const failed of result.cases.filter((c) => !c.passed)) {
    console.log(`  ${failed.name} failed:\n${failed.details.replace(/^/gm, '    ')}`);
  }
}

async function main(): Promise<void> {
  const suites: string[] = [];
  let keepLogs = false;
  parseFlags(process.argv.slice(2), USAGE, {
    '--suite': (v) => void suites.push(...v.string().split(',').filter(Boolean)),
    '--keep-logs': () => void (keepLogs = true),
  });
  const given = process.env.FEDERATION_AUDIT_DIR;
  const auditDir = given ? resolve(given) : undefined;
  const needed = auditDir && [
    join(auditDir, 'src', 'cli.ts'),
    join(auditDir, 'src', 'test.ts'),
    join(auditDir, 'node_modules', 'tsx'),
  ];
  if (!auditDir || !needed || needed.some((path) => !existsSync(path))) {
    console.error(howToGetIt(given));
    process.exitCode = 2;
    return;
  }
  const gatewayMain = join(__dirname, '..', '..', 'gateway', 'src', 'main.js');
  // The audit is TypeScript run through its own tsx.
  const preload = ['--require', join(__dirname, 'promise-with-resolvers.js'), '--import', 'tsx'];
  const logDir = mkdtempSync(join(tmpdir(), 'moviehub-federation-audit-'));

  const auditPort = await freePort();
  const auditOrigin = `http://localhost:${auditPort}`;
  const server = startNodeProcess(
    'audit subgraphs',
    [...preload, join(auditDir, 'src', 'cli.ts'), 'serve', '--port', String(auditPort)],
    { cwd: auditDir, env: cleanEnv({}), logFile: join(logDir, 'audit-subgraphs.log') },
  );
  const results: SuiteResult[] = [];
  try {
    await waitUntilHealthy(server, `${auditOrigin}/_health`, 60_000);
    const ids = JSON.parse(await getText(`${auditOrigin}/ids`)) as string[];
    const unknown = suites.filter((id) => !ids.includes(id));
    if (unknown.length > 0) throw new Error(`no such suite: ${unknown.join(', ')}`);
    const chosen = suites.length > 0 ? ids.filter((id) => suites.includes(id)) : ids;
    console.log(`federation audit at ${auditDir}: ${chosen.length} suites; logs in ${logDir}\n`);
    for (const id of chosen) {
      const result = await runSuite({ id, auditDir, auditOrigin, preload, gatewayMain, logDir });
      results.push(result);
      printSuite(result);
    }
  } finally {
    await server.stop(10_000);
  }

  const cases = results.flatMap((r) => r.cases);
  const passed = cases.filter((c) => c.passed).length;
  const suitesPassed = results.filter((r) => r.cases.every((c) => c.passed)).length;
  console.log(
    `\nTotal: ${passed} of ${cases.length} cases passed, ` +
      `${suitesPassed} of ${results.length} suites entirely`,
  );
  for (const result of results.filter((r) => r.cases.some((c) => !c.passed))) {
    const failed = result.cases.filter((c) => !c.passed).map((c) => c.name);
    console.log(`  failed in ${result.id}: ${failed.join(', ')}`);
  }
  if (keepLogs || passed < cases.length) console.log(`Logs: ${logDir}`);
  else rmSync(logDir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
