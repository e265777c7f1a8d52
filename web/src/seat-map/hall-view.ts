import { h } from '../dom';
import { t, type MessageKey } from '../i18n';
import type { SeatState } from './seat-states';

export type SeatType = 'STANDARD' | 'VIP' | 'COUPLE' | 'PREMIUM' | 'ACCESSIBLE';

/** A seat where it sits: its row and number, its type, and its column in the layout. */
export interface PlacedSeat {
  readonly seatId: string;
  readonly row: string;
  readonly number: number;
  readonly type: SeatType;
  /** 1-based; a column no seat uses is an aisle. */
  readonly column: number;
}

/** What a seat looks like to this viewer. */
export type SeatLook = 'AVAILABLE' | 'MINE' | 'HELD' | 'BOOKED' | 'BLOCKED';

export const lookOf = (state: SeatState): SeatLook =>
  state.status === 'HELD' && state.heldByMe ? 'MINE' : state.status;

/** "A5". */
export const seatName = (seat: Pick<PlacedSeat, 'row' | 'number'>): string =>
  `${seat.row}${seat.number}`;

/** Row labels in hall order: A…Z, then AA…. */
const rowOrder = (a: string, b: string) => a.length - b.length || a.localeCompare(b);

export interface HallView {
  readonly element: HTMLElement;
  /** Redraws one seat; `busy` while the viewer's hold or release of it is on its way. */
  update(seatId: string, state: SeatState | undefined, busy?: boolean): void;
}

/**
 * The hall as a grid: the screen on top, a row per row label (labelled at both ends), a
 * column per layout column, the aisles left as narrow empty columns. Each seat is a button
 * whose `data-status` is the server's status (`data-mine` when the viewer holds it); colours
 * say the seat type while a seat is free, and the state otherwise (the legend says which).
 */
export function renderHall(
  columns: number,
  seats: readonly PlacedSeat[],
  onSeat: (seatId: string) => void,
): HallView {
  const rows = [...new Set(seats.map((s) => s.row))].sort(rowOrder);
  const used = new Set(seats.map((s) => s.column));
  const grid = h('div', { class: 'hall-grid', role: 'grid', 'aria-label': t('app.title') });
  grid.style.gridTemplateColumns = [
    'var(--row-label)',
    ...Array.from({ length: columns }, (_, i) =>
      used.has(i + 1) ? 'var(--seat)' : 'var(--aisle)',
    ),
    'var(--row-label)',
  ].join(' ');

  rows.forEach((row, index) => {
    for (const column of [1, columns + 2]) {
      const label = h('span', { class: 'row-label', 'aria-hidden': 'true' }, row);
      label.style.gridRow = String(index + 1);
      label.style.gridColumn = String(column);
      grid.append(label);
    }
  });

  const buttons = new Map<string, HTMLButtonElement>();
  const byId = new Map(seats.map((s) => [s.seatId, s]));
  for (const seat of seats) {
    const element = h(
      'button',
      {
        type: 'button',
        class: `seat type-${seat.type.toLowerCase()}`,
        'data-seat-id': seat.seatId,
        'data-seat': seatName(seat),
      },
      h('span', { class: 'seat-number' }, seat.number),
    );
    element.style.gridRow = String(rows.indexOf(seat.row) + 1);
    element.style.gridColumn = String(seat.column + 1);
    element.addEventListener('click', () => onSeat(seat.seatId));
    buttons.set(seat.seatId, element);
    grid.append(element);
  }

  const update = (seatId: string, state: SeatState | undefined, busy = false) => {
    const element = buttons.get(seatId);
    const seat = byId.get(seatId);
    if (!element || !seat) return;
    const look: SeatLook = state ? lookOf(state) : 'BLOCKED';
    element.dataset.status = state?.status ?? 'BLOCKED';
    element.toggleAttribute('data-mine', look === 'MINE');
    element.setAttribute('aria-busy', String(busy));
    element.setAttribute('aria-pressed', String(look === 'MINE'));
    element.disabled = busy || (look !== 'AVAILABLE' && look !== 'MINE');
    const label = t('seat.label', {
      seat: seatName(seat),
      type: t(`seat.type.${seat.type}` as MessageKey),
      state: t(`seat.state.${look}` as MessageKey),
    });
    element.title = label;
    element.setAttribute('aria-label', label);
  };

  const screen = h('div', { class: 'screen' }, h('span', {}, t('seat.screen')));
  const element = h('div', { class: 'hall' }, screen, h('div', { class: 'hall-scroll' }, grid));
  return { element, update };
}
