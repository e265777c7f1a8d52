// What no route answers, and errors no route handles, get coded JSON from every service:
// never Express's HTML page (with a stack outside production).
import { gzipSync } from 'node:zlib';
import { startTestStack, type TestStack } from '../support/test-stack';

describe('HTTP answers outside the routes', () => {
  let t: TestStack;
  beforeAll(async () => {
    t = await startTestStack();
  });
  afterAll(async () => {
    await t?.stop();
  });

  const at = (path: string) => new URL(path, t.gatewayUrl).toString();
  const codeOf = async (res: Response) => {
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await res.json()) as { errors: Array<{ extensions: { code: string } }> };
    return body.errors[0].extensions.code;
  };

  it('answers an unknown route NOT_FOUND (404), at the gateway and at a subgraph', async () => {
    const gateway = await fetch(at('/nonexistent'));
    expect(gateway.status).toBe(404);
    expect(await codeOf(gateway)).toBe('NOT_FOUND');
    const wrongMethod = await fetch(at('/payments/vnpay/ipn'), { method: 'POST' });
    expect(wrongMethod.status).toBe(404);
    expect(await codeOf(wrongMethod)).toBe('NOT_FOUND');
    const subgraph = await fetch(new URL('/nonexistent', t.stack.subgraphs.cinemas.url));
    expect(subgraph.status).toBe(404);
    expect(await codeOf(subgraph)).toBe('NOT_FOUND');
  });

  it('answers what a route could not read BAD_REQUEST or PAYLOAD_TOO_LARGE, as JSON', async () => {
    const undecodable = await fetch(at('/app/%ZZ'));
    expect(undecodable.status).toBe(400);
    expect(await codeOf(undecodable)).toBe('BAD_REQUEST');
    const badGzip = await fetch(at('/webhooks/clerk'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: 'not gzip',
    });
    expect(badGzip.status).toBe(400);
    expect(await codeOf(badGzip)).toBe('BAD_REQUEST');
    const tooLarge = await fetch(at('/webhooks/clerk'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: gzipSync(Buffer.alloc(600 * 1024, 'a')),
    });
    expect(tooLarge.status).toBe(413);
    expect(await codeOf(tooLarge)).toBe('PAYLOAD_TOO_LARGE');
  });

  it('shows the payment result page for any result, prototype names included', async () => {
    for (const result of ['constructor', '__proto__', 'toString', 'success']) {
      const page = await fetch(at(`/payment/result?result=${result}`));
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<h1>');
    }
  });
});
