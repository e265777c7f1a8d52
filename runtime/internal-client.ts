import { AppError } from './errors';
import { IDENTITY_HEADER, signIdentity, type Identity } from './identity';
import { REQUEST_ID_HEADER } from './logger';

export interface InternalCallOptions {
  readonly identity: Identity;
  readonly secret: string;
  readonly requestId?: string;
  readonly timeoutMs?: number;
}

/**
 * A signed service-to-service HTTP call (the same identity header the gateway sends), for
 * internal routes and fresh reads between subgraphs. Throws SERVICE_UNAVAILABLE naming the
 * target when it cannot be reached or answers 5xx.
 */
export async function callInternal<T>(
  serviceName: string,
  url: string,
  body: unknown,
  options: InternalCallOptions,
): Promise<{ status: number; body: T }> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        [IDENTITY_HEADER]: signIdentity(options.identity, options.secret, serviceName),
        ...(options.requestId ? { [REQUEST_ID_HEADER]: options.requestId } : {}),
      },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
    });
  } catch {
    throw new AppError('SERVICE_UNAVAILABLE', `Service "${serviceName}" is unavailable`, {
      serviceName,
    });
  }
  if (res.status >= 500) {
    throw new AppError('SERVICE_UNAVAILABLE', `Service "${serviceName}" failed`, { serviceName });
  }
  // The timeout also covers the body, and a body that is not JSON is no answer either.
  try {
    return { status: res.status, body: (await res.json()) as T };
  } catch {
    throw new AppError('SERVICE_UNAVAILABLE', `Service "${serviceName}" gave no answer`, {
      serviceName,
    });
  }
}
