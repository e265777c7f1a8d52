import { SeatStates, type SeatState } from '../../web/src/seat-map/seat-states';

/** The page's seat states alone (no browser): versions, gaps, and its own answers racing events. */
const free = (seatId: string): SeatState => ({ seatId, status: 'AVAILABLE', heldByMe: false });
const held = (seatId: string, heldByMe = false): SeatState => ({
  seatId,
  status: 'HELD',
  heldByMe,
});

describe("the seat map page's seat states", () => {
  it('applies the next version, ignores old news, and reports a skipped version as a gap', () => {
    const states = new SeatStates();
    expect(states.apply({ version: 1, seats: [held('a')] })).toBe('gap');
    expect(states.reset(4, [free('a'), free('b')])).toEqual(['a', 'b']);

    expect(states.apply({ version: 4, seats: [held('a')] })).toBe('old');
    expect(states.apply({ version: 5, seats: [held('a')] })).toBe('applied');
    expect(states.get('a')).toEqual(held('a'));
    expect(states.version).toBe(5);

    // Version 6 went missing: 7 is not applied, the page refetches.
    expect(states.apply({ version: 7, seats: [held('b')] })).toBe('gap');
    expect(states.get('b')).toEqual(free('b'));
    expect(states.version).toBe(5);

    expect(states.reset(7, [held('a'), held('b')])).toEqual(['b']);
    expect(states.apply({ version: 8, seats: [free('a')] })).toBe('applied');
  });

  it("keeps an event's newer state over the answer to the viewer's own hold that it overtook", () => {
    const states = new SeatStates();
    states.reset(10, [free('a'), free('b')]);
    const sentAt = states.version;
    // Released by the viewer, and at once held by someone else: that event came first.
    expect(states.apply({ version: 11, seats: [held('a')] })).toBe('applied');
    expect(states.patch(sentAt, [free('a'), held('b', true)])).toEqual(['b']);
    expect(states.get('a')).toEqual(held('a'));
    expect(states.get('b')).toEqual(held('b', true));
    expect(states.mine()).toEqual([held('b', true)]);
  });
});
