import type { UserLocale } from '../../../../runtime/contracts/user-contacts';
import type { RetentionTarget } from '../../../../runtime/events/retention';
import { ROLES, type Role } from '../../../../runtime/identity';
import { isUserLocale } from './profile.validation';

/**
 * Applied Clerk event ids (`clerk_events`) are kept for the event retention, then pruned.
 * The ledger only stops the same delivery from being applied twice; order does not depend on
 * it: a user's row keeps Clerk's `updated_at` of the last event applied (`clerk_updated_at`)
 * and a deleted user stays a tombstone, so an event that arrives after its id was pruned is
 * still ignored when older than what was applied, and re-applies the same values when it is
 * that very event. Such late arrivals are rare: Svix retries a delivery for about a day,
 * each with a fresh signature, and the gateway refuses a signature older than five minutes,
 * so only a replay from Clerk's dashboard comes later.
 */
export const CLERK_EVENTS_RETENTION: RetentionTarget = {
  table: 'clerk_events',
  column: 'received_at',
};

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
  /** Set by the back end (Clerk's dashboard, its API): the role, perhaps the locale. */
  public_metadata?: { role?: unknown; locale?: unknown } | null;
  /** Set by the front end (the user's own session): perhaps the locale. */
  unsafe_metadata?: { locale?: unknown } | null;
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
  return { email, phone, name, role, locale: localeFromClerk(data) };
}

/**
 * The locale Clerk's metadata names, if a valid one: the back end's (`public_metadata`)
 * first, else the one the front end stored (`unsafe_metadata`); anything else is ignored
 * (it is not the user's input here, so it is not an error either).
 */
function localeFromClerk(data: ClerkUserData): UserLocale | null {
  for (const candidate of [data.public_metadata?.locale, data.unsafe_metadata?.locale]) {
    if (isUserLocale(candidate)) return candidate;
  }
  return null;
}
