/**
 * What the gateway tells the page at start (`GET /app/config.json`, gateway/src/app/
 * page-config.ts declares the same shape): how people sign in here.
 */
export type SignInConfig =
  | { readonly mode: 'clerk'; readonly publishableKey: string }
  | { readonly mode: 'demo'; readonly userIds: readonly string[] }
  | { readonly mode: 'none' };

export interface PageConfig {
  readonly signIn: SignInConfig;
}

export async function loadPageConfig(): Promise<PageConfig> {
  const response = await fetch(`${import.meta.env.BASE_URL}config.json`, { cache: 'no-store' });
  if (!response.ok) throw new Error(`config.json: HTTP ${response.status}`);
  return (await response.json()) as PageConfig;
}
