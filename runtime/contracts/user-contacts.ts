/**
 * `POST {users}/internal/users/contacts` (signed service identity): how to reach users, for
 * the bookings subgraph's email (confirmations, cancellations, refunds). Personal data, so it
 * is only on an internal route, never in the graph beyond the user and admins.
 */
export interface UserContactsRequest {
  /** At most {@link MAX_CONTACTS_PER_REQUEST} distinct ids. */
  userIds: string[];
}

export const MAX_CONTACTS_PER_REQUEST = 100;

/** The languages mail is written in; `vi` when the user never chose. */
export const USER_LOCALES = ['vi', 'en'] as const;
export type UserLocale = (typeof USER_LOCALES)[number];

export interface UserContact {
  id: string;
  /** Null when unknown or erased (a deleted user): no mail is sent. */
  email: string | null;
  name: string | null;
  locale: UserLocale;
}

/** 200. Unknown ids are left out. */
export interface UserContactsResponse {
  contacts: UserContact[];
}
