import { randomUUID } from 'node:crypto';
import { badUserInput } from '../../../../runtime/errors';
import { SeatType } from './cinema.entity';

export const ROW_LABELS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

export interface HallLayoutSpec {
  rows: number;
  columns: number;
  aisleColumns?: number[] | null;
  rowTypes?: { row: string; type: SeatType }[] | null;
  seatOverrides?:
    | {
        row: string;
        column: number;
        type?: SeatType | null;
        blocked?: boolean | null;
        removed?: boolean | null;
      }[]
    | null;
}

export interface LayoutSeat {
  id: string;
  row: string;
  number: number;
  column: number;
  type: SeatType;
  blocked: boolean;
}

/**
 * Turns a layout into seats. Seats are numbered from 1 within each row, left to right,
 * skipping aisles and removed positions, so "C7" is what the ticket and the usher say.
 * Every bad part of the layout is a BAD_USER_INPUT naming the field.
 */
export function buildHallSeats(
  spec: HallLayoutSpec,
  seatId: (row: string, number: number) => string = () => randomUUID(),
): LayoutSeat[] {
  if (!Number.isInteger(spec.rows) || spec.rows < 1 || spec.rows > ROW_LABELS.length) {
    throw badUserInput('rows', `rows must be from 1 to ${ROW_LABELS.length}`);
  }
  if (!Number.isInteger(spec.columns) || spec.columns < 1 || spec.columns > 60) {
    throw badUserInput('columns', 'columns must be from 1 to 60');
  }
  const labels = ROW_LABELS.slice(0, spec.rows);
  const aisles = new Set(spec.aisleColumns ?? []);
  for (const c of aisles) {
    if (!Number.isInteger(c) || c < 1 || c > spec.columns) {
      throw badUserInput('aisleColumns', `aisle column ${c} is outside 1..${spec.columns}`);
    }
  }
  const rowType = new Map<string, SeatType>();
  for (const { row, type } of spec.rowTypes ?? []) {
    if (!labels.includes(row) || row.length !== 1) {
      throw badUserInput('rowTypes', `row ${row} is not a row of this hall`);
    }
    rowType.set(row, type);
  }
  const overrides = new Map<string, NonNullable<HallLayoutSpec['seatOverrides']>[number]>();
  for (const o of spec.seatOverrides ?? []) {
    if (
      !labels.includes(o.row) ||
      o.row.length !== 1 ||
      !Number.isInteger(o.column) ||
      o.column < 1 ||
      o.column > spec.columns ||
      aisles.has(o.column)
    ) {
      throw badUserInput(
        'seatOverrides',
        `${o.row}${o.column} is not a seat position of this hall`,
      );
    }
    overrides.set(`${o.row}:${o.column}`, o);
  }

  const seats: LayoutSeat[] = [];
  for (const row of labels) {
    let number = 0;
    for (let column = 1; column <= spec.columns; column += 1) {
      if (aisles.has(column)) continue;
      const o = overrides.get(`${row}:${column}`);
      if (o?.removed) continue;
      number += 1;
      seats.push({
        id: seatId(row, number),
        row,
        number,
        column,
        type: o?.type ?? rowType.get(row) ?? SeatType.STANDARD,
        blocked: o?.blocked ?? false,
      });
    }
  }
  if (seats.length === 0) throw badUserInput('columns', 'a hall needs at least one seat');
  return seats;
}
