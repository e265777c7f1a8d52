import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../runtime/paths';
import { composition, LiveSupergraph } from './live-supergraph';

const SDL = readFileSync(join(projectRoot(), 'schema', 'supergraph.graphql'), 'utf8');
const origin = { kind: 'url', where: 'http://registry.invalid/supergraph' } as const;

describe('LiveSupergraph', () => {
  it('switches every part to a composition they all accept, and none to one a part refuses', async () => {
    const errors: string[] = [];
    const outcomes: string[] = [];
    const live = new LiveSupergraph(
      composition(SDL, {}),
      {},
      {
        info: () => undefined,
        error: (_fields: unknown, message?: string) => void errors.push(String(message)),
      } as never,
      (outcome) => void outcomes.push(outcome),
    );
    const switched: string[] = [];
    let checks = 0;
    live.follow('picky part', (next) => {
      checks += 1;
      if (next.sdl.includes('# refuse me')) throw new Error('not this one');
      return () => void switched.push(next.hash);
    });

    const refused = `${SDL}\n# refuse me\n`;
    expect(await live.apply(refused, origin)).toBe('rejected');
    expect(errors).toHaveLength(1);
    // Polled again unchanged: refused without building anything again, and said once.
    expect(await live.apply(refused, origin)).toBe('rejected');
    expect(checks).toBe(1);
    expect(errors).toHaveLength(1);
    expect(live.current.sdl).toBe(SDL);
    expect(switched).toEqual([]);

    const accepted = `${SDL}\n# a new comment\n`;
    expect(await live.apply(accepted, origin)).toBe('applied');
    expect(live.current.sdl).toBe(accepted);
    expect(switched).toEqual([live.current.hash]);
    expect(await live.apply(accepted, origin)).toBe('unchanged');
    expect(outcomes).toEqual(['rejected', 'applied']);
  });

  it('refuses a text that is not a supergraph, keeping the current one', async () => {
    const live = new LiveSupergraph(composition(SDL, {}), {}, {
      info: () => undefined,
      error: () => undefined,
    } as never);
    expect(await live.apply('type Query { nope: Int }', origin)).toBe('rejected');
    expect(live.current.sdl).toBe(SDL);
  });
});
