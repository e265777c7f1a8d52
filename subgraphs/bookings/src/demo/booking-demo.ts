import type { DataSource } from 'typeorm';
import { deriveKey } from '../../../../runtime/identity';
import { stableUuid } from '../../../../runtime/ids';
import { Concession, ConcessionCategory } from '../concession/concession.entity';
import { isBookingCode } from '../domain/booking-code';
import { parsePromotionInput, type PromotionInput } from '../domain/promotion';
import { LoyaltyService } from '../loyalty/loyalty.service';
import { Promotion } from '../promotion/promotion.entity';
import { TicketService } from '../ticket/ticket.service';

/** Every cinema's menu in the demo: name, category, price (VND), stock (null: not tracked). */
const DEMO_MENU: readonly {
  key: string;
  name: string;
  description: string;
  category: ConcessionCategory;
  price: number;
  stock: number | null;
}[] = [
  {
    key: 'popcorn',
    name: 'Bắp rang bơ (lớn)',
    description: 'Large buttered popcorn',
    category: ConcessionCategory.POPCORN,
    price: 59_000,
    stock: 200,
  },
  {
    key: 'caramel',
    name: 'Bắp caramel (lớn)',
    description: 'Large caramel popcorn',
    category: ConcessionCategory.POPCORN,
    price: 69_000,
    stock: 150,
  },
  {
    key: 'drink',
    name: 'Nước ngọt (lớn)',
    description: 'Large soft drink',
    category: ConcessionCategory.DRINK,
    price: 39_000,
    stock: null,
  },
  {
    key: 'combo',
    name: 'Combo 1 bắp 2 nước',
    description: 'One large popcorn and two large drinks',
    category: ConcessionCategory.COMBO,
    price: 119_000,
    stock: 100,
  },
  {
    key: 'hotdog',
    name: 'Xúc xích',
    description: 'Hot dog',
    category: ConcessionCategory.SNACK,
    price: 45_000,
    stock: 40,
  },
];

const DAY_MS = 86_400_000;

/** The demo promotions (valid for a year from the first seeding). */
function demoPromotions(now: Date): (PromotionInput & { description: string })[] {
  const validFrom = new Date(now.getTime() - DAY_MS);
  const validTo = new Date(now.getTime() + 365 * DAY_MS);
  return [
    {
      code: 'WELCOME10',
      description: '10% off your first booking, up to 50,000 VND',
      type: 'PERCENTAGE',
      value: 10,
      maxDiscount: 50_000,
      usagePerUser: 1,
      validFrom,
      validTo,
    },
    {
      code: 'WEEKDAY30K',
      description: '30,000 VND off from 200,000 VND, Monday to Thursday',
      type: 'FIXED_AMOUNT',
      value: 30_000,
      minPurchase: 200_000,
      daysOfWeek: ['MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY'],
      usageLimit: 1_000,
      validFrom,
      validTo,
    },
    {
      code: 'BONUS50',
      description: '50 bonus loyalty points when the showtime is over',
      type: 'POINTS',
      value: 50,
      validFrom,
      validTo,
    },
  ];
}

/** The demo customer's welcome balance, earned through the ledger like any points. */
export const DEMO_WELCOME_POINTS = 500;

/**
 * The booking engine's demo data, for the seed: every cinema's menu (with stock), three
 * promotions (WELCOME10, WEEKDAY30K, BONUS50) and a loyalty balance for `loyaltyUserId`,
 * written through the ledger (an EARN entry), so balance and ledger agree.
 *
 * Idempotent, like the rest of the seed: ids derive from stable names, rows that exist are
 * left alone (an ADMIN's edits survive a restart), and the balance is granted only to an
 * account without a ledger. Returns how many rows it added.
 */
export async function seedBookingDemo(
  dataSource: DataSource,
  input: {
    cinemaIds: readonly string[];
    loyaltyUserId: string;
    now?: Date;
    /**
     * Tickets for the demo's CONFIRMED bookings (made by the seed without the engine), so
     * that `booking { tickets { qrCode } }` shows something: issued with the ticket key of
     * `internalSecret`, for bookings that have none yet.
     */
    tickets?: { internalSecret: string; bookings: readonly DemoBookingSeats[] };
  },
): Promise<{ concessions: number; promotions: number; loyaltyPoints: number; tickets: number }> {
  const now = input.now ?? new Date();
  const concessions = input.cinemaIds.flatMap((cinemaId) =>
    DEMO_MENU.map(({ key, ...item }) => ({
      id: stableUuid('concession', `${cinemaId}:${key}`),
      cinemaId,
      ...item,
      active: true,
    })),
  );
  const addedConcessions = await dataSource
    .createQueryBuilder()
    .insert()
    .into(Concession)
    .values(concessions)
    .orIgnore()
    .returning('id')
    .execute();

  const promotions = demoPromotions(now).map(({ description, ...promotion }) => {
    const rule = parsePromotionInput(promotion);
    return {
      id: stableUuid('promotion', rule.code),
      ...rule,
      movieIds: null,
      cinemaIds: null,
      daysOfWeek: rule.daysOfWeek ? [...rule.daysOfWeek] : null,
      description,
      usedCount: 0,
    };
  });
  const addedPromotions = await dataSource
    .createQueryBuilder()
    .insert()
    .into(Promotion)
    .values(promotions as Partial<Promotion>[])
    .orIgnore()
    .returning('id')
    .execute();

  const loyaltyPoints = await dataSource.transaction(async (manager) => {
    // The lock serialises two seeds racing; an account with any history is left alone.
    await manager.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
      `demo-loyalty:${input.loyaltyUserId}`,
    ]);
    const [{ entries }] = await manager.query<{ entries: number }[]>(
      'SELECT count(*)::int AS entries FROM loyalty_transactions WHERE user_id = $1',
      [input.loyaltyUserId],
    );
    if (entries > 0) return 0;
    await new LoyaltyService(dataSource).grant(
      manager,
      input.loyaltyUserId,
      DEMO_WELCOME_POINTS,
      now,
      'Welcome points (demo)',
    );
    return DEMO_WELCOME_POINTS;
  });

  let tickets = 0;
  if (input.tickets) {
    const service = new TicketService(
      dataSource,
      deriveKey(input.tickets.internalSecret, 'ticket'),
    );
    for (const { bookingId, seats } of input.tickets.bookings) {
      tickets += await dataSource.transaction(async (manager) => {
        const [booking] = await manager.query<
          { id: string; booking_code: string; user_id: string }[]
        >(
          `SELECT id, booking_code, user_id FROM bookings
            WHERE id = $1 AND status = 'CONFIRMED'
              AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.booking_id = bookings.id)
            FOR UPDATE`,
          [bookingId],
        );
        // A code outside the booking-code alphabet (Crockford: no O) cannot head a ticket code.
        if (!booking || !isBookingCode(booking.booking_code)) return 0;
        await service.createForBooking(
          manager,
          { id: booking.id, bookingCode: booking.booking_code, userId: booking.user_id },
          seats.map(({ price, ...seat }) => ({ seat, price })),
        );
        await service.issue(manager, booking.id, now);
        return seats.length;
      });
    }
  }

  return {
    concessions: (addedConcessions.raw as unknown[]).length,
    promotions: (addedPromotions.raw as unknown[]).length,
    loyaltyPoints,
    tickets,
  };
}

/** A demo booking's seats, as the seed knows them. */
export interface DemoBookingSeats {
  bookingId: string;
  seats: readonly {
    seatId: string;
    row: string;
    number: number;
    seatType: string;
    price: number;
  }[];
}
