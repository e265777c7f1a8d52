import { stableUuid } from '../../runtime/ids';
import { foldText } from '../../runtime/text';
import { SeatType as CinemaSeatType } from '../../subgraphs/cinemas/src/cinema/cinema.entity';
import { buildHallSeats, ROW_LABELS } from '../../subgraphs/cinemas/src/cinema/hall-layout';
import { showtimeTimes } from '../../subgraphs/cinemas/src/showtime/showtime.entity';
import {
  DEMO_CINEMAS,
  DEMO_CITIES,
  DEMO_MOVIES,
  DEMO_PRICES,
  DEMO_USERS,
  FORMAT_SURCHARGE,
  type DemoHall,
  type SeatType,
} from './demo-catalogue';

/**
 * The demo data as rows for each subgraph's database, computed from the catalogue and a day.
 * Ids are derived from names, so the plan for one day is the same on every run and every
 * database (seeding is idempotent, and cross-subgraph references agree).
 */

const DAY_MS = 86_400_000;
/** Vietnam has no daylight saving time: UTC+7 all year. */
const VN_OFFSET_MS = 7 * 3_600_000;
export const SHOWTIME_DAYS = 14;
const FIRST_SHOW_HOUR = 9;
const LAST_START_HOUR = 23;

export interface SeatRow {
  id: string;
  hallId: string;
  row: string;
  number: number;
  column: number;
  type: SeatType;
  blocked: boolean;
}

interface Layout {
  rows: number;
  /** Seat columns between aisles, left to right. */
  blocks: number[];
  typeOf(rowIndex: number, rows: number): SeatType;
}

/** Seat layouts of the demo halls: aisles between blocks, VIP rows at the back, couple seats last. */
const LAYOUTS: Record<DemoHall['layout'], Layout> = {
  STANDARD_SMALL: {
    rows: 8,
    blocks: [4, 8],
    typeOf: (r, rows) => (r === rows - 1 ? 'COUPLE' : r >= rows - 4 ? 'VIP' : 'STANDARD'),
  },
  STANDARD_LARGE: {
    rows: 12,
    blocks: [4, 10, 4],
    typeOf: (r, rows) => (r === rows - 1 ? 'COUPLE' : r >= rows - 5 ? 'VIP' : 'STANDARD'),
  },
  IMAX: {
    rows: 14,
    blocks: [5, 12, 5],
    typeOf: (r, rows) => (r === rows - 1 ? 'COUPLE' : r >= rows - 6 ? 'VIP' : 'STANDARD'),
  },
  PREMIUM: { rows: 6, blocks: [4, 4], typeOf: () => 'PREMIUM' },
};

/** A demo layout as the admin's CreateHall would describe it, built by the same code. */
export function hallSeats(hallKey: string, hallId: string, layoutName: DemoHall['layout']) {
  const layout = LAYOUTS[layoutName];
  const columns = layout.blocks.reduce((a, b) => a + b, 0) + layout.blocks.length - 1;
  const aisleColumns: number[] = [];
  layout.blocks.slice(0, -1).reduce((at, width) => {
    aisleColumns.push(at + width + 1);
    return at + width + 1;
  }, 0);
  const rowTypes = Array.from({ length: layout.rows }, (_, r) => ({
    row: ROW_LABELS[r],
    type: layout.typeOf(r, layout.rows) as CinemaSeatType,
  }));
  // Front row: the two outermost seats are wheelchair places; one seat of every large hall
  // is out of service, as in real life.
  const seatOverrides = [
    { row: 'A', column: 1, type: 'ACCESSIBLE' as CinemaSeatType },
    { row: 'A', column: columns, type: 'ACCESSIBLE' as CinemaSeatType },
    ...(layoutName === 'STANDARD_LARGE' ? [{ row: 'C', column: 8, blocked: true }] : []),
  ];
  const seats: SeatRow[] = buildHallSeats(
    { rows: layout.rows, columns, aisleColumns, rowTypes, seatOverrides },
    (row, number) => stableUuid('seat', `${hallKey}:${row}${number}`),
  ).map((seat) => ({ ...seat, hallId, type: seat.type }));
  return { rows: layout.rows, columns, seats };
}

/** The calendar day in Vietnam (YYYY-MM-DD) of an instant. */
export function vietnamDate(instant: Date): string {
  return new Date(instant.getTime() + VN_OFFSET_MS).toISOString().slice(0, 10);
}

function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

const hash = (s: string) => {
  let h = 2166136261;
  for (let i = 0; i < s.length; i += 1) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
};

const roundUpTo5 = (minutes: number) => Math.ceil(minutes / 5) * 5;

export interface ShowtimeRow {
  id: string;
  movieId: string;
  hallId: string;
  startsAt: Date;
  endsAt: Date;
  busyUntil: Date;
  format: '2D' | '3D' | 'IMAX';
  language: string;
  subtitles: string | null;
  priceTable: Partial<Record<SeatType, number>>;
  status: 'SCHEDULED';
}

/**
 * The seats of a demo booking in a hall: two side by side in the middle row, away from the
 * front rows that demos and tests pick first. The same two for a hall on every run, so the
 * seeder can reserve them for bookings made on an earlier day.
 */
