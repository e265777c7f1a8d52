import express, { type Express, type Response } from 'express';
import { existsSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import { join } from 'node:path';
import type { AppConfig } from '../../../runtime/config';
import type { Logger } from '../../../runtime/logger';
import { projectRoot } from '../../../runtime/paths';
import { jsonErrorHandler } from '../../../runtime/query-limits';
import type { GatewayRoutesContext } from '../routes-context';
import { demoSignIn, type DemoSignIn } from './demo-sign-in';
import { contentSecurityPolicy, pageConfig } from './page-config';

/** Where the page is served. */
export const APP_PATH = '/app';

/** Where `npm run build` writes the page (web/, built by Vite). */
export const builtPageDir = (): string => join(projectRoot(), 'dist', 'web');

export interface SeatMapAppOptions {
  readonly config: AppConfig;
  readonly log: Pick<Logger, 'warn' | 'error'>;
  /** The built page (default {@link builtPageDir}). */
  readonly pageDir?: string;
  /** The demo customers' sign-in (default: {@link demoSignIn} of the configuration). */
  readonly demo?: DemoSignIn;
}

/** The seat map page at `/app` (issue 15), with the gateway's other routes. */
export function mountSeatMapApp(context: GatewayRoutesContext): void {
  serveSeatMapApp(context.app, { config: context.config, log: context.log });
}

/**
 * Serves the built page under `/app`:
 * - `/app/assets/*`: Vite's content-hashed files, cached for a year (`immutable`);
 * - `/app/config.json`: how the page signs in (never cached);
 * - `POST /app/demo-session` `{ userId }`: a demo customer's session token, where
 *   {@link demoSignIn} allows it (the embedded default), from the page's own origin only;
 * - any other path under `/app`: the page itself (its router reads the path), revalidated on
 *   every load so a new build shows at once; missing files with an extension are 404s.
 * Every answer carries the page's Content-Security-Policy. Before `npm run build` made the
 * page, `/app` says how to make it (503).
 */
export function serveSeatMapApp(app: Express, options: SeatMapAppOptions): void {
  const pageDir = options.pageDir ?? builtPageDir();
  const demo = 'demo' in options ? options.demo : demoSignIn(options.config);
  const { page, clerkHost } = pageConfig(options.config, demo);
  const csp = contentSecurityPolicy(clerkHost);
  const indexFile = join(pageDir, 'index.html');
  if (!existsSync(indexFile)) {
    options.log.warn({ pageDir }, 'the seat map page is not built: /app answers 503 until it is');
  }

  const router = express.Router();
  router.use((_req, res, next) => {
    res.set({
      'content-security-policy': csp,
      'x-content-type-options': 'nosniff',
      // The pay page and anything else the page links to learn nothing of the page's URL.
      'referrer-policy': 'same-origin',
    });
    next();
  });

  router.get('/config.json', (_req, res) => {
    res.set('cache-control', 'no-store').json(page);
  });

  router.post('/demo-session', express.json({ limit: 1024 }), (req, res) => {
    res.set('cache-control', 'no-store');
    if (!demo) return refuse(res, 404, 'NOT_FOUND', 'There is no demo sign-in on this server');
    // A page of another origin must not obtain a token (development allows any CORS origin).
    // Not through `req.host`: with `trust proxy`, a page could name any host in
    // X-Forwarded-Host. The Host header and Sec-Fetch-Site are the browser's, not the page's.
    const origin = req.get('origin');
    const ownOrigin = `${req.protocol}://${req.host}`;
    const fetchSite = req.get('sec-fetch-site');
    if (
      (origin !== undefined && originHost(origin) !== req.headers.host) ||
      (fetchSite !== undefined && fetchSite !== 'same-origin')
    ) {
      return refuse(res, 403, 'FORBIDDEN', 'Demo sessions are for the page on this server only');
    }
    const userId = (req.body as { userId?: unknown } | undefined)?.userId;
    const minted = typeof userId === 'string' ? demo.mint(userId, ownOrigin) : undefined;
    if (!minted) {
      return refuse(
        res,
        400,
        'BAD_USER_INPUT',
        `userId must be one of the demo customers: ${demo.userIds.join(', ')}`,
      );
    }
    res.json({ userId, token: minted.token, expiresAt: minted.expiresAt });
  });
  router.use('/demo-session', jsonErrorHandler(options.log));

  router.use(
    '/assets',
    express.static(join(pageDir, 'assets'), {
      index: false,
      fallthrough: false,
      immutable: true,
      maxAge: '365d',
    }),
    // What express.static refused (missing file, wrong method): its status, never the page.
    (err: { status?: number }, _req: unknown, res: Response, _next: unknown) => {
      const status = err.status && err.status >= 400 && err.status < 500 ? err.status : 500;
      res
        .status(status)
        .type('text')
        .send(STATUS_CODES[status] ?? 'Error');
    },
  );
  router.use(
    express.static(pageDir, {
      index: false,
      // `/app` itself is the page (below), not a folder to redirect to `/app/`.
      redirect: false,
      setHeaders: (res) => res.set('cache-control', 'no-cache'),
    }),
  );

  router.get('/{*path}', (req, res) => {
    if (/\.[a-z0-9]+$/i.test(req.path)) {
      res.status(404).type('text').send('Not found');
      return;
    }
    res.set('cache-control', 'no-cache');
    res.sendFile(indexFile, (err) => {
      if (!err || res.headersSent) return;
      res
        .status(503)
        .type('text')
        .send(
          'The seat map page has not been built yet: run `npm run build` (or `npm start`, ' +
            'which builds what changed), then reload.',
        );
    });
  });

  app.use(APP_PATH, router);
}

function refuse(res: Response, status: number, code: string, message: string): void {
  res.status(status).json({ errors: [{ message, extensions: { code } }] });
}

/** The host (and port) of an Origin header, or undefined when it is not a URL. */
function originHost(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
}
