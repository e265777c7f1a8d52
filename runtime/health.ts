import type { Express } from 'express';

/** One readiness check: resolves when the dependency answers, rejects otherwise. */
export type ReadinessCheck = () => Promise<void>;

export interface ReadinessReport {
  status: 'ok' | 'unavailable';
  checks: Record<string, string>;
}

const CHECK_TIMEOUT_MS = 2000;

function withTimeout(check: ReadinessCheck): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timed out')), CHECK_TIMEOUT_MS);
    check().then(
      () => {
        clearTimeout(timer);
        resolve();
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
        await withTimeout(check);
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

/** `GET /health` (the process answers) and `GET /ready` (503 naming what is down). */
export function mountHealthRoutes(app: Express, checks: () => Record<string, ReadinessCheck>) {
  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/ready', async (_req, res) => {
    const report = await checkReadiness(checks());
    res.status(report.status === 'ok' ? 200 : 503).json(report);
  });
}
