import { ROLES, type Role } from '../../../../runtime/identity';

/** The parts of a Clerk webhook event this service reads (user.created/updated/deleted). */
export interface ClerkEvent {
  /** The delivery id (`svix-id`): the idempotency key. */
  id: string;
  type: string;
  data: ClerkUserData;
}

export interface ClerkUserData {
  id?: string;
  first_name?: string | null;
  last_name?: string | null;
  primary_email_address_id?: string | null;
  email_addresses?: { id: string; email_address: string }[];
  primary_phone_number_id?: string | null;
  phone_numbers?: { id: string; phone_number: string }[];
  public_metadata?: { role?: unknown } | null;
  /** Milliseconds since the epoch, per Clerk. */
  updated_at?: number;
}

/** What a user.created/user.updated event says about the user's profile. */
export function profileFromClerk(data: ClerkUserData) {
  const email =
    data.email_addresses?.find((e) => e.id === data.primary_email_address_id)?.email_address ??
    data.email_addresses?.[0]?.email_address ??
    null;
  const phone =
    data.phone_numbers?.find((p) => p.id === data.primary_phone_number_id)?.phone_number ?? null;
  const name = [data.first_name, data.last_name].filter(Boolean).join(' ').trim() || null;
  const claimed = data.public_metadata?.role;
  const role =
    typeof claimed === 'string' && ROLES.includes(claimed.toUpperCase() as Role)
      ? (claimed.toUpperCase() as Role)
      : null;
  return { email, phone, name, role };
}
