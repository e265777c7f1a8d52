import { ApiError } from './api-error';
import { loadClerk, type ClerkBrowser } from './clerk';
import type { SignInConfig } from './page-config';

/**
 * Who the page acts for, and their session token.
 * - Clerk (a publishable key is configured): Clerk's own sign-in; tokens from Clerk's session.
 * - Demo (the embedded default): a switch between the seeded demo customers, remembered per
 *   window (sessionStorage), so two windows side by side can be two different customers;
 *   tokens come from the gateway's `POST /app/demo-session`, minted with the local key pair.
 * - Neither: anonymous; the seat map is visible, holding seats is not.
 */

const DEMO_KEY = 'moviehub.demoUser';
/** A demo token is renewed this long before it expires. */
const RENEW_MARGIN_S = 120;

let signIn: SignInConfig = { mode: 'none' };
let clerk: ClerkBrowser | undefined;
let demoUser: string | null = null;
const demoTokens = new Map<string, { token: string; expiresAt: number }>();
const demoSignIns = new Map<string, Promise<string>>();
const listeners = new Set<() => void>();

function changed(): void {
  for (const listener of listeners) listener();
}

/** Starts the configured sign-in; with Clerk, waits for Clerk to load (or fails). */
export async function startSession(config: SignInConfig): Promise<void> {
  signIn = config;
  if (config.mode === 'demo') {
    const saved = sessionStorage.getItem(DEMO_KEY);
    demoUser = saved === null ? (config.userIds[0] ?? null) : saved || null;
    if (demoUser !== null && !config.userIds.includes(demoUser)) demoUser = null;
  } else if (config.mode === 'clerk') {
    clerk = await loadClerk(config.publishableKey);
    let signedIn = clerk.user?.id;
    clerk.addListener(() => {
      if (clerk?.user?.id === signedIn) return;
      signedIn = clerk?.user?.id;
      changed();
    });
  }
}

export const signInMode = (): SignInConfig['mode'] => signIn.mode;

/** The signed-in user's id (the token's subject), or null when anonymous. */
export function sessionUserId(): string | null {
  if (signIn.mode === 'demo') return demoUser;
  if (signIn.mode === 'clerk') return clerk?.user?.id ?? null;
  return null;
}

/** The user's name as the sign-in knows it (Clerk), for the header until `me` answers. */
export const clerkUserName = (): string | null => clerk?.user?.fullName ?? null;

/** A valid session token for the signed-in user, or undefined when anonymous. */
export async function sessionToken(): Promise<string | undefined> {
  if (signIn.mode === 'clerk') return (await clerk?.session?.getToken()) ?? undefined;
  if (signIn.mode !== 'demo' || demoUser === null) return undefined;
  const userId = demoUser;
  const kept = demoTokens.get(userId);
  if (kept && kept.expiresAt - RENEW_MARGIN_S > Date.now() / 1000) return kept.token;
  // The page's first requests and its socket all ask at once: one sign-in serves them.
  let minting = demoSignIns.get(userId);
  if (!minting) {
    minting = demoSignIn(userId).finally(() => demoSignIns.delete(userId));
    demoSignIns.set(userId, minting);
  }
  return minting;
}

async function demoSignIn(userId: string): Promise<string> {
  let response: Response;
  try {
    response = await fetch(`${import.meta.env.BASE_URL}demo-session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userId }),
    });
  } catch (err) {
    throw new ApiError('NETWORK', err instanceof Error ? err.message : String(err));
  }
  if (!response.ok) {
    throw new ApiError('UNAUTHENTICATED', `The demo sign-in answered HTTP ${response.status}`);
  }
  const minted = (await response.json()) as { token: string; expiresAt: number };
  demoTokens.set(userId, minted);
  return minted.token;
}

/** The demo customers to switch between (none outside the demo mode). */
export const demoUserIds = (): readonly string[] => (signIn.mode === 'demo' ? signIn.userIds : []);

/** Acts as another demo customer in this window (null: as a guest). */
export function chooseDemoUser(userId: string | null): void {
  if (signIn.mode !== 'demo' || userId === demoUser) return;
  demoUser = userId !== null && signIn.userIds.includes(userId) ? userId : null;
  sessionStorage.setItem(DEMO_KEY, demoUser ?? '');
  changed();
}

export function openSignIn(): void {
  clerk?.openSignIn();
}

export async function signOut(): Promise<void> {
  await clerk?.signOut();
}

export function onSessionChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
