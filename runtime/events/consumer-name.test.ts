import { eventConsumerName } from './consumer-name';

describe('eventConsumerName', () => {
  it('is the same for a service on a host at every start (no process id, nothing random)', () => {
    expect(eventConsumerName('movies', 'web-1')).toBe('movies-web-1');
    expect(eventConsumerName('movies', 'web-1')).toBe(eventConsumerName('movies', 'web-1'));
    expect(eventConsumerName('movies')).toBe(eventConsumerName('movies'));
  });

  it('keeps to what Redis client names accept', () => {
    expect(eventConsumerName('cinemas', 'host name/with:odd*chars')).toMatch(/^[\w.-]+$/);
  });
});
