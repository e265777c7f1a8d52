import type { Router } from 'express';
import {
  MAX_CONTACTS_PER_REQUEST,
  type UserContactsRequest,
  type UserContactsResponse,
} from '../../../../runtime/contracts/user-contacts';
import { AppError, badUserInput } from '../../../../runtime/errors';
import type { Identity } from '../../../../runtime/identity';
import type { UsersApp } from '../context.types';

/**
 * Who may read contacts: the bookings subgraph, which writes the mail. Personal data, so
 * every other service (the gateway included) is refused even with a valid signature.
 */
const CONTACTS_READER = 'bookings';
/** A Clerk user id is about 32 characters; anything much longer is not an id. */
const MAX_USER_ID_LENGTH = 200;

/**
 * `POST /internal/users/contacts` (the router in front already refused callers without a
 * signed service identity): `UserContactsRequest` → 200 `UserContactsResponse` (unknown ids
 * left out; a deleted user's email and name are null), 400 `{ code: 'BAD_USER_INPUT',
 * message }` for a malformed body, 403 for a service other than bookings.
 */
export function mountUserContactsRoute(router: Router, app: UsersApp): void {
  router.post('/users/contacts', async (req, res) => {
    const identity = res.locals.identity as Identity;
    if (identity.service !== CONTACTS_READER) {
      res.status(403).json({ error: 'FORBIDDEN' });
      return;
    }
    let request: UserContactsRequest;
    try {
      request = parseContactsRequest(req.body);
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      res.status(400).json({ code: 'BAD_USER_INPUT', message: err.message });
      return;
    }
    const response: UserContactsResponse = {
      contacts: await app.users.contacts(request.userIds),
    };
    res.json(response);
  });
}

/** 1 to `MAX_CONTACTS_PER_REQUEST` ids, each a string of 1 to 200 characters. */
function parseContactsRequest(body: unknown): UserContactsRequest {
  const userIds = (body as { userIds?: unknown } | null)?.userIds;
  if (
    !Array.isArray(userIds) ||
    userIds.length === 0 ||
    userIds.length > MAX_CONTACTS_PER_REQUEST
  ) {
    throw badUserInput('userIds', `userIds must list 1 to ${MAX_CONTACTS_PER_REQUEST} user ids`);
  }
  for (const id of userIds as unknown[]) {
    if (typeof id !== 'string' || id.length === 0 || id.length > MAX_USER_ID_LENGTH) {
      throw badUserInput(
        'userIds',
        `each user id must be a string of 1 to ${MAX_USER_ID_LENGTH} characters`,
      );
    }
  }
  return { userIds: userIds as string[] };
}
