import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../runtime/config';
import { generateKeyPair } from './dev-token';
import { localClerk } from './local-clerk';

describe('token verification of the local stack', () => {
  const dir = mkdtempSync(join(tmpdir(), 'moviehub-clerk-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('honours CLERK_JWT_KEY when given, and makes no dev keys', () => {
    const key = generateKeyPair().publicKeyPem;
    const result = localClerk(loadConfig('local', { CLERK_JWT_KEY: key }), dir);
    expect(result).toEqual({ clerk: {} });
  });

  it('otherwise verifies with a local key pair that it keeps across restarts', () => {
    const first = localClerk(loadConfig('local', {}), dir);
    const second = localClerk(loadConfig('local', {}), dir);
    expect(first.clerk.jwtKey).toContain('BEGIN PUBLIC KEY');
    expect(second.devKeys).toEqual(first.devKeys);
  });
});
