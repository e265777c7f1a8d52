import { In, type DataSource, type EntityManager } from 'typeorm';
import { decodeCursor, toConnection, type Connection } from '../../../../runtime/pagination';
import { DomainError } from '../domain/errors';
import {
  availablePoints,
  ledgerEntry,
  nextExpiry,
  pointsToExpire,
  tierFor,
  type LedgerEntry,
  type LedgerEntryType,
} from '../domain/loyalty';
import { emptyAccount, LoyaltyAccount, LoyaltyTransaction, toLedgerEntry } from './loyalty.entity';

/**
 * The points ledger. Every change appends rows to `loyalty_transactions` and moves
 * `loyalty_accounts.points` by the same amount under the account's row lock (`FOR UPDATE`),
 * in the caller's transaction: the balance is always the ledger's sum, and two bookings of
 * one customer can never spend the same points.
 *
 * The write methods take the caller's `EntityManager` (they are steps of a booking's
 * transaction: a redemption commits with its booking, a return with its cancellation); only
 * the booking engine calls them, never a resolver: no client can add points.
 */
export class LoyaltyService {
  constructor(private readonly dataSource: DataSource) {}

  /** Accounts of several users; a user without a row has the empty BRONZE account. */
  async accountsFor(userIds: readonly string[]): Promise<LoyaltyAccount[]> {
    const rows = await this.dataSource
      .getRepository(LoyaltyAccount)
      .findBy({ userId: In([...userIds]) });
    const map = new Map(rows.map((a) => [a.userId, a]));
    return userIds.map((id) => map.get(id) ?? emptyAccount(id));
  }

  /** A user's ledger, newest first (stable: ties broken by id). */
  async transactions(
    userId: string,
    first: number,
    after?: string | null,
  ): Promise<Connection<LoyaltyTransaction>> {
    const repo = this.dataSource.getRepository(LoyaltyTransaction);
    const qb = repo.createQueryBuilder('t').where('t.user_id = :userId', { userId });
    const totalCount = await qb.clone().getCount();
    const cursor = decodeCursor(after, ['number']);
    if (cursor) qb.andWhere('t.id < :id', { id: cursor[0] });
    const rows = await qb
      .orderBy('t.id', 'DESC')
      .limit(first + 1)
      .getMany();
    return toConnection(rows, first, totalCount, (t) => [Number(t.id)]);
  }

  /**
   * The points a user may spend at `now` (the balance less points already past their expiry),
   * without a lock: for an early answer; {@link redeem} checks again under the lock.
   */
  async available(userId: string, now: Date, manager?: EntityManager): Promise<number> {
    return availablePoints(await this.ledger(manager ?? this.dataSource.manager, userId), now);
  }

  /**
   * Spends `points` on a booking (a REDEEM entry), or `INSUFFICIENT_POINTS` when fewer are
   * available now (points past their expiry do not count). The caller checked the other
   * redemption rules (at least 100, at most 50% of the amount) with `redeemPoints`.
   */
  async redeem(
    manager: EntityManager,
    userId: string,
    points: number,
    bookingId: string,
    now: Date,
  ): Promise<void> {
    const account = await this.lock(manager, userId);
    const ledger = await this.ledger(manager, userId);
    const available = availablePoints(ledger, now);
    if (available < points) {
      throw new DomainError(
        'INSUFFICIENT_POINTS',
        `Only ${available} points are available (asked for ${points})`,
        { reason: 'OVER_BALANCE' },
      );
    }
    await this.append(manager, account, ledger, [
      {
        entry: ledgerEntry('REDEEM', points, now, bookingId),
        description: 'Redeemed on a booking',
      },
    ]);
  }

  /**
   * Gives a cancelled or expired booking's redeemed points back (a RETURN entry): they go
   * back to the lots they came from, with their original expiry (domain/loyalty.ts).
   */
  async giveBack(
    manager: EntityManager,
    userId: string,
    points: number,
    bookingId: string,
    now: Date,
    why: string,
  ): Promise<void> {
    if (points <= 0) return;
    const account = await this.lock(manager, userId);
    const ledger = await this.ledger(manager, userId);
    await this.append(manager, account, ledger, [
      { entry: ledgerEntry('RETURN', points, now, bookingId), description: why },
    ]);
  }

