import { loadConfig, withOverrides } from '../../runtime/config';
import { subgraphUrl } from './subgraph-urls';

describe('subgraphUrl: where the gateway reaches a subgraph', () => {
  it('is the URL composition recorded when none is configured for the subgraph', () => {
    expect(subgraphUrl('inventory', 'http://inventory:4010/graphql', {})).toBe(
      'http://inventory:4010/graphql',
    );
    expect(
      subgraphUrl('users', 'http://users.internal/graphql', { movies: 'http://m/graphql' }),
    ).toBe('http://users.internal/graphql');
  });

  it('is the configured URL when there is one, whatever composition recorded', () => {
    expect(
      subgraphUrl('users', 'http://localhost:4001/graphql', { users: 'http://users:4001/graphql' }),
    ).toBe('http://users:4001/graphql');
  });

  it('names the subgraph when neither gives a URL', () => {
    expect(() => subgraphUrl('inventory', undefined, {})).toThrow(
      'The supergraph records no URL for the subgraph "inventory" (join__graph(url:)) and none is configured for it',
    );
    expect(() => subgraphUrl('inventory', '', {})).toThrow('"inventory"');
  });

  it('reads no inherited property as an override', () => {
    expect(subgraphUrl('constructor', 'http://c/graphql', {})).toBe('http://c/graphql');
  });
});

describe('configured subgraph URLs (subgraphUrlOverrides)', () => {
  it('are only the ones set: USERS_URL … BOOKINGS_URL', () => {
    const none = loadConfig('gateway', {});
    expect(none.subgraphUrlOverrides).toEqual({});
    // Subgraphs calling one another still find our four at their default ports.
    expect(none.subgraphUrls.users).toBe('http://localhost:4001/graphql');

    const some = loadConfig('gateway', {
      USERS_URL: 'http://users:4001/graphql',
      CINEMAS_URL: 'http://cinemas:4003/graphql',
      MOVIES_URL: '',
    });
    expect(some.subgraphUrlOverrides).toEqual({
      users: 'http://users:4001/graphql',
      cinemas: 'http://cinemas:4003/graphql',
    });
  });

  it('include the subgraph URLs a stack gives withOverrides', () => {
    const base = loadConfig('gateway', { USERS_URL: 'http://users:4001/graphql' });
    const stack = withOverrides(base, {
      subgraphUrls: { movies: 'http://127.0.0.1:40123/graphql' },
    });
    expect(stack.subgraphUrlOverrides).toEqual({
      users: 'http://users:4001/graphql',
      movies: 'http://127.0.0.1:40123/graphql',
    });
    expect(stack.subgraphUrls.movies).toBe('http://127.0.0.1:40123/graphql');
    expect(withOverrides(base, { http: { port: 0 } }).subgraphUrlOverrides).toEqual({
      users: 'http://users:4001/graphql',
    });
  });
});
