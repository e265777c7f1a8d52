import { ApolloServer } from '@apollo/server';
import { parse } from 'graphql';
import {
  documentBytes,
  DOCUMENTS_MAX_BYTES,
  documentStore,
  STORED_ENTRY_MAX_BYTES,
  WeighedStore,
} from './document-store';

describe('WeighedStore', () => {
  it('keeps entries within its bytes, least recently used out first', async () => {
    const store = new WeighedStore<string>(10, 6, (value) => value.length);
    await store.set('a', 'aaaa');
    await store.set('b', 'bbbb');
    expect(await store.get('a')).toBe('aaaa'); // a is now the most recently used
    await store.set('c', 'cccc');
    expect(await store.get('b')).toBeUndefined();
    expect([store.size, store.totalBytes]).toEqual([2, 8]);
    expect(await store.delete('a')).toBe(true);
    expect([store.size, store.totalBytes]).toEqual([1, 4]);
  });

  it('keeps no entry over its maximum, and drops what the key held', async () => {
    const store = new WeighedStore<string>(100, 6, (value) => value.length);
    await store.set('a', 'aaaa');
    await store.set('a', 'a'.repeat(7));
    expect(await store.get('a')).toBeUndefined();
    expect(store.totalBytes).toBe(0);
  });
});

describe('the document store', () => {
  it('weighs a document by its text, comments included, which its JSON leaves out', () => {
    const padded = parse(`{ __typename }\n# ${'x'.repeat(100_000)}`);
    expect(JSON.stringify(padded).length).toBeLessThan(1000);
    expect(documentBytes(padded)).toBeGreaterThan(40 * 100_000);
  });

  it('keeps, under Apollo Server, documents within its bytes, and none over the maximum', async () => {
    const store = documentStore();
    const server = new ApolloServer({
      typeDefs: 'type Query { a: Int }',
      resolvers: { Query: { a: () => 1 } },
      documentStore: store,
    });
    await server.start();
    try {
      const run = async (query: string) => {
        const response = await server.executeOperation({ query });
        if (response.body.kind !== 'single') throw new Error('expected a single result');
        return response.body.singleResult;
      };
      // Distinct texts of one operation: 20 KB of comment each, about 1.3 MB once parsed.
      for (let i = 0; i < 60; i++) {
        expect((await run(`{ a }\n# ${'x'.repeat(20_000)} ${i}`)).data).toEqual({ a: 1 });
      }
      expect(store.totalBytes).toBeLessThanOrEqual(DOCUMENTS_MAX_BYTES);
      expect(store.size).toBeGreaterThan(10);
      expect(store.size).toBeLessThan(60);
      // A repeated text is found, not parsed again.
      const size = store.size;
      await run(`{ a }\n# ${'x'.repeat(20_000)} 59`);
      expect(store.size).toBe(size);
      // Over the maximum: answered, never kept.
      const huge = `{ a }\n# ${'x'.repeat(STORED_ENTRY_MAX_BYTES / 32)}`;
      expect((await run(huge)).data).toEqual({ a: 1 });
      expect(store.size).toBe(size);
    } finally {
      await server.stop();
    }
  });
});