  /**
   * A completed booking: `points` earned (an EARN lot that expires 12 months later), the
   * amount added to the total spent, the tier recomputed from it.
   */
  async earn(
    manager: EntityManager,
    userId: string,
    input: { points: number; amountSpent: number; bookingId: string; now: Date },
  ): Promise<void> {
    const account = await this.lock(manager, userId);
    account.totalSpent += input.amountSpent;
    account.tier = tierFor(account.totalSpent) as LoyaltyAccount['tier'];
    const ledger = await this.ledger(manager, userId);
    const entries =
      input.points > 0
        ? [
            {
              entry: ledgerEntry('EARN', input.points, input.now, input.bookingId),
              description: 'Earned by a completed booking',
            },
          ]
        : [];
    await this.append(manager, account, ledger, entries);
  }

  /**
   * Points given outside a booking (the demo data's welcome balance): an EARN lot like any
   * other. Only server code calls this; it is not reachable from any resolver.
   */
  async grant(
    manager: EntityManager,
    userId: string,
    points: number,
    now: Date,
    description: string,
  ): Promise<void> {
    const account = await this.lock(manager, userId);
    const ledger = await this.ledger(manager, userId);
    await this.append(manager, account, ledger, [
      { entry: ledgerEntry('EARN', points, now), description },
    ]);
  }

  /**
   * The expiry job's step for one account: one EXPIRE entry of everything past its expiry at
   * `now` (FIFO, domain/loyalty.ts). Under the row lock, and the entry makes a second run at
   * the same `now` expire nothing: instances racing, or a restart, never expire twice.
   * Returns the points expired.
   */
  async expireDue(manager: EntityManager, userId: string, now: Date): Promise<number> {
    const account = await this.lock(manager, userId);
    const ledger = await this.ledger(manager, userId);
    const due = pointsToExpire(ledger, now).points;
    await this.append(
      manager,
      account,
      ledger,
      due > 0
        ? [
            {
              entry: ledgerEntry('EXPIRE', due, now),
              description: 'Expired 12 months after earning',
            },
          ]
        : [],
    );
    return due;
  }

  /**
   * Accounts whose next expiry is due at `now`, locked for this transaction; those another
   * instance is working on are skipped (`SKIP LOCKED`), not waited for.
   */
  async lockDueForExpiry(manager: EntityManager, now: Date, limit: number): Promise<string[]> {
    const rows: { user_id: string }[] = await manager.query(
      `SELECT user_id FROM loyalty_accounts
        WHERE next_expiry_at <= $1
        ORDER BY next_expiry_at
        LIMIT $2
        FOR UPDATE SKIP LOCKED`,
      [now, limit],
    );
    return rows.map((r) => r.user_id);
  }

  /** The account's row, created when missing, locked for the rest of the transaction. */
  private async lock(manager: EntityManager, userId: string): Promise<LoyaltyAccount> {
    await manager.query(
      'INSERT INTO loyalty_accounts (user_id) VALUES ($1) ON CONFLICT (user_id) DO NOTHING',
      [userId],
    );
    const account = await manager
      .getRepository(LoyaltyAccount)
      .createQueryBuilder('a')
      .where('a.user_id = :userId', { userId })
      .setLock('pessimistic_write')
      .getOneOrFail();
    return account;
  }

  private async ledger(manager: EntityManager, userId: string): Promise<LedgerEntry[]> {
    const rows = await manager
      .getRepository(LoyaltyTransaction)
      .createQueryBuilder('t')
      .where('t.user_id = :userId', { userId })
      .orderBy('t.at', 'ASC')
      .addOrderBy('t.id', 'ASC')
      .getMany();
    return rows.map(toLedgerEntry);
  }

  /** Appends entries and moves the balance, the tier, the total and the next expiry with them. */
  private async append(
    manager: EntityManager,
    account: LoyaltyAccount,
    ledger: LedgerEntry[],
    entries: { entry: LedgerEntry; description: string }[],
  ): Promise<void> {
    for (const { entry, description } of entries) {
      await manager.query(
        `INSERT INTO loyalty_transactions (user_id, type, points, booking_id, description, at)
         VALUES ($1, $2, $3, $4, $5, $6)`,
        [
          account.userId,
          entry.type satisfies LedgerEntryType,
          entry.points,
          entry.bookingId ?? null,
          description,
          entry.at,
        ],
      );
    }
    const after = [...ledger, ...entries.map((e) => e.entry)];
    const delta = entries.reduce((sum, e) => sum + e.entry.points, 0);
    await manager.query(
      `UPDATE loyalty_accounts
          SET points = points + $2, tier = $3, total_spent = $4, next_expiry_at = $5,
              updated_at = now()
        WHERE user_id = $1`,
      [account.userId, delta, account.tier, account.totalSpent, nextExpiry(after)],
    );
  }
}
