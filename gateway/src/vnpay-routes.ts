import type { Express, Request } from 'express';
import type { AppConfig } from '../../runtime/config';
import { callInternal } from '../../runtime/internal-client';
import type { Logger } from '../../runtime/logger';

/** Longer query strings are no VNPay call (theirs are well under 2 KB). */
const MAX_QUERY_BYTES = 4096;

/** What VNPay reads when the IPN could not be processed: it delivers again later. */
const TRY_AGAIN = { RspCode: '99', Message: 'Unknown error' } as const;

/** Where the bookings subgraph takes one of VNPay's calls. */
function bookingsUrl(bookingsGraphqlUrl: string, route: 'ipn' | 'return'): string {
  const url = new URL(bookingsGraphqlUrl);
  url.pathname = url.pathname.replace(/\/graphql\/?$/, '') + `/internal/payments/vnpay/${route}`;
  return url.toString();
}

const queryTooLong = (req: Request) =>
  (req.originalUrl.split('?')[1] ?? '').length > MAX_QUERY_BYTES;

/**
 * VNPay's two public routes (DESIGN.md section 4), relayed to the bookings subgraph, which
 * holds the hash secret and the payments:
 *
 * - `GET /payments/vnpay/ipn`: server to server, the only call that settles a payment;
 *   answers VNPay's JSON `{ RspCode, Message }` with HTTP 200 (VNPay reads the code). When
 *   bookings cannot be reached the answer is `99`, and VNPay delivers the IPN again.
 * - `GET /payments/vnpay/return`: the customer's browser coming back; redirected to the front
 *   end (`FRONTEND_URL/payment/result?bookingId=…&result=success|failed|invalid|unknown`).
 *   It changes nothing: the IPN decides, the page shows what the booking says.
 */
export function mountVnpayRoutes(
  app: Express,
  config: AppConfig,
  log: Logger,
  /** The bookings subgraph's GraphQL URL now (it follows a supergraph reload); may throw. */
  subgraphUrl: (name: 'bookings') => string,
): void {
  const relay = async (route: 'ipn' | 'return', req: Request, requestId: string) =>
    callInternal<Record<string, unknown>>(
      'bookings',
      bookingsUrl(subgraphUrl('bookings'), route),
      { query: req.query },
      {
        identity: { userId: null, role: null, service: 'gateway' },
        secret: config.internalSecret,
        requestId,
      },
    );

  app.get('/payments/vnpay/ipn', async (req, res) => {
    res.set('cache-control', 'no-store');
    if (queryTooLong(req)) {
      res.json({ RspCode: '97', Message: 'Invalid signature' });
      return;
    }
    try {
      const answer = await relay('ipn', req, res.locals.requestId as string);
      res.json(answer.status === 200 ? answer.body : TRY_AGAIN);
    } catch (err) {
      log.error({ err }, 'could not relay a VNPay IPN; VNPay will deliver it again');
      res.json(TRY_AGAIN);
    }
  });

  app.get('/payments/vnpay/return', async (req, res) => {
    res.set('cache-control', 'no-store');
    // Below FRONTEND_URL's path, as the emails' links are (`…/app/payment/result` under npm start).
    const target = new URL('payment/result', `${config.frontendUrl.replace(/\/+$/, '')}/`);
    let result = 'invalid';
    if (!queryTooLong(req)) {
      try {
        const answer = await relay('return', req, res.locals.requestId as string);
        const body = answer.body as { result?: string; bookingId?: string | null };
        result = answer.status === 200 && typeof body.result === 'string' ? body.result : 'unknown';
        if (typeof body.bookingId === 'string')
          target.searchParams.set('bookingId', body.bookingId);
      } catch (err) {
        log.warn({ err }, 'could not read a VNPay return; the front end asks the booking');
        result = 'unknown';
      }
    }
    target.searchParams.set('result', result);
    res.redirect(302, target.toString());
  });

  // What the browser lands on when FRONTEND_URL is the gateway itself (the embedded default,
  // which has no front end): the result in a sentence, and where the booking can be read.
  app.get('/payment/result', (req, res) => {
    const result = typeof req.query.result === 'string' ? req.query.result : 'unknown';
    const bookingId = typeof req.query.bookingId === 'string' ? req.query.bookingId : '';
    // Own keys only: `constructor` or `__proto__` is no result either.
    const said = Object.hasOwn(RESULT_TEXT, result) ? RESULT_TEXT[result] : RESULT_TEXT.unknown;
    res
      .status(200)
      .type('html')
      .set('cache-control', 'no-store')
      .send(
        `<!doctype html><meta charset="utf-8"><title>MovieHub payment</title>` +
          `<body style="font-family:sans-serif;max-width:40em;margin:3em auto">` +
          `<h1>${escapeHtml(said)}</h1>` +
          (bookingId ? `<p>Booking <code>${escapeHtml(bookingId)}</code>.</p>` : '') +
          `<p>Read the booking in <a href="/graphql">Sandbox</a> (query <code>booking(id:)</code>); ` +
          `the confirmation email carries the tickets' QR codes.</p></body>`,
      );
  });
}

const RESULT_TEXT: Record<string, string> = {
  success: 'Payment received: your booking is confirmed.',
  failed: 'The payment did not go through: the booking was cancelled.',
  invalid: 'This payment answer could not be verified.',
  unknown: 'We are checking your payment: the booking will show the result shortly.',
};

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}
