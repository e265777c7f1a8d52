import { batchPerTurn } from './loaders';

describe('batchPerTurn', () => {
  it('reads a key asked for several times in one turn once, and answers every load', async () => {
    const batches: string[][] = [];
    const loader = batchPerTurn((keys: readonly string[]) => {
      batches.push([...keys]);
      return Promise.resolve(keys.map((k) => (k === 'bad' ? new Error('no bad') : `v:${k}`)));
    });
    const loads = await Promise.allSettled(
      ['a', 'b', 'a', 'bad', 'a', 'bad'].map((k) => loader.load(k)),
    );
    expect(batches).toEqual([['a', 'b', 'bad']]);
    expect(
      loads.map((l) => (l.status === 'fulfilled' ? l.value : (l.reason as Error).message)),
    ).toEqual(['v:a', 'v:b', 'v:a', 'no bad', 'v:a', 'no bad']);
  });

  it('caches nothing: a later turn reads again', async () => {
    const batches: string[][] = [];
    const loader = batchPerTurn((keys: readonly string[]) => {
      batches.push([...keys]);
      return Promise.resolve(keys.map((k) => k));
    });
    await loader.load('a');
    await loader.load('a');
    expect(batches).toEqual([['a'], ['a']]);
  });
});
