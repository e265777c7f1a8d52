import { decodeCursor, encodeCursor, pageSize, toConnection } from './pagination';

describe('cursor pagination', () => {
  it('accepts page sizes 1..100 and defaults to 20', () => {
    expect(pageSize(undefined)).toBe(20);
    expect(pageSize(100)).toBe(100);
    for (const bad of [0, -1, 101, 2.5]) {
      expect(() => pageSize(bad)).toThrow(
        expect.objectContaining({
          extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', field: 'first' }),
        }),
      );
    }
  });

  it('round-trips cursors and refuses foreign ones', () => {
    expect(decodeCursor(encodeCursor(['2026-01-01', 'id-1']), 2)).toEqual(['2026-01-01', 'id-1']);
    expect(decodeCursor(null, 2)).toBeNull();
    expect(() => decodeCursor('not-a-cursor', 2)).toThrow(/cursor/);
    expect(() => decodeCursor(encodeCursor(['only-one']), 2)).toThrow(/cursor/);
  });

  it('uses the extra row only to tell that a next page exists', () => {
    const page = toConnection([1, 2, 3], 2, 10, (n) => [n]);
    expect(page.edges.map((e) => e.node)).toEqual([1, 2]);
    expect(page.pageInfo).toEqual({ hasNextPage: true, endCursor: encodeCursor([2]) });
    expect(toConnection([], 2, 0, (n: number) => [n]).pageInfo).toEqual({
      hasNextPage: false,
      endCursor: null,
    });
  });
});
