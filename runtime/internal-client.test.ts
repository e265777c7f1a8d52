import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AppError } from './errors';
import { ANONYMOUS } from './identity';
import { callInternal } from './internal-client';

describe('callInternal', () => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    // A service whose answer is cut short: a 200 whose body is not JSON.
    server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"verified": tr');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/internal/x`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('says the service is unavailable when its answer cannot be read, never a bare error', async () => {
    const call = callInternal('users', url, {}, { identity: ANONYMOUS, secret: 's'.repeat(32) });
    await expect(call).rejects.toBeInstanceOf(AppError);
    await expect(call).rejects.toMatchObject({
      extensions: { code: 'SERVICE_UNAVAILABLE', serviceName: 'users' },
    });
  });
});
