import express from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { UserContactsRequest } from '../../../../runtime/contracts/user-contacts';
import { AppError } from '../../../../runtime/errors';
import { IDENTITY_HEADER, verifyIdentity } from '../../../../runtime/identity';
import { HttpUsersClient } from './users.client';

const SECRET = 'users-client-test-secret';

/**
 * A users subgraph stand-in on port 0 that checks the signature as the real one does, records
 * what it was asked, and answers what the test sets.
 */
describe('HttpUsersClient', () => {
  let server: Server;
  let base: string;
  const asked: { path: string; service: string | undefined; userIds: string[] }[] = [];
  let answer: (request: UserContactsRequest) => { status: number; body: unknown } = (req) => ({
    status: 200,
    body: {
      contacts: req.userIds.map((id) => ({
        id,
        email: `${id}@example.com`,
        name: id,
        locale: 'en',
      })),
    },
  });

  beforeAll(async () => {
    const app = express();
    app.use(express.json());
    app.post(/.*/, (req, res) => {
      const identity = verifyIdentity(req.header(IDENTITY_HEADER), SECRET, 'users');
      if (!identity) {
        res.status(401).json({ error: 'UNAUTHENTICATED' });
        return;
      }
      const body = req.body as UserContactsRequest;
      asked.push({ path: req.path, service: identity.service, userIds: body.userIds });
      const { status, body: reply } = answer(body);
      res.status(status).json(reply);
    });
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  beforeEach(() => {
    asked.length = 0;
  });

  it('asks the route beside /graphql as the bookings service, at most 100 ids a call', async () => {
    const client = new HttpUsersClient(`${base}/graphql`, SECRET);
    const ids = Array.from({ length: 150 }, (_, i) => `user_${i}`);
    const contacts = await client.contacts([...ids, 'user_0']);
    expect(contacts.map((c) => c.id)).toEqual(ids);
    expect(contacts[0]).toEqual({
      id: 'user_0',
      email: 'user_0@example.com',
      name: 'user_0',
      locale: 'en',
    });
    expect(asked.map((a) => [a.path, a.service, a.userIds.length])).toEqual([
      ['/internal/users/contacts', 'bookings', 100],
      ['/internal/users/contacts', 'bookings', 50],
    ]);
  });

  it('keeps a path prefix, and asks nothing for no ids', async () => {
    const client = new HttpUsersClient(`${base}/users/graphql`, SECRET);
    await client.contacts(['a']);
    expect(asked.map((a) => a.path)).toEqual(['/users/internal/users/contacts']);
    expect(await client.contacts([])).toEqual([]);
    expect(await client.contacts(['', 'x'.repeat(201)])).toEqual([]);
    expect(asked).toHaveLength(1);
  });

  it('reads an unknown locale as vi and leaves out ids it did not ask for', async () => {
    answer = () => ({
      status: 200,
      body: {
        contacts: [
          { id: 'a', email: null, name: null, locale: 'fr' },
          { id: 'intruder', email: 'x@example.com', name: null, locale: 'vi' },
        ],
      },
    });
    const contacts = await new HttpUsersClient(`${base}/graphql`, SECRET).contacts(['a']);
    expect(contacts).toEqual([{ id: 'a', email: null, name: null, locale: 'vi' }]);
  });

  it('refuses a malformed answer, a refusal and an outage', async () => {
    const client = new HttpUsersClient(`${base}/graphql`, SECRET);
    answer = () => ({ status: 200, body: { contacts: [{ id: 'a', email: ['a@x', 'b@y'] }] } });
    await expect(client.contacts(['a'])).rejects.toThrow(/malformed/);
    answer = () => ({ status: 200, body: { nothing: true } });
    await expect(client.contacts(['a'])).rejects.toThrow(/without contacts/);
    answer = () => ({ status: 503, body: { error: 'down' } });
    await expect(client.contacts(['a'])).rejects.toMatchObject({
      extensions: { code: 'SERVICE_UNAVAILABLE' },
    });
    // A wrong secret: the users subgraph refuses the signature.
    await expect(new HttpUsersClient(`${base}/graphql`, 'wrong').contacts(['a'])).rejects.toThrow(
      /answered 401/,
    );
    // A port nobody listens on any more: connection refused.
    const gone = await new Promise<Server>((resolve) => {
      const s = express().listen(0, '127.0.0.1', () => resolve(s));
    });
    const port = (gone.address() as AddressInfo).port;
    await new Promise((resolve) => gone.close(resolve));
    const closed = new HttpUsersClient(`http://127.0.0.1:${port}/graphql`, SECRET, 1000);
    const error = await closed.contacts(['a']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
  });
});
