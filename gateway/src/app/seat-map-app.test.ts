import express from 'express';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, withOverrides, type AppConfig } from '../../../runtime/config';
import { generateKeyPair } from '../../../scripts/dev-token';
import { createAuthenticator } from '../authenticate';
import { DEMO_CUSTOMERS, demoSignIn } from './demo-sign-in';
import { clerkFrontendApi, contentSecurityPolicy } from './page-config';
import { serveSeatMapApp, type SeatMapAppOptions } from './seat-map-app';

const keys = generateKeyPair();
const silent = { warn: () => {}, error: () => {} };
const folders: string[] = [];
const servers: Server[] = [];

/** A data folder holding the local key pair, as `npm start` leaves it. */
function dataDirWith(pair = keys): string {
  const dir = mkdtempSync(join(tmpdir(), 'moviehub-app-'));
  folders.push(dir);
  writeFileSync(join(dir, 'dev-keys.json'), JSON.stringify(pair));
  return dir;
}

/** The embedded default's configuration: the gateway verifies with the local public key. */
function localConfig(env: Record<string, string> = {}): AppConfig {
  return loadConfig('local', {
    NODE_ENV: 'development',
    CLERK_JWT_KEY: keys.publicKeyPem,
    EMBEDDED_DATA_DIR: dataDirWith(),
    ...env,
  });
}

/** A built page: index.html, one hashed asset, a public file. */
function builtPage(): string {
  const dir = mkdtempSync(join(tmpdir(), 'moviehub-page-'));
  folders.push(dir);
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>seat map</title>');
  writeFileSync(join(dir, 'assets', 'index-abc123.js'), 'console.log(1)');
  writeFileSync(join(dir, 'favicon.svg'), '<svg/>');
  return dir;
}

