import { createHmac } from 'node:crypto';
import { deriveKey } from './identity';

/** Characters of a holder tag: 22 base64url characters, 132 bits of the HMAC. */
const TAG_LENGTH = 22;

/**
 * The seat-holder tags of one deployment: `tagOf(userId)` is the opaque tag under which the
 * cinemas subgraph keeps a user's seat holds and reservations, and which its seat events
 * carry (DESIGN.md invariant 9: never the user id). The gateway derives the same tag for each
 * signed-in subscriber, so that it can tell a subscriber which held seats are its own
 * (`heldByMe`) without the events saying who holds what. The key is derived from
 * `INTERNAL_SECRET` for this purpose only, so a tag can never pass as an identity signature;
 * only holders of the secret can link a tag to a user.
 */
export function seatHolderTags(secret: string): (userId: string) => string {
  const key = deriveKey(secret, 'seat-holder');
  return (userId) =>
    createHmac('sha256', key).update(`holder:${userId}`).digest('base64url').slice(0, TAG_LENGTH);
}
