/**
 * Clerk's browser SDK, loaded only where the gateway names a publishable key: as Clerk's
 * JavaScript quickstart does it with a `<script>` tag, from the instance's own Frontend API
 * (the host the key encodes), which then puts a loaded-on-demand `window.Clerk` in place.
 * Nothing of Clerk is bundled with the page, so the embedded default never contacts Clerk.
 */

/** The part of `window.Clerk` the page uses. */
export interface ClerkBrowser {
  load(): Promise<void>;
  readonly user:
    | {
        readonly id: string;
        readonly fullName: string | null;
        readonly primaryEmailAddress?: { readonly emailAddress: string } | null;
      }
    | null
    | undefined;
  readonly session: { getToken(): Promise<string | null> } | null | undefined;
  openSignIn(): void;
  signOut(): Promise<void>;
  addListener(listener: (resources: unknown) => void): () => void;
}

declare global {
  interface Window {
    Clerk?: ClerkBrowser;
  }
}

/** The major version of clerk-js whose browser bundle carries the sign-in UI. */
const CLERK_JS_MAJOR = 5;

/** The Frontend API host a publishable key (`pk_test_…`/`pk_live_…`) encodes. */
export function clerkFrontendApi(publishableKey: string): string {
  const encoded = /^pk_(?:test|live)_(.+)$/.exec(publishableKey)?.[1] ?? '';
  let decoded = '';
  try {
    decoded = atob(encoded);
  } catch {
    // Reported below as a malformed key.
  }
  if (!decoded.endsWith('$')) throw new Error('the Clerk publishable key is malformed');
  return decoded.slice(0, -1);
}

export async function loadClerk(publishableKey: string): Promise<ClerkBrowser> {
  const host = clerkFrontendApi(publishableKey);
  await new Promise<void>((resolve, reject) => {
    const script = document.createElement('script');
    script.async = true;
    script.crossOrigin = 'anonymous';
    script.dataset.clerkPublishableKey = publishableKey;
    script.src = `https://${host}/npm/@clerk/clerk-js@${CLERK_JS_MAJOR}/dist/clerk.browser.js`;
    script.addEventListener('load', () => resolve());
    script.addEventListener('error', () => reject(new Error(`${script.src} did not load`)));
    document.head.append(script);
  });
  const clerk = window.Clerk;
  if (!clerk) throw new Error('clerk-js loaded but set no window.Clerk');
  await clerk.load();
  return clerk;
}
