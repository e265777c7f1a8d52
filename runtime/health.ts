import type { Express, Request } from 'express';
import { IDENTITY_HEADER, signIdentity, verifyIdentity } from './identity';
import type { Logger } from './logger';

/** One readiness check: resolves when the dependency answers, rejects otherwise. */
export type ReadinessCheck = () => Promise<void>;

export interface ReadinessReport {
  status: 'ok' | 'unavailable';
  checks: Record<string, string>;
}

const CHECK_TIMEOUT_MS = 2000;

/** `work`, or a rejection ("timed out") once `ms` have passed without it settling. */
export function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timed out')), ms);
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

/** Runs every check at once; the report names what is down and why. */
export async function checkReadiness(
  checks: Record<string, ReadinessCheck>,
): Promise<ReadinessReport> {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      try {
        await withTimeout(check(), CHECK_TIMEOUT_MS);
        return [name, 'ok'] as const;
      } catch (err) {
        return [name, `down: ${(err as Error).message || 'unreachable'}`] as const;
      }
    }),
  );
  const report = Object.fromEntries(entries);
  const allOk = entries.every(([, state]) => state === 'ok');
  return { status: allOk ? 'ok' : 'unavailable', checks: report };
}

/** Who may read the dependency details of `/ready`, and where failures are logged. */
export interface HealthRouteOptions {
  /** `INTERNAL_SECRET`: callers presenting a service identity signed with it see details. */
  readonly internalSecret: string;
  /** This service's name: the audience the identity header must be signed for. */
  readonly audience: string;
  readonly log?: Pick<Logger, 'warn'>;
}

/** Whether the caller presents a service identity (the gateway, say) signed for `audience`. */
export function isServiceCaller(req: Request, internalSecret: string, audience: string): boolean {
  return (
    verifyIdentity(req.header(IDENTITY_HEADER), internalSecret, audience)?.service !== undefined
  );
}

/**
 * `GET /health` (the process answers) and `GET /ready` (200, or 503 when a dependency is
 * down). The per-dependency report names hosts and error messages, so only internal callers
 * (a service identity signed for this service, as the gateway sends to its subgraphs) get
 * it; anyone else gets the status alone, and the details go to the log.
 */
export function mountHealthRoutes(
  app: Express,
  checks: () => Record<string, ReadinessCheck>,
  options: HealthRouteOptions,
) {
  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/ready', async (req, res) => {
    const report = await checkReadiness(checks());
    if (report.status !== 'ok') options.log?.warn({ checks: report.checks }, 'not ready');
    res
      .status(report.status === 'ok' ? 200 : 503)
      .json(
        isServiceCaller(req, options.internalSecret, options.audience)
          ? report
          : { status: report.status },
      );
  });
}

/** Headers that let this caller read `/ready` details of `audience` (operators, probes). */
export function internalReadinessHeaders(
  internalSecret: string,
  audience: string,
  caller = 'gateway',
): Record<string, string> {
  return {
    [IDENTITY_HEADER]: signIdentity(
      { userId: null, role: null, service: caller },
      internalSecret,
      audience,
    ),
  };
}
