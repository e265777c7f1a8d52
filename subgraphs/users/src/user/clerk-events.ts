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

/** Longest id (a Clerk user id, a Svix delivery id) kept; Clerk's are about 30 characters. */
export const MAX_CLERK_ID_LENGTH = 255;

/**
 * A Clerk id fit to store: a string of at most {@link MAX_CLERK_ID_LENGTH} characters without
 * control characters (PostgreSQL cannot store a NUL), else null.
 */
export function clerkId(value: unknown): string | null {
  return typeof value === 'string' &&
    value.length > 0 &&
    value.length <= MAX_CLERK_ID_LENGTH &&
    !/\p{Cc}/u.test(value)
    ? value
    : null;
}

/** A text field of Clerk's as stored: control characters dropped, at most `max` characters. */
function clerkText(value: unknown, max: number): string | null {
  if (typeof value !== 'string') return null;
  const clean = [...value.replace(/\p{Cc}/gu, '').trim()].slice(0, max).join('');
  return clean.length > 0 ? clean : null;
}

/** Clerk's `updated_at` (ms since the epoch) if it is one, else null. */
export function clerkUpdatedAt(data: ClerkUserData): number | null {
  const value = data.updated_at;
  return Number.isSafeInteger(value) && (value as number) >= 0 ? (value as number) : null;
}

/** The entries of a list of Clerk's that are objects (anything else: none). */
const entriesOf = <T extends object>(value: unknown): Partial<Record<keyof T, unknown>>[] =>
  Array.isArray(value)
    ? value.filter(
        (v): v is Partial<Record<keyof T, unknown>> => typeof v === 'object' && v !== null,
      )
    : [];

/**
 * What a user.created/user.updated event says about the user's profile. Clerk's payload is
 * read defensively (a field of the wrong type is ignored, text loses control characters and
 * is cut to what the columns hold), so that no event fails to apply and is retried for a day.
 */
export function profileFromClerk(data: ClerkUserData) {
  const emails = entriesOf<{ id: string; email_address: string }>(data.email_addresses);
  const phones = entriesOf<{ id: string; phone_number: string }>(data.phone_numbers);
  const email = clerkText(
    (emails.find((e) => e.id === data.primary_email_address_id) ?? emails[0])?.email_address,
    320,
  );
  const phone = clerkText(
    phones.find((p) => p.id === data.primary_phone_number_id)?.phone_number,
    32,
  );
  const name = clerkText(
    [clerkText(data.first_name, 100), clerkText(data.last_name, 100)].filter(Boolean).join(' '),
    100,
  );
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
