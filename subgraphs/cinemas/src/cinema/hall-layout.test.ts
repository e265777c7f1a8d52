import { SeatType } from './cinema.entity';
import { buildHallSeats } from './hall-layout';

describe('hall layouts', () => {
  it('numbers seats within each row, skipping aisles and removed positions', () => {
    const seats = buildHallSeats({
      rows: 2,
      columns: 5,
      aisleColumns: [3],
      rowTypes: [{ row: 'B', type: SeatType.VIP }],
      seatOverrides: [
        { row: 'A', column: 1, type: SeatType.ACCESSIBLE },
        { row: 'A', column: 2, removed: true },
        { row: 'B', column: 5, blocked: true },
      ],
    });
    expect(
      seats.map((s) => `${s.row}${s.number}@${s.column}:${s.type[0]}${s.blocked ? '!' : ''}`),
    ).toEqual(['A1@1:A', 'A2@4:S', 'A3@5:S', 'B1@1:V', 'B2@2:V', 'B3@4:V', 'B4@5:V!']);
  });

  it.each([
    [{ rows: 0, columns: 5 }, 'rows'],
    [{ rows: 27, columns: 5 }, 'rows'],
    [{ rows: 2, columns: 61 }, 'columns'],
    [{ rows: 2, columns: 5, aisleColumns: [6] }, 'aisleColumns'],
    [{ rows: 2, columns: 5, rowTypes: [{ row: 'C', type: SeatType.VIP }] }, 'rowTypes'],
    [{ rows: 2, columns: 5, seatOverrides: [{ row: 'A', column: 9 }] }, 'seatOverrides'],
    [{ rows: 1, columns: 1, aisleColumns: [1] }, 'columns'],
  ])('refuses %j naming %s', (spec, field) => {
    expect(() => buildHallSeats(spec)).toThrow(
      expect.objectContaining({
        extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', field }),
      }),
    );
  });
});
