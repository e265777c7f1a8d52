import { randomUUID } from 'node:crypto';
import { In, type DataSource, type EntityManager } from 'typeorm';
import { notFound } from '../../../../runtime/errors';
import { byKeys, groupByKeys } from '../../../../runtime/loaders';
import { DomainError, invalidInput } from '../domain/errors';
import { BookingConcession, Concession, type ConcessionCategory } from './concession.entity';
import { changedRows } from '../sql';

/** At most this many concessions on one cinema's menu (the `concessions` list's bound). */
export const MAX_CONCESSIONS_PER_CINEMA = 200;

export interface ConcessionFields {
  name: string;
  description?: string | null;
  category: ConcessionCategory;
  price: number;
  /** Null: not tracked. */
  stock?: number | null;
  active?: boolean | null;
}

/** A quantity of one concession a booking takes from (or gives back to) the stock. */
export interface StockChange {
  concessionId: string;
  quantity: number;
}

const STOCK_MAX = 1_000_000;
const PRICE_MAX = 10_000_000;

/**
 * Concessions per cinema, with stock where it is tracked. Stock moves only through
 * conditional updates (`stock >= :quantity`), one row at a time in id order (the same order
 * in every transaction, so two bookings never deadlock), and the CHECK (stock >= 0) is the
 * last guard: it never goes below zero, whatever the concurrency.
 */
export class ConcessionService {
  constructor(private readonly dataSource: DataSource) {}

  async byIds(ids: readonly string[], manager?: EntityManager): Promise<(Concession | null)[]> {
    if (ids.length === 0) return [];
    const rows = await (manager ?? this.dataSource.manager)
      .getRepository(Concession)
      .findBy({ id: In([...ids]) });
    return byKeys(ids, rows, (c) => c.id);
  }

  async linesOf(bookingIds: readonly string[]): Promise<BookingConcession[][]> {
    const rows = await this.dataSource
      .getRepository(BookingConcession)
      .find({ where: { bookingId: In([...bookingIds]) }, order: { line: 'ASC' } });
    return groupByKeys(bookingIds, rows, (l) => l.bookingId);
  }

  /** A cinema's menu, by category and name; `includeInactive` for ADMIN's console. */
  async forCinema(cinemaId: string, includeInactive = false): Promise<Concession[]> {
    return this.dataSource.getRepository(Concession).find({
      where: { cinemaId, ...(includeInactive ? {} : { active: true }) },
      order: { category: 'ASC', name: 'ASC', id: 'ASC' },
      take: MAX_CONCESSIONS_PER_CINEMA,
    });
  }

  /** ADMIN: a new item on a cinema's menu. */
  async create(cinemaId: string, fields: ConcessionFields, id: string = randomUUID()) {
    const clean = validateFields(fields);
    const repo = this.dataSource.getRepository(Concession);
    const count = await repo.countBy({ cinemaId });
    if (count >= MAX_CONCESSIONS_PER_CINEMA) {
      throw invalidInput('cinemaId', `A cinema has at most ${MAX_CONCESSIONS_PER_CINEMA} items`);
    }
    try {
      return await repo.save(repo.create({ id, cinemaId, ...clean, active: clean.active ?? true }));
    } catch (err) {
      if ((err as { code?: string }).code === '23505') {
        throw invalidInput('name', `This cinema already sells "${clean.name}"`);
      }
      throw err;
    }
  }

  /** ADMIN: changes an item (absent fields stay; `stock: null` stops tracking it). */
  async update(id: string, patch: Partial<ConcessionFields>): Promise<Concession> {
    return this.dataSource.transaction(async (tx) => {
      const repo = tx.getRepository(Concession);
      const existing = await repo
        .createQueryBuilder('c')
        .where('c.id = :id', { id })
        .setLock('pessimistic_write')
        .getOne();
      if (!existing) throw notFound('Concession', id);
      const merged = validateFields({
        name: patch.name ?? existing.name,
        description: patch.description !== undefined ? patch.description : existing.description,
        category: patch.category ?? existing.category,
        price: patch.price ?? existing.price,
        stock: patch.stock !== undefined ? patch.stock : existing.stock,
        active: patch.active ?? existing.active,
      });
      Object.assign(existing, merged);
      try {
        return await repo.save(existing);
      } catch (err) {
        if ((err as { code?: string }).code === '23505') {
          throw invalidInput('name', `This cinema already sells "${merged.name}"`);
        }
        throw err;
      }
    });
  }

