import type { AppConfig } from '../../../runtime/config';
import type { DemoSignIn } from './demo-sign-in';

/**
 * What the page reads at start (`GET /app/config.json`): how it signs people in. GraphQL and
 * the WebSocket are always `/graphql` on the page's own origin. The page declares the same
 * shape in web/src/page-config.ts (the page is built apart and imports nothing from here).
 */
export type PageConfig = {
  readonly signIn:
    | { readonly mode: 'clerk'; readonly publishableKey: string }
    | { readonly mode: 'demo'; readonly userIds: readonly string[] }
    | { readonly mode: 'none' };
};

/** The Clerk publishable key (`pk_test_…`/`pk_live_…`, CLERK_PUBLISHABLE_KEY) if configured. */
export function clerkPublishableKey(config: AppConfig): string | undefined {
  return config.clerk.publishableKey;
}

/**
 * The host of the Clerk instance's Frontend API that a publishable key names (the key is
 * `pk_test_` or `pk_live_` and the base64 of `<host>$`), or undefined for a malformed key.
 * The page loads Clerk's browser SDK from there, and the page's CSP allows it.
 */
export function clerkFrontendApi(publishableKey: string): string | undefined {
  const match = /^pk_(?:test|live)_([A-Za-z0-9+/=_-]+)$/.exec(publishableKey);
  if (!match) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const host = decoded.endsWith('$') ? decoded.slice(0, -1) : '';
  return /^[a-z0-9.-]+(?::\d+)?$/i.test(host) ? host : undefined;
}

/** Clerk when a valid publishable key is configured, else the demo customers, else nobody. */
export function pageConfig(
  config: AppConfig,
  demo: DemoSignIn | undefined,
): { page: PageConfig; clerkHost?: string } {
  const publishableKey = clerkPublishableKey(config);
  const clerkHost = publishableKey ? clerkFrontendApi(publishableKey) : undefined;
  if (publishableKey && clerkHost) {
    return { page: { signIn: { mode: 'clerk', publishableKey } }, clerkHost };
  }
  if (demo) return { page: { signIn: { mode: 'demo', userIds: demo.userIds } } };
  return { page: { signIn: { mode: 'none' } } };
}

/**
 * The page's Content-Security-Policy: its own scripts, styles and connections only (the
 * WebSocket included: `'self'` covers ws:/wss: on the same host), QR codes as data: images,
 * never framed. With Clerk, what Clerk's CSP guide lists for its browser SDK: the Frontend
 * API for scripts and calls, Cloudflare's bot check, Clerk's images, inline styles, blob workers.
 */
export function contentSecurityPolicy(clerkHost?: string): string {
  const clerk = clerkHost ? `https://${clerkHost}` : undefined;
  const directives: Record<string, string[]> = {
    'default-src': ["'self'"],
    'script-src': ["'self'", ...(clerk ? [clerk, 'https://challenges.cloudflare.com'] : [])],
    'style-src': ["'self'", ...(clerk ? ["'unsafe-inline'"] : [])],
    'img-src': ["'self'", 'data:', ...(clerk ? ['https://img.clerk.com'] : [])],
    'connect-src': ["'self'", ...(clerk ? [clerk] : [])],
    'worker-src': clerk ? ["'self'", 'blob:'] : ["'self'"],
    'frame-src': clerk ? ['https://challenges.cloudflare.com'] : ["'none'"],
    'object-src': ["'none'"],
    'base-uri': ["'none'"],
    'form-action': ["'self'"],
    'frame-ancestors': ["'none'"],
  };
  return Object.entries(directives)
    .map(([name, sources]) => `${name} ${sources.join(' ')}`)
    .join('; ');
}
