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
    const id = '0b6c1d0e-2f4a-4b7c-9d8e-1f2a3b4c5d6e';
    expect(decodeCursor(encodeCursor([1.5, '2026-01-01', id]), ['number', 'date', 'uuid'])).toEqual(
      [1.5, '2026-01-01', id],
    );
    expect(decodeCursor(null, ['uuid'])).toBeNull();
    expect(() => decodeCursor('not-a-cursor', ['uuid'])).toThrow(/cursor/);
    expect(() => decodeCursor(encodeCursor([id]), ['timestamp', 'uuid'])).toThrow(/cursor/);
    // Forged parts of the right arity never reach SQL.
    expect(() => decodeCursor(encodeCursor(['x', 'x', 'x']), ['number', 'date', 'uuid'])).toThrow(
      /cursor/,
    );
    expect(() =>
      decodeCursor(encodeCursor(['2026-01-01T00:00:00.000Z', 'x']), ['timestamp', 'uuid']),
    ).toThrow(/cursor/);
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