  /** ADMIN: adds `quantity` to a tracked item's stock. */
  async restock(id: string, quantity: number): Promise<Concession> {
    if (!Number.isSafeInteger(quantity) || quantity < 1 || quantity > STOCK_MAX) {
      throw invalidInput('quantity', `quantity must be a whole number from 1 to ${STOCK_MAX}`);
    }
    const rows = await changedRows(
      this.dataSource,
      `UPDATE concessions SET stock = stock + $2, updated_at = now()
        WHERE id = $1 AND stock IS NOT NULL AND stock + $2 <= $3
        RETURNING id`,
      [id, quantity, STOCK_MAX],
    );
    if (rows.length === 0) {
      const existing = await this.dataSource.getRepository(Concession).findOneBy({ id });
      if (!existing) throw notFound('Concession', id);
      if (existing.stock === null) {
        throw invalidInput('id', 'This item is not stock-tracked; set its stock first');
      }
      throw invalidInput('quantity', `Stock is at most ${STOCK_MAX}`);
    }
    return this.dataSource.getRepository(Concession).findOneByOrFail({ id });
  }

  /**
   * Takes the quantities from stock in the booking's transaction, or throws
   * `CONCESSION_OUT_OF_STOCK` (or BAD_USER_INPUT for an item taken off the menu meanwhile).
   */
  async reserve(manager: EntityManager, changes: readonly StockChange[]): Promise<void> {
    for (const { concessionId, quantity } of merged(changes)) {
      const rows = await changedRows(
        manager,
        `UPDATE concessions SET stock = CASE WHEN stock IS NULL THEN NULL ELSE stock - $2 END
          WHERE id = $1 AND active AND (stock IS NULL OR stock >= $2)
          RETURNING id`,
        [concessionId, quantity],
      );
      if (rows.length > 0) continue;
      const [row] = await this.byIds([concessionId], manager);
      if (!row || !row.active) {
        throw invalidInput('concessions', `Concession ${concessionId} is not on the menu`);
      }
      throw new DomainError(
        'CONCESSION_OUT_OF_STOCK',
        `Only ${row.stock ?? 0} of "${row.name}" left (asked for ${quantity})`,
        { field: 'concessions', concessionId },
      );
    }
  }

  /**
   * Takes a booking's quantities from stock again (it was paid after it expired), as
   * `reserve` does: `CONCESSION_OUT_OF_STOCK` when there is no longer enough.
   */
  async retake(manager: EntityManager, bookingId: string): Promise<void> {
    await this.reserve(manager, await this.stockOf(manager, bookingId));
  }

  /** Puts a booking's quantities back (it expired or was cancelled), in that transaction. */
  async giveBack(manager: EntityManager, bookingId: string): Promise<void> {
    const changes = merged(await this.stockOf(manager, bookingId));
    for (const { concessionId, quantity } of changes) {
      await manager.query(
        `UPDATE concessions SET stock = stock + $2 WHERE id = $1 AND stock IS NOT NULL`,
        [concessionId, quantity],
      );
    }
  }

  /** A booking's lines as stock changes. */
  private async stockOf(manager: EntityManager, bookingId: string): Promise<StockChange[]> {
    const lines: { concession_id: string; quantity: number }[] = await manager.query(
      'SELECT concession_id, quantity FROM booking_concessions WHERE booking_id = $1',
      [bookingId],
    );
    return lines.map((l) => ({ concessionId: l.concession_id, quantity: l.quantity }));
  }
}

/** One change per concession, in id order: the lock order every transaction follows. */
function merged(changes: readonly StockChange[]): StockChange[] {
  const sums = new Map<string, number>();
  for (const c of changes) sums.set(c.concessionId, (sums.get(c.concessionId) ?? 0) + c.quantity);
  return [...sums]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([concessionId, quantity]) => ({ concessionId, quantity }));
}

function validateFields<T extends Partial<ConcessionFields>>(fields: T): T {
  let clean = fields;
  if (clean.name !== undefined) {
    const name = clean.name.normalize('NFC').trim();
    if (name.length < 1 || name.length > 100) {
      throw invalidInput('name', 'name must be 1 to 100 characters');
    }
    clean = { ...clean, name };
  }
  if (clean.description !== undefined && clean.description !== null) {
    const description = clean.description.normalize('NFC').trim();
    if (description.length > 500) {
      throw invalidInput('description', 'description must be at most 500 characters');
    }
    clean = { ...clean, description: description || null };
  }
  if (
    clean.price !== undefined &&
    (!Number.isSafeInteger(clean.price) || clean.price < 0 || clean.price > PRICE_MAX)
  ) {
    throw invalidInput('price', `price must be a whole amount of VND from 0 to ${PRICE_MAX}`);
  }
  if (
    clean.stock !== undefined &&
    clean.stock !== null &&
    (!Number.isSafeInteger(clean.stock) || clean.stock < 0 || clean.stock > STOCK_MAX)
  ) {
    throw invalidInput('stock', `stock must be a whole number from 0 to ${STOCK_MAX}, or null`);
  }
  return clean;
}
