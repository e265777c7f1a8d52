import { ConfigError, databaseUrlFor, loadConfig, withOverrides } from './config';

describe('loadConfig', () => {
  it('runs with no configuration at all in development', () => {
    const config = loadConfig('gateway', {});
    expect(config.http.port).toBe(4000);
    expect(config.subgraphUrls.movies).toBe('http://localhost:4002/graphql');
    expect(config.introspection).toBe(true);
    expect(Object.isFrozen(config.db)).toBe(true);
  });

  it('takes VNPay’s server address from VNPAY_SERVER_IP, else from the host', () => {
    expect(loadConfig('bookings', { VNPAY_SERVER_IP: '203.0.113.5' }).vnpay.serverIp).toBe(
      '203.0.113.5',
    );
    expect(loadConfig('bookings', { VNPAY_SERVER_IP: '2001:db8::1' }).vnpay.serverIp).toBe(
      '2001:db8::1',
    );
    expect(loadConfig('bookings', {}).vnpay.serverIp).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    for (const bad of ['localhost', '::ffff:10.0.0.1', 'fe80::1%eth0', '10.0.0.1; rm']) {
      expect(() => loadConfig('bookings', { VNPAY_SERVER_IP: bad })).toThrow(/VNPAY_SERVER_IP/);
    }
  });

  it('reports every problem at once', () => {
    let error: ConfigError | undefined;
    try {
      loadConfig('users', { PORT: 'abc', REDIS_URL: 'not a url', INTERNAL_SECRET: 'short' });
    } catch (err) {
      error = err as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.problems).toHaveLength(3);
    expect(error!.message).toMatch(/PORT[\s\S]*REDIS_URL[\s\S]*INTERNAL_SECRET/);
  });

  it('refuses to start in production without its secrets', () => {
    expect(() => loadConfig('gateway', { NODE_ENV: 'production' })).toThrow(
      /INTERNAL_SECRET[\s\S]*REDIS_URL[\s\S]*CLERK_JWT_KEY or CLERK_SECRET_KEY[\s\S]*CLERK_AUTHORIZED_PARTIES[\s\S]*CORS_ORIGINS/,
    );
    expect(() => loadConfig('movies', { NODE_ENV: 'production' })).toThrow(/DATABASE_URL/);
  });

  it('starts in production when everything is there, introspection off', () => {
    const config = loadConfig('gateway', {
      NODE_ENV: 'production',
      INTERNAL_SECRET: 'x'.repeat(32),
      REDIS_URL: 'redis://redis:6379',
      CLERK_JWT_KEY: '-----BEGIN PUBLIC KEY-----',
      CORS_ORIGINS: 'https://a.example, https://b.example',
      CLERK_AUTHORIZED_PARTIES: 'https://a.example',
      USERS_URL: 'http://users:4001/graphql',
    });
    expect(config.introspection).toBe(false);
    expect(config.cors.origins).toEqual(['https://a.example', 'https://b.example']);
    expect(config.subgraphUrls.users).toBe('http://users:4001/graphql');
  });

  describe('Redis Cluster', () => {
    it('turns REDIS_CLUSTER_NODES into a redis+cluster:// URL', () => {
      const config = loadConfig('gateway', {
        REDIS_CLUSTER_NODES: ' redis-0:7000, redis-1:7001,[::1]:7002 ',
      });
      expect(config.redis.url).toBe('redis+cluster://redis-0:7000,redis-1:7001,[::1]:7002');
    });

    it('takes a redis+cluster:// REDIS_URL as it is', () => {
      const url = 'redis+cluster://:secret@10.0.0.1:7000,10.0.0.2:7000';
      expect(loadConfig('users', { REDIS_URL: url }).redis.url).toBe(url);
    });

    it('refuses REDIS_URL and REDIS_CLUSTER_NODES together', () => {
      expect(() =>
        loadConfig('gateway', {
          REDIS_URL: 'redis://redis:6379',
          REDIS_CLUSTER_NODES: 'redis-0:7000',
        }),
      ).toThrow(/REDIS_URL and REDIS_CLUSTER_NODES: both set/);
    });

    it.each([
      'redis-0',
      'redis-0:',
      'redis-0:70000',
      'redis-0:7000,,redis-1:7000',
      'a b:7000',
      ',',
    ])('refuses the node list %p', (nodes) => {
      expect(() => loadConfig('gateway', { REDIS_CLUSTER_NODES: nodes })).toThrow(
        /REDIS_CLUSTER_NODES/,
      );
      expect(() => loadConfig('gateway', { REDIS_URL: `redis+cluster://${nodes}` })).toThrow(
        /REDIS_URL: cluster nodes/,
      );
    });

    it('accepts either in production', () => {
      const production = {
        NODE_ENV: 'production',
        INTERNAL_SECRET: 'x'.repeat(32),
        DATABASE_URL: 'postgres://db/moviehub',
      };
      expect(
        loadConfig('movies', { ...production, REDIS_CLUSTER_NODES: 'redis-0:7000' }).redis.url,
      ).toBe('redis+cluster://redis-0:7000');
      expect(() => loadConfig('movies', production)).toThrow(
        /REDIS_URL: required in production \(or REDIS_CLUSTER_NODES/,
      );
    });

    it('is read by every service', () => {
      for (const service of ['gateway', 'users', 'movies', 'cinemas', 'bookings'] as const) {
        expect(loadConfig(service, { REDIS_CLUSTER_NODES: 'r:1' }).redis.url).toBe(
          'redis+cluster://r:1',
        );
      }
    });
  });

  it('gives each subgraph its own database on the shared server, or its own URL', () => {
    // The seeder (a tool) reads every subgraph's database settings.
    const config = loadConfig('tool', {
      DATABASE_URL: 'postgres://u:p@db:5432/postgres',
      DATABASE_NAME_PREFIX: 'staging_',
      BOOKINGS_DATABASE_URL: 'postgres://u:p@other:5432/bk',
    });
    expect(databaseUrlFor(config, 'cinemas')).toBe('postgres://u:p@db:5432/staging_cinemas');
    expect(databaseUrlFor(config, 'bookings')).toBe('postgres://u:p@other:5432/bk');
    // A subgraph reads only its own database variable.
    const cinemas = loadConfig('cinemas', {
      BOOKINGS_DATABASE_URL: 'postgres://u:p@other:5432/bk',
    });
    expect(cinemas.db.perService.bookings).toBeUndefined();
  });

  it('overrides parts of a configuration without touching the original', () => {
    const base = loadConfig('local', {});
    const other = withOverrides(base, { http: { port: 0 } });
    expect(other.http).toEqual({ host: base.http.host, port: 0 });
    expect(base.http.port).toBe(4000);
  });

  it('reads only the variables of its own service', () => {
    const env = {
      SEAT_HOLD_TTL_SECONDS: 'abc',
      VNPAY_PAY_URL: 'not a url',
      CLERK_AUTHORIZED_PARTIES: 'https://a.example',
    };
    expect(() => loadConfig('movies', env)).not.toThrow();
    expect(() => loadConfig('gateway', env)).not.toThrow();
    expect(() => loadConfig('cinemas', env)).toThrow(/SEAT_HOLD_TTL_SECONDS/);
    expect(() => loadConfig('bookings', env)).toThrow(/VNPAY_PAY_URL/);
    expect(() => loadConfig('local', env)).toThrow(/VNPAY_PAY_URL[\s\S]*SEAT_HOLD_TTL_SECONDS/);
    // What a service does not read keeps its default.
    expect(loadConfig('movies', { SEAT_HOLD_TTL_SECONDS: '30' }).seatHoldTtlSeconds).toBe(600);
    expect(loadConfig('gateway', env).clerk.authorizedParties).toEqual(['https://a.example']);
  });
});
