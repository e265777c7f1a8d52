import { createClient, type Client } from 'graphql-ws/client';
import type { TypedDocumentString } from './__generated__/graphql';
import { ApiError } from './api-error';
import { sessionToken } from './session';

export { ApiError };

/**
 * GraphQL as the page speaks it: queries and mutations POSTed to `/graphql`, subscriptions
 * over graphql-ws at the same address, both on the page's own origin, with the signed-in
 * user's session token (none: anonymous).
 */

const GRAPHQL_PATH = '/graphql';

interface GraphQLErrorBody {
  message?: string;
  extensions?: Record<string, unknown>;
}

const firstError = (errors: readonly GraphQLErrorBody[]): ApiError => {
  const [error] = errors;
  const extensions = error?.extensions ?? {};
  const code = typeof extensions.code === 'string' ? extensions.code : 'INTERNAL_SERVER_ERROR';
  return new ApiError(code, error?.message ?? code, extensions);
};

/** Sends one query or mutation; its data, or the first error as an {@link ApiError}. */
export async function request<TResult, TVariables>(
  document: TypedDocumentString<TResult, TVariables>,
  variables: TVariables,
  headers: Record<string, string> = {},
): Promise<TResult> {
  const token = await sessionToken();
  let response: Response;
  try {
    response = await fetch(GRAPHQL_PATH, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...headers,
      },
      body: JSON.stringify({ query: document.toString(), variables }),
    });
  } catch (err) {
    throw new ApiError('NETWORK', err instanceof Error ? err.message : String(err));
  }
  let body: { data?: TResult | null; errors?: GraphQLErrorBody[] };
  try {
    body = (await response.json()) as typeof body;
  } catch {
    throw new ApiError(
      response.status >= 500 ? 'SERVICE_UNAVAILABLE' : 'NETWORK',
      `HTTP ${response.status}`,
    );
  }
  if (body.errors?.length) throw firstError(body.errors);
  if (!body.data) throw new ApiError('INTERNAL_SERVER_ERROR', 'No data in the answer');
  return body.data;
}

export type LiveState = 'connecting' | 'live' | 'reconnecting';

export interface LiveHandlers<TResult> {
  next(data: TResult): void;
  /** An error result (e.g. SERVICE_UNAVAILABLE): events may have been missed meanwhile. */
  error(error: ApiError): void;
  /** The server ended the subscription (after a last error result). */
  complete(): void;
}

/**
 * The WebSocket to the gateway, one per page and signed-in user: the token goes in
 * `connection_init`, so a sign-in or sign-out opens a new socket ({@link resetLive}).
 * graphql-ws reconnects by itself (with a fresh token, so an expired one, closed with 4403,
 * comes back signed in); the state listeners hear each drop and return, and a return after
 * a drop is when missed events must be made up for.
 */
let live: Client | undefined;
const stateListeners = new Set<(state: LiveState) => void>();
let liveState: LiveState = 'connecting';

function setLiveState(state: LiveState): void {
  liveState = state;
  for (const listener of stateListeners) listener(state);
}

function liveClient(): Client {
  if (live) return live;
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  live = createClient({
    url: `${scheme}://${location.host}${GRAPHQL_PATH}`,
    connectionParams: async () => {
      const token = await sessionToken();
      return token ? { authorization: `Bearer ${token}` } : {};
    },
    retryAttempts: Number.POSITIVE_INFINITY,
    // Half a second after a drop, then doubling to 30 s, with jitter so that a restarted
    // gateway is not met by every page at once.
    retryWait: (retries) =>
      new Promise((resolve) =>
        setTimeout(resolve, Math.min(30_000, 500 * 2 ** retries) + Math.random() * 500),
      ),
    // A ping every 10 s: a socket that died silently is noticed and replaced.
    keepAlive: 10_000,
    on: {
      connected: () => setLiveState('live'),
      // 1000: closed by the page (no subscription left, or a new user); anything else is a drop.
      closed: (event) =>
        setLiveState(
          (event as CloseEvent | undefined)?.code === 1000 ? 'connecting' : 'reconnecting',
        ),
    },
  });
  return live;
}

/** Closes the socket; the next subscription opens a new one (as the user now signed in). */
export function resetLive(): void {
  void live?.dispose();
  live = undefined;
  setLiveState('connecting');
}

export function onLiveState(listener: (state: LiveState) => void): () => void {
  stateListeners.add(listener);
  listener(liveState);
  return () => stateListeners.delete(listener);
}

/** Subscribes; returns the unsubscribe function. */
export function subscribe<TResult, TVariables>(
  document: TypedDocumentString<TResult, TVariables>,
  variables: TVariables,
  handlers: LiveHandlers<TResult>,
): () => void {
  return liveClient().subscribe<TResult>(
    { query: document.toString(), variables: variables as Record<string, unknown> },
    {
      next: (result) => {
        if (result.errors?.length) handlers.error(firstError(result.errors));
        else if (result.data) handlers.next(result.data);
      },
      error: (err) => {
        // The server refused the operation (graphql-ws's error message: its GraphQL errors).
        if (Array.isArray(err)) return handlers.error(firstError(err as GraphQLErrorBody[]));
        const code = (err as { code?: number }).code;
        handlers.error(
          new ApiError(
            code === 4401 ? 'UNAUTHENTICATED' : 'NETWORK',
            err instanceof Error ? err.message : `WebSocket closed (${code ?? 'no code'})`,
          ),
        );
      },
      complete: () => handlers.complete(),
    },
  );
}
