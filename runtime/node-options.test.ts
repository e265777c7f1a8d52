import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from './paths';
import { SERVER_NODE_OPTIONS } from './node-options';

const read = (name: string) => readFileSync(join(projectRoot(), name), 'utf8');

describe('SERVER_NODE_OPTIONS', () => {
  it('is what the image sets as NODE_OPTIONS for every container', () => {
    const set = /^ENV NODE_OPTIONS=(?:"([^"]*)"|(\S+))\s*$/m.exec(read('Dockerfile'));
    expect((set?.[1] ?? set?.[2])?.split(/\s+/)).toEqual(SERVER_NODE_OPTIONS);
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
      expect({ name, service }).toEqual({ name, service: expect.stringMatching(/^node /) });
      const flags = service.split(/\s+/).slice(1, 1 + SERVER_NODE_OPTIONS.length);
      expect({ name, flags }).toEqual({ name, flags: SERVER_NODE_OPTIONS });
    }
  });
});
