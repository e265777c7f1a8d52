import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from './paths';
import { SERVER_NODE_OPTIONS } from './node-options';

const read = (name: string) => readFileSync(join(projectRoot(), name), 'utf8');

describe('SERVER_NODE_OPTIONS', () => {
  const flags = SERVER_NODE_OPTIONS.join(' ');

  it('is what the image sets as NODE_OPTIONS for every container', () => {
    expect(read('Dockerfile')).toMatch(new RegExp(`^ENV NODE_OPTIONS=${flags}$`, 'm'));
  });

  it('is what npm start and every start:* script give node', () => {
    const { scripts } = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    const starts = Object.entries(scripts).filter(([name]) => /^start(:|$)/.test(name));
    expect(starts.map(([name]) => name)).toEqual(
      expect.arrayContaining(['start', 'start:gateway', 'start:cinemas']),
    );
    for (const [name, command] of starts) {
      const runs = command.split('&&').map((part) => part.trim());
      const service = runs[runs.length - 1];
      expect({ name, service }).toEqual({
        name,
        service: expect.stringMatching(`^node ${flags} dist/`),
      });
    }
  });
});
