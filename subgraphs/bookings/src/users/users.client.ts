import {
  MAX_CONTACTS_PER_REQUEST,
  USER_LOCALES,
  type UserContact,
  type UserContactsRequest,
  type UserContactsResponse,
  type UserLocale,
} from '../../../../runtime/contracts/user-contacts';
import type { Identity } from '../../../../runtime/identity';
import { callInternal } from '../../../../runtime/internal-client';

/**
 * What the bookings subgraph asks the users subgraph (the contract is
 * `runtime/contracts/user-contacts.ts`): how to reach the people it writes to. An interface,
 * so the mail worker can be tested with an in-memory users.
 */
export interface UsersClient {
  /**
   * The contacts of these users; unknown ids are left out. Throws (`SERVICE_UNAVAILABLE`
   * when users cannot be reached) rather than answering partially.
   */
  contacts(userIds: readonly string[]): Promise<UserContact[]>;
}

/** The longest user id the route takes (a Clerk id is about 32 characters). */
const MAX_USER_ID_LENGTH = 200;

/** The bookings subgraph calling as a service: no end user rides on these calls. */
const BOOKINGS_SERVICE: Identity = Object.freeze({
  userId: null,
  role: null,
  service: 'bookings',
});

/**
 * The users subgraph over its signed internal route. `graphqlUrl` is where its `/graphql` is
 * (`config.subgraphUrls.users`); the route sits beside it.
 */
export class HttpUsersClient implements UsersClient {
  private readonly url: string;

  constructor(
    graphqlUrl: string,
    private readonly secret: string,
    private readonly timeoutMs = 5000,
  ) {
    const url = new URL(graphqlUrl);
    url.pathname = `${url.pathname.replace(/\/graphql\/?$/, '').replace(/\/$/, '')}/internal/users/contacts`;
    url.search = '';
    url.hash = '';
    this.url = url.toString();
  }

  async contacts(userIds: readonly string[]): Promise<UserContact[]> {
    // What the route would refuse as a whole (400) cannot be anyone's id: left out, as unknown.
    const ids = [...new Set(userIds)].filter(
      (id) => typeof id === 'string' && id.length > 0 && id.length <= MAX_USER_ID_LENGTH,
    );
    const found: UserContact[] = [];
    for (let start = 0; start < ids.length; start += MAX_CONTACTS_PER_REQUEST) {
      const request: UserContactsRequest = {
        userIds: ids.slice(start, start + MAX_CONTACTS_PER_REQUEST),
      };
      const { status, body } = await callInternal<unknown>('users', this.url, request, {
        identity: BOOKINGS_SERVICE,
        secret: this.secret,
        timeoutMs: this.timeoutMs,
      });
      if (status !== 200) {
        // A 4xx is our own fault (a refused signature, a malformed request): say what came back.
        throw new Error(`The users subgraph answered ${status}: ${JSON.stringify(body)}`);
      }
      const asked = new Set(request.userIds);
      found.push(...readContacts(body).filter((c) => asked.has(c.id)));
    }
    return found;
  }
}

/**
 * The contacts of an answer, checked: a field of the wrong type is refused as a whole answer
 * (an email address goes into a mail header), an unknown locale reads as the default.
 */
function readContacts(body: unknown): UserContact[] {
  const contacts = (body as Partial<UserContactsResponse> | null)?.contacts;
  if (!Array.isArray(contacts)) throw new Error('The users subgraph answered without contacts');
  return contacts.map((raw: unknown): UserContact => {
    const c = raw as Partial<Record<keyof UserContact, unknown>> | null;
    if (
      !c ||
      typeof c.id !== 'string' ||
      !(c.email === null || typeof c.email === 'string') ||
      !(c.name === null || c.name === undefined || typeof c.name === 'string')
    ) {
      throw new Error('The users subgraph answered a malformed contact');
    }
    const locale: UserLocale = USER_LOCALES.includes(c.locale as UserLocale)
      ? (c.locale as UserLocale)
      : 'vi';
    return { id: c.id, email: c.email, name: c.name ?? null, locale };
  });
}
