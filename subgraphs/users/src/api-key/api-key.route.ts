import type { Router } from 'express';
import {
  API_KEY_VERIFIER,
  API_KEY_VERIFY_PATH,
  isApiKeyHash,
  type ApiKeyVerifyResponse,
} from '../../../../runtime/contracts/api-keys';
import type { Identity } from '../../../../runtime/identity';
import type { UsersApp } from '../context.types';

/** The route under the `/internal` router the runtime mounts. */
const PATH = API_KEY_VERIFY_PATH.replace(/^\/internal/, '');

/**
 * `POST /internal/api-keys/verify` (the router in front already refused callers without a
 * signed service identity): `{ hash }` → 200 `ApiKeyVerifyResponse`, 400 for a body that is
 * not a hash, 403 for a service other than the gateway (a key's id and rate are for it only).
 */
export function mountApiKeyRoute(router: Router, app: UsersApp): void {
  router.post(PATH, async (req, res) => {
    const identity = res.locals.identity as Identity;
    if (identity.service !== API_KEY_VERIFIER) {
      res.status(403).json({ error: 'FORBIDDEN' });
      return;
    }
    const hash = (req.body as { hash?: unknown } | null)?.hash;
    if (!isApiKeyHash(hash)) {
      res
        .status(400)
        .json({ code: 'BAD_USER_INPUT', message: 'hash must be a SHA-256, lowercase hex' });
      return;
    }
    const response: ApiKeyVerifyResponse = { apiKey: await app.apiKeys.verify(hash) };
    res.json(response);
  });
}
