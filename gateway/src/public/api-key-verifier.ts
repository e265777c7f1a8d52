import {
  API_KEY_VERIFIER,
  API_KEY_VERIFY_PATH,
  type ApiKeyVerifyRequest,
  type ApiKeyVerifyResponse,
} from '../../../runtime/contracts/api-keys';
import { AppError } from '../../../runtime/errors';
import type { Identity } from '../../../runtime/identity';
import { callInternal } from '../../../runtime/internal-client';
import type { ApiKeyVerifier } from './partner-access';

const GATEWAY: Identity = Object.freeze({ userId: null, role: null, service: API_KEY_VERIFIER });
/** A partner waits this long at most for a key Redis did not know. */
const VERIFY_TIMEOUT_MS = 2000;

/**
 * Asks the users subgraph about a key by its hash (`POST /internal/api-keys/verify`), next
 * to its GraphQL endpoint `usersGraphqlUrl`. SERVICE_UNAVAILABLE when it cannot answer.
 */
export function usersApiKeyVerifier(
  usersGraphqlUrl: string,
  internalSecret: string,
): ApiKeyVerifier {
  const url = new URL(usersGraphqlUrl);
  url.pathname = url.pathname.replace(/\/graphql\/?$/, '') + API_KEY_VERIFY_PATH;
  const endpoint = url.toString();
  return async (hash, requestId) => {
    const request: ApiKeyVerifyRequest = { hash };
    const { status, body } = await callInternal<ApiKeyVerifyResponse>('users', endpoint, request, {
      identity: GATEWAY,
      secret: internalSecret,
      requestId,
      timeoutMs: VERIFY_TIMEOUT_MS,
    });
    if (status !== 200) {
      throw new AppError('SERVICE_UNAVAILABLE', 'API keys cannot be checked right now; retry', {
        serviceName: 'users',
      });
    }
    return body.apiKey;
  };
}
