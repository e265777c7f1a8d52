import type { Router } from 'express';
import type { UsersApp } from '../context.types';
import type { ClerkEvent } from './clerk-events';

/**
 * `POST /internal/clerk-events`: a Clerk webhook event the gateway has already verified
 * (Svix signature), relayed with a signed service identity. Answers what was done with it.
 */
export function mountClerkEventsRoute(router: Router, app: UsersApp): void {
  router.post('/clerk-events', async (req, res) => {
    const event = req.body as Partial<ClerkEvent>;
    if (typeof event?.id !== 'string' || typeof event.type !== 'string' || !event.data) {
      res.status(400).json({ error: 'BAD_USER_INPUT' });
      return;
    }
    const outcome = await app.users.applyClerkEvent(event as ClerkEvent);
    res.json({ outcome });
  });
}