export function demoBookingSeats(seats: readonly SeatRow[], hallId: string): SeatRow[] {
  const hall = seats.filter((s) => s.hallId === hallId);
  const rows = [...new Set(hall.map((s) => s.row))].sort(
    (a, b) => ROW_LABELS.indexOf(a) - ROW_LABELS.indexOf(b),
  );
  const middle = hall
    .filter((s) => s.row === rows[Math.floor(rows.length / 2)] && !s.blocked)
    .sort((a, b) => a.column - b.column);
  const centre = middle[Math.floor(middle.length / 2)].column;
  let best: [SeatRow, SeatRow] | undefined;
  for (let i = 1; i < middle.length; i += 1) {
    const pair: [SeatRow, SeatRow] = [middle[i - 1], middle[i]];
    if (pair[1].column - pair[0].column !== 1) continue; // an aisle between them
    const distance = Math.abs(pair[0].column - centre);
    if (!best || distance < Math.abs(best[0].column - centre)) best = pair;
  }
  return best ?? middle.slice(0, 2);
}

export function buildDemoPlan(now: Date = new Date()) {
  const today = vietnamDate(now);
  const movies = DEMO_MOVIES.map((m) => ({
    id: stableUuid('movie', m.key),
    title: m.title,
    originalTitle: m.originalTitle,
    synopsis: m.synopsis,
    durationMinutes: m.durationMinutes,
    ageRating: m.ageRating,
    genres: [...m.genres],
    director: m.director,
    cast: [...m.cast],
    languages: [...m.languages],
    releaseDate: addDays(today, m.releaseOffsetDays),
    posterUrl: m.posterUrl,
    trailerUrl: m.trailerUrl,
    status: m.status,
  }));
  const playing = DEMO_MOVIES.filter((m) => m.status === 'NOW_SHOWING');
  const cityName = new Map(DEMO_CITIES.map((c) => [c.key, c.name]));

  const cinemas = [];
  const halls = [];
  const seats: SeatRow[] = [];
  const showtimes: ShowtimeRow[] = [];
  for (const cinema of DEMO_CINEMAS) {
    const cinemaId = stableUuid('cinema', cinema.key);
    const city = cityName.get(cinema.cityKey) ?? cinema.cityKey;
    cinemas.push({
      id: cinemaId,
      name: cinema.name,
      city,
      cityKey: foldText(city),
      address: cinema.address,
      latitude: cinema.latitude,
      longitude: cinema.longitude,
    });
    for (const hall of cinema.halls) {
      const hallId = stableUuid('hall', hall.key);
      const layout = hallSeats(hall.key, hallId, hall.layout);
      halls.push({
        id: hallId,
        cinemaId,
        name: hall.name,
        rows: layout.rows,
        columns: layout.columns,
        capacity: layout.seats.length,
      });
      seats.push(...layout.seats);
      const basePrices = DEMO_PRICES[cinema.cityKey];
      const hallTypes = new Set(layout.seats.map((s) => s.type));
      for (let day = 0; day < SHOWTIME_DAYS; day += 1) {
        const date = addDays(today, day);
        const dayStart = Date.parse(`${date}T00:00:00Z`) - VN_OFFSET_MS;
        let minute = FIRST_SHOW_HOUR * 60 + (hash(`${hall.key}:${date}`) % 4) * 15;
        for (let slot = 0; minute <= LAST_START_HOUR * 60; slot += 1) {
          const movie = playing[hash(`${hall.key}:${date}:${slot}`) % playing.length];
          const format = hall.formats[slot % hall.formats.length];
          const times = showtimeTimes(new Date(dayStart + minute * 60_000), movie.durationMinutes);
          const language = movie.languages[0] ?? 'Vietnamese';
          const priceTable: Partial<Record<SeatType, number>> = {};
          for (const type of hallTypes)
            priceTable[type] = basePrices[type] + FORMAT_SURCHARGE[format];
          showtimes.push({
            id: stableUuid('showtime', `${hall.key}:${date}:${slot}`),
            movieId: stableUuid('movie', movie.key),
            hallId,
            ...times,
            format,
            language,
            subtitles: language === 'Vietnamese' ? 'English' : 'Vietnamese',
            priceTable,
            status: 'SCHEDULED',
          });
          minute = roundUpTo5((times.busyUntil.getTime() - dayStart) / 60_000);
        }
      }
    }
  }

  const users = DEMO_USERS.map((u) => ({ ...u }));
  // Two confirmed, paid bookings of the demo customer, so `me { bookings }` crosses every
  // subgraph: two seats each, in showtimes two days ahead or more (still to come for a while).
  // The seeder also reserves their seats, so the seat map shows them BOOKED (see seed.ts).
  const upcoming = showtimes.filter((s) => s.startsAt.getTime() >= now.getTime() + 2 * DAY_MS);
  const bookings = [0, 1].map((i) => {
    const showtime = upcoming[i * 97];
    const amount = demoBookingSeats(seats, showtime.hallId).reduce(
      (sum, seat) => sum + showtime.priceTable[seat.type]!,
      0,
    );
    return {
      // Stable: re-seeding on a later day must not add more demo bookings.
      id: stableUuid('booking', `demo-customer:${i}`),
      // Booking codes use Crockford's alphabet (no O): MHDEM00001, MHDEM00002.
      bookingCode: `MHDEM0000${i + 1}`,
      userId: 'demo-customer',
      showtimeId: showtime.id,
      status: 'CONFIRMED' as const,
      paymentStatus: 'PAID' as const,
      subtotal: amount,
      discount: 0,
      pointsUsed: 0,
      pointsDiscount: 0,
      finalAmount: amount,
      promotionCode: null,
      expiresAt: null,
    };
  });
  return { today, movies, cinemas, halls, seats, showtimes, users, bookings };
}

export type DemoPlan = ReturnType<typeof buildDemoPlan>;
