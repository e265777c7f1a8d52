import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { freePort } from './stack';

const RANGE = '/proc/sys/net/ipv4/ip_local_port_range';

describe('freePort', () => {
  (existsSync(RANGE) ? it : it.skip)(
    'picks a port outside the range outgoing connections take theirs from, free to listen on',
    async () => {
      const [first] = readFileSync(RANGE, 'utf8').trim().split(/\s+/).map(Number);
      for (let i = 0; i < 5; i++) {
        const port = await freePort();
        expect(port).toBeGreaterThanOrEqual(10_000);
        expect(port).toBeLessThan(first);
        const server = createServer();
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(port, resolve);
        });
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    },
  );
});
