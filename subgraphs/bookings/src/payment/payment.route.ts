import type { Router } from 'express';
import type { Identity } from '../../../../runtime/identity';
import type { BookingsApp } from '../context.types';

/** Only the gateway relays VNPay's calls. */
const RELAYING_SERVICE = 'gateway';

/**
 * VNPay's calls as the gateway relays them (the gateway's `/payments/vnpay/*` routes are the
 * public ones), each with its query string as `{ query }`:
 *
 * - `POST /internal/payments/vnpay/ipn` → the IPN answer `{ RspCode, Message }` (always 200:
 *   VNPay reads the code, not the status);
 * - `POST /internal/payments/vnpay/return` → `{ result, bookingId, responseCode }` for the
 *   browser's redirect; changes nothing.
 */
export function mountPaymentRoutes(router: Router, app: BookingsApp): void {
  router.post('/payments/vnpay/ipn', async (req, res) => {
    if ((res.locals.identity as Identity).service !== RELAYING_SERVICE) {
      res.status(403).json({ error: 'FORBIDDEN' });
      return;
    }
    res.json(await app.payments.handleIpn((req.body as { query?: unknown } | null)?.query));
  });

  router.post('/payments/vnpay/return', async (req, res) => {
    if ((res.locals.identity as Identity).service !== RELAYING_SERVICE) {
      res.status(403).json({ error: 'FORBIDDEN' });
      return;
    }
    res.json(await app.payments.readReturn((req.body as { query?: unknown } | null)?.query));
  });
}
