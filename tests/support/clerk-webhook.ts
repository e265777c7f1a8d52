import { createHmac, randomBytes, randomUUID } from 'node:crypto';

/** A Svix-style signing secret, as Clerk shows it (`whsec_` + base64). */
export const newSigningSecret = (): string => `whsec_${randomBytes(24).toString('base64')}`;

/**
 * Signs a webhook delivery the way Svix (Clerk's webhook sender) does:
 * base64(HMAC-SHA256(secret, `${id}.${timestamp}.${body}`)) in `svix-signature: v1,<sig>`.
 */
export function signedDelivery(
  secret: string,
  payload: object,
  options: { id?: string; timestamp?: number } = {},
) {
  const id = options.id ?? `msg_${randomUUID()}`;
  const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
  const body = JSON.stringify(payload);
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const signature = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
  return {
    id,
    body,
    headers: {
      'content-type': 'application/json',
      'svix-id': id,
      'svix-timestamp': timestamp,
      'svix-signature': `v1,${signature}`,
    },
  };
}

/** A Clerk user event payload. */
export function userEvent(
  type: 'user.created' | 'user.updated' | 'user.deleted',
  data: {
    id: string;
    first?: string;
    last?: string;
    email?: string;
    phone?: string;
    role?: string;
  },
) {
  if (type === 'user.deleted')
    return { type, object: 'event', data: { id: data.id, deleted: true } };
  return {
    type,
    object: 'event',
    data: {
      id: data.id,
      first_name: data.first ?? null,
      last_name: data.last ?? null,
      primary_email_address_id: 'idn_1',
      email_addresses: data.email ? [{ id: 'idn_1', email_address: data.email }] : [],
      primary_phone_number_id: data.phone ? 'idn_2' : null,
      phone_numbers: data.phone ? [{ id: 'idn_2', phone_number: data.phone }] : [],
      public_metadata: data.role ? { role: data.role } : {},
    },
  };
}