async function serve(options: Partial<SeatMapAppOptions> & { config: AppConfig }) {
  const app = express();
  app.set('trust proxy', true);
  serveSeatMapApp(app, { log: silent, pageDir: builtPage(), ...options });
  const server = app.listen(0, '127.0.0.1');
  servers.push(server);
  await new Promise<void>((resolve) => server.once('listening', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

describe('the seat map page at /app', () => {
  it('answers every page address with the page, revalidated on each load, under a strict CSP', async () => {
    const base = await serve({ config: localConfig() });
    for (const path of [
      '/app',
      '/app/',
      '/app/showtimes/123',
      '/app/payment/result?result=success',
    ]) {
      const res = await fetch(base + path);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('<title>seat map</title>');
      expect(res.headers.get('cache-control')).toBe('no-cache');
      const csp = res.headers.get('content-security-policy')!;
      expect(csp).toContain("script-src 'self';");
      expect(csp).toContain("connect-src 'self';");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe');
    }
  });

  it('caches hashed assets for a year, and answers 404 for files that are not there', async () => {
    const base = await serve({ config: localConfig() });
    const asset = await fetch(`${base}/app/assets/index-abc123.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const favicon = await fetch(`${base}/app/favicon.svg`);
    expect(favicon.headers.get('cache-control')).toBe('no-cache');
    for (const path of ['/app/assets/gone-123.js', '/app/missing.png']) {
      const res = await fetch(base + path);
      expect(res.status).toBe(404);
      expect(await res.text()).not.toContain('<title>');
    }
  });

  it('says how to build the page before it is built', async () => {
    const base = await serve({
      config: localConfig(),
      pageDir: join(tmpdir(), 'moviehub-no-such-page'),
    });
    const res = await fetch(`${base}/app/`);
    expect(res.status).toBe(503);
    expect(await res.text()).toMatch(/npm run build/);
  });

  it('tells the page to offer the demo customers on the embedded default, never in production', async () => {
    const dev = await (
      await fetch(`${await serve({ config: localConfig() })}/app/config.json`)
    ).json();
    expect(dev).toEqual({ signIn: { mode: 'demo', userIds: DEMO_CUSTOMERS.map((c) => c.id) } });

    // Production on the local key pair, as the README's Compose recipe runs it.
    const production = withOverrides(localConfig(), { env: 'production', isProduction: true });
    expect(demoSignIn(production)).toBeUndefined();
    const prod = await fetch(`${await serve({ config: production })}/app/config.json`);
    expect(prod.headers.get('cache-control')).toBe('no-store');
    expect(await prod.json()).toEqual({ signIn: { mode: 'none' } });
  });

  it('has no demo sign-in when the gateway verifies with another key than the local pair', () => {
    const elsewhere = localConfig({ EMBEDDED_DATA_DIR: dataDirWith(generateKeyPair()) });
    expect(demoSignIn(elsewhere)).toBeUndefined();
    const noKeys = localConfig({ EMBEDDED_DATA_DIR: join(tmpdir(), 'moviehub-no-keys-here') });
    expect(demoSignIn(noKeys)).toBeUndefined();
    expect(demoSignIn(localConfig())).toBeDefined();
  });

  it('signs a demo customer in with a token the gateway accepts, from the page origin only', async () => {
    const config = localConfig();
    const base = await serve({ config });
    const res = await post(
      `${base}/app/demo-session`,
      { userId: 'demo-customer-2' },
      { origin: base },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const session = (await res.json()) as { userId: string; token: string; expiresAt: number };
    expect(session.userId).toBe('demo-customer-2');
    const authenticate = createAuthenticator({ ...config.clerk, authorizedParties: [base] });
    const { identity, expiresAt } = await authenticate(`Bearer ${session.token}`);
    expect(identity).toEqual({
      userId: 'demo-customer-2',
      role: 'CUSTOMER',
      email: 'customer2@moviehub.example',
    });
    expect(expiresAt).toBe(session.expiresAt);

    const refusals: Array<[Response, number, string]> = [
      [await post(`${base}/app/demo-session`, { userId: 'demo-admin' }), 400, 'BAD_USER_INPUT'],
      [await post(`${base}/app/demo-session`, {}), 400, 'BAD_USER_INPUT'],
      [await post(`${base}/app/demo-session`, '{"userId":'), 400, 'BAD_REQUEST'],
      [
        await post(
          `${base}/app/demo-session`,
          { userId: 'demo-customer' },
          { origin: 'https://evil.example' },
        ),
        403,
        'FORBIDDEN',
      ],
      [
        // X-Forwarded-Host is the page's to set (trust proxy): it proves nothing.
        await post(
          `${base}/app/demo-session`,
          { userId: 'demo-customer' },
          {
            origin: 'https://evil.example',
            'x-forwarded-host': 'evil.example',
            'x-forwarded-proto': 'https',
          },
        ),
        403,
        'FORBIDDEN',
      ],
      [
        await post(
          `${base}/app/demo-session`,
          { userId: 'demo-customer' },
          { 'sec-fetch-site': 'cross-site' },
        ),
        403,
        'FORBIDDEN',
      ],
    ];
    for (const [refused, status, code] of refusals) {
      expect(refused.status).toBe(status);
      expect(await refused.json()).toMatchObject({ errors: [{ extensions: { code } }] });
    }
  });

  it('mints nothing where there is no demo sign-in', async () => {
    const base = await serve({ config: localConfig(), demo: undefined });
    const res = await post(`${base}/app/demo-session`, { userId: 'demo-customer' });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ errors: [{ extensions: { code: 'NOT_FOUND' } }] });
  });

  it("loads Clerk's browser SDK where a publishable key is configured, and lets its CSP allow it", async () => {
    const publishableKey = `pk_test_${Buffer.from('moviehub-42.clerk.accounts.dev$').toString('base64')}`;
    expect(clerkFrontendApi(publishableKey)).toBe('moviehub-42.clerk.accounts.dev');
    expect(clerkFrontendApi('pk_test_bm90IGEga2V5')).toBeUndefined();
    expect(clerkFrontendApi('sk_test_abc')).toBeUndefined();

    const config = withOverrides(localConfig(), {
      clerk: { publishableKey },
    });
    const res = await fetch(`${await serve({ config })}/app/config.json`);
    expect(await res.json()).toEqual({ signIn: { mode: 'clerk', publishableKey } });
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toBe(contentSecurityPolicy('moviehub-42.clerk.accounts.dev'));
    expect(csp).toContain("script-src 'self' https://moviehub-42.clerk.accounts.dev");
    expect(csp).toContain("connect-src 'self' https://moviehub-42.clerk.accounts.dev");
  });
});
