import { verifyWebhook } from '@clerk/backend/webhooks';
import express, { type Express } from 'express';
import type { AppConfig } from '../../runtime/config';
import { AppError } from '../../runtime/errors';
import { callInternal } from '../../runtime/internal-client';
import type { Logger } from '../../runtime/logger';

/** Where the users subgraph takes relayed Clerk events. */
export function clerkEventsUrl(usersGraphqlUrl: string): string {
  const url = new URL(usersGraphqlUrl);
  url.pathname = url.pathname.replace(/\/graphql\/?$/, '') + '/internal/clerk-events';
  return url.toString();
}

/**
 * `POST /webhooks/clerk`: verifies the Svix signature (with its timestamp tolerance) through
 * `@clerk/backend/webhooks`, then relays the event to the users subgraph, which applies each
 * event id once. A 5xx answer makes Clerk deliver again later; nothing is lost.
 */
export function mountClerkWebhook(
  app: Express,
  config: AppConfig,
  log: Logger,
  /** The users subgraph's GraphQL URL now (it follows a supergraph reload); may throw. */
  subgraphUrl: (name: 'users') => string,
): void {
  const signingSecret = config.clerk.webhookSigningSecret;
  app.post('/webhooks/clerk', express.raw({ type: '*/*', limit: '512kb' }), async (req, res) => {
    if (!signingSecret) {
      res.status(503).json({ error: 'Clerk webhooks are not configured' });
      return;
    }
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (typeof value === 'string') headers.set(name, value);
    }
    // A plain Uint8Array: a BodyInit under every fetch typing (Node's and undici's).
    const body = new Uint8Array(Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0));
    let event: { type: string; data: unknown };
    try {
      event = await verifyWebhook(
        new Request('http://gateway/webhooks/clerk', { method: 'POST', headers, body }),
        { signingSecret },
      );
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'refused a Clerk webhook with a bad signature');
      res.status(400).json({ error: 'Invalid webhook signature' });
      return;
    }
    try {
      const relayed = await callInternal<{ outcome: string }>(
        'users',
        clerkEventsUrl(subgraphUrl('users')),
        { id: req.header('svix-id'), type: event.type, data: event.data },
        {
          identity: { userId: null, role: null, service: 'gateway' },
          secret: config.internalSecret,
          requestId: res.locals.requestId as string,
        },
      );
      res.status(relayed.status).json(relayed.body);
    } catch (err) {
      const unavailable = err instanceof AppError;
      log.error({ err }, 'could not relay a Clerk webhook');
      res.status(unavailable ? 503 : 500).json({ error: 'Try again later' });
    }
  });
}
