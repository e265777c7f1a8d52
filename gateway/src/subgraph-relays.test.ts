// The gateway's routes that relay to a subgraph (the Clerk webhook to users, VNPay's calls to
// bookings) go to the subgraph's URL of the composition served at each call: they follow a
// supergraph reload, and answer "try again" while the subgraph is not composed.
import express from 'express';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../runtime/config';
import { AppError } from '../../runtime/errors';
import { createLogger } from '../../runtime/logger';
import { newSigningSecret, signedDelivery, userEvent } from '../../tests/support/clerk-webhook';
import { mountClerkWebhook } from './clerk-webhook';
import { mountVnpayRoutes } from './vnpay-routes';

/** A stand-in subgraph that answers every POST with its name and the path it was sent to. */
async function fakeSubgraph(name: string): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ RspCode: '00', Message: name, outcome: name, path: req.url }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`, server };
}

describe('the relays to subgraphs', () => {
  const signingSecret = newSigningSecret();
  const config = loadConfig('gateway', { CLERK_WEBHOOK_SIGNING_SECRET: signingSecret });
  const log = createLogger('relays-test', 'silent');
  const subgraphs: Server[] = [];
  let gateway: Server;
  let base: string;
  /** What the composition served records now; a missing name is a subgraph not composed. */
  let composed: Record<string, string> = {};
  const subgraphUrl = (name: string): string => {
    const url = composed[name];
    if (!url) throw new AppError('SERVICE_UNAVAILABLE', `Service "${name}" is not composed`);
    return url;
  };

  beforeAll(async () => {
    const app = express();
    app.use((_req, res, next) => {
      res.locals.requestId = 'test';
      next();
    });
    mountClerkWebhook(app, config, log, subgraphUrl);
    mountVnpayRoutes(app, config, log, subgraphUrl);
    gateway = createServer(app);
    await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const server of [gateway, ...subgraphs]) {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  const subgraph = async (name: string) => {
    const { url, server } = await fakeSubgraph(name);
    subgraphs.push(server);
    return url;
  };
  const ipn = async () => (await fetch(`${base}/payments/vnpay/ipn?vnp_TxnRef=x`)).json();
  const webhook = async () => {
    const delivery = signedDelivery(signingSecret, userEvent('user.created', { id: 'user_1' }));
    const res = await fetch(`${base}/webhooks/clerk`, {
      method: 'POST',
      headers: delivery.headers,
      body: delivery.body,
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('follow the subgraph URL of the composition served', async () => {
    composed = { bookings: await subgraph('bookings-1'), users: await subgraph('users-1') };
    expect(await ipn()).toMatchObject({
      Message: 'bookings-1',
      path: '/internal/payments/vnpay/ipn',
    });
    expect(await webhook()).toMatchObject({
      status: 200,
      body: { outcome: 'users-1', path: '/internal/clerk-events' },
    });
    // A reload moves both subgraphs.
    composed = { bookings: await subgraph('bookings-2'), users: await subgraph('users-2') };
    expect(await ipn()).toMatchObject({ Message: 'bookings-2' });
    expect(await webhook()).toMatchObject({ body: { outcome: 'users-2' } });
  });

  it('answer "try again" while the subgraph is not composed', async () => {
    composed = {};
    // VNPay delivers the IPN again on 99; Clerk delivers the event again on a 5xx.
    expect(await ipn()).toEqual({ RspCode: '99', Message: 'Unknown error' });
    expect(await webhook()).toEqual({ status: 503, body: { error: 'Try again later' } });
    const back = await fetch(`${base}/payments/vnpay/return?vnp_TxnRef=x`, { redirect: 'manual' });
    expect(back.status).toBe(302);
    expect(new URL(back.headers.get('location')!).searchParams.get('result')).toBe('unknown');
  });
});
