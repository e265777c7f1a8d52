// The simulator's HTML: VNPay's pay page (reduced to Approve / Decline) and its error page.
// Every value comes from a merchant's URL, so all of it is escaped.

/** Codes VNPay's `Payment/Error.html?code=` page shows for a pay URL it refuses. */
export const PAY_PAGE_ERRORS: Readonly<Record<string, string>> = {
  '01': 'Transaction already exists (vnp_TxnRef already used)',
  '03': 'Data sent in a wrong format',
  '15': 'The payment has expired (vnp_ExpireDate has passed)',
  '32': 'Invalid amount: from 5,000 to under 1,000,000,000 VND',
  '70': 'Invalid signature (vnp_SecureHash)',
  '72': 'Website not found (vnp_TmnCode)',
  '99': 'Unknown or already finished payment session',
};

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

/** Vietnamese grouping: 185000 → "185.000". */
export function formatVnd(amountVnd: number): string {
  return String(amountVnd).replace(/\B(?=(\d{3})+(?!\d))/g, '.');
}

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}
dt{color:#555}dd{margin:0 0 .8rem;font-weight:bold}button{font-size:1rem;padding:.6rem 1.4rem;margin-right:1rem}
.sim{color:#a00;font-size:.85rem}</style></head>
<body><p class="sim">VNPay simulator (local development only; no money moves)</p>${body}</body></html>`;
}

export interface PayPageView {
  sessionId: string;
  amountVnd: number;
  orderInfo: string;
  txnRef: string;
  expireDate: string;
}

/** The pay page: what is being paid, and one form with Approve and Decline. */
export function renderPayPage(view: PayPageView): string {
  return layout(
    'VNPay - Payment',
    `<h1>Payment</h1>
<dl><dt>Amount</dt><dd>${formatVnd(view.amountVnd)} VND</dd>
<dt>Order</dt><dd>${escapeHtml(view.orderInfo)}</dd>
<dt>Booking reference</dt><dd>${escapeHtml(view.txnRef)}</dd>
<dt>Pay before (GMT+7, yyyyMMddHHmmss)</dt><dd>${escapeHtml(view.expireDate)}</dd></dl>
<form method="post" action="/paymentv2/decide">
<input type="hidden" name="id" value="${escapeHtml(view.sessionId)}">
<button type="submit" name="decision" value="approve">Approve</button>
<button type="submit" name="decision" value="decline">Decline</button>
</form>`,
  );
}

/** VNPay's error page for a refused pay URL. */
export function renderErrorPage(code: string): string {
  const message = PAY_PAGE_ERRORS[code] ?? 'Error';
  return layout(
    'VNPay - Error',
    `<h1>Payment error</h1><p>Error code ${escapeHtml(code)}: ${escapeHtml(message)}</p>`,
  );
}
