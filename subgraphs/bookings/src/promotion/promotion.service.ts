import { randomUUID } from 'node:crypto';
import { In, type DataSource, type EntityManager } from 'typeorm';
import { notFound } from '../../../../runtime/errors';
import { byKeys } from '../../../../runtime/loaders';
import { decodeCursor, toConnection, type Connection } from '../../../../runtime/pagination';
import {
  applyPromotionPatch,
  normalizePromotionCode,
  parsePromotionInput,
  promotionInvalid,
  type PromotionInput,
  type PromotionPatch,
  type PromotionRule,
} from '../domain/promotion';
import { invalidInput } from '../domain/errors';
import { Concession } from '../concession/concession.entity';
import { Promotion, toRule } from './promotion.entity';
import { changedRows } from '../sql';

/** How many uses a promotion has so far, overall and by one user. */
export interface PromotionUsage {
  total: number;
  byUser: number;
}

/**
 * Promotions: the ADMIN's catalogue, and the atomic reservation of one use by a booking.
 *
 * A use is counted from the moment a PENDING booking takes it (`used_count` and the user's
 * `promotion_user_usage` row, both with conditional increments under their row locks, in the
 * booking's transaction), so N concurrent bookings against a limit of L get exactly L uses.
 * It becomes final when the booking is confirmed and is given back (the counts decremented
 * in the transaction that moves the booking) when it expires or is cancelled.
 */
export class PromotionService {
  constructor(private readonly dataSource: DataSource) {}

  async byIds(ids: readonly string[]): Promise<(Promotion | null)[]> {
    const rows = await this.dataSource.getRepository(Promotion).findBy({ id: In([...ids]) });
    return byKeys(ids, rows, (p) => p.id);
  }

  /** The promotion customers know by this code (case and spaces ignored), or null. */
  async byCode(code: string, manager?: EntityManager): Promise<Promotion | null> {
    return (manager ?? this.dataSource.manager)
      .getRepository(Promotion)
      .findOneBy({ code: normalizePromotionCode(code) });
  }

  /** Uses so far (reserved and final), overall and by `userId`. */
  async usage(
    promotion: Promotion,
    userId: string,
    manager?: EntityManager,
  ): Promise<PromotionUsage> {
    const rows: { used_count: number }[] = await (manager ?? this.dataSource.manager).query(
      'SELECT used_count FROM promotion_user_usage WHERE promotion_id = $1 AND user_id = $2',
      [promotion.id, userId],
    );
    return { total: promotion.usedCount, byUser: rows[0]?.used_count ?? 0 };
  }

  /** ADMIN's list, newest first; `active` filters when given. */
  async list(
    first: number,
    after: string | null | undefined,
    active: boolean | null | undefined,
  ): Promise<Connection<Promotion>> {
    const qb = this.dataSource.getRepository(Promotion).createQueryBuilder('p');
    if (active !== null && active !== undefined) qb.where('p.active = :active', { active });
    const totalCount = await qb.clone().getCount();
    const cursor = decodeCursor(after, ['timestamp', 'uuid']);
    if (cursor) {
      qb.andWhere('(p.created_at, p.id) < (:ca, :cid)', { ca: cursor[0], cid: cursor[1] });
    }
    const rows = await qb
      .orderBy('p.created_at', 'DESC')
      .addOrderBy('p.id', 'DESC')
      .limit(first + 1)
      .getMany();
    return toConnection(rows, first, totalCount, (p) => [p.createdAt.toISOString(), p.id]);
  }

  /** ADMIN: a new promotion (every problem of the input reported at once). */
  async create(input: PromotionInput & { description?: string | null }): Promise<Promotion> {
    const rule = parsePromotionInput(input);
    return this.dataSource.transaction(async (tx) => {
      await this.checkFreeItem(tx, rule);
      const taken = await tx.getRepository(Promotion).existsBy({ code: rule.code });
      if (taken) throw invalidInput('code', `A promotion with code ${rule.code} already exists`);
      const promotion = tx.getRepository(Promotion).create({
        id: randomUUID(),
        ...rule,
        movieIds: rule.movieIds ? [...rule.movieIds] : null,
        cinemaIds: rule.cinemaIds ? [...rule.cinemaIds] : null,
        daysOfWeek: rule.daysOfWeek ? [...rule.daysOfWeek] : null,
        description: input.description ?? null,
        usedCount: 0,
      } as Partial<Promotion>);
      try {
        return await tx.getRepository(Promotion).save(promotion);
      } catch (err) {
        // Two admins creating the same code at once: the UNIQUE index decides.
        if ((err as { code?: string }).code === '23505') {
          throw invalidInput('code', `A promotion with code ${rule.code} already exists`);
        }
        throw err;
      }
    });
  }

  /**
   * ADMIN: changes a promotion (the code stays: customers were given it). Validated as a
   * whole; lowering a limit under the uses so far only stops new uses.
   */
  async update(
    id: string,
    patch: PromotionPatch & { description?: string | null },
  ): Promise<Promotion> {
    return this.dataSource.transaction(async (tx) => {
      const repo = tx.getRepository(Promotion);
      const existing = await repo
        .createQueryBuilder('p')
        .where('p.id = :id', { id })
        .setLock('pessimistic_write')
        .getOne();
      if (!existing) throw notFound('Promotion', id);
      const { description, ...rulePatch } = patch;
      const rule = applyPromotionPatch(toRule(existing), rulePatch);
      await this.checkFreeItem(tx, rule);
      Object.assign(existing, {
        ...rule,
        movieIds: rule.movieIds ? [...rule.movieIds] : null,
        cinemaIds: rule.cinemaIds ? [...rule.cinemaIds] : null,
        daysOfWeek: rule.daysOfWeek ? [...rule.daysOfWeek] : null,
        ...(description !== undefined ? { description } : {}),
      });
      return repo.save(existing);
    });
  }

  /** ADMIN: no new uses from now on; PENDING bookings keep theirs. */
  async deactivate(id: string): Promise<Promotion> {
    return this.update(id, { active: false });
  }

  /**
   * Takes one use of `promotion` for `userId` in the booking's transaction, or throws
   * `PROMOTION_INVALID` with the reason. The global count first (its row lock orders the
   * competing bookings), then the user's: a refusal of either rolls both back with the
   * booking. The WHERE clauses repeat the checks, so what was read earlier cannot be stale.
   */
  async reserveUse(
    manager: EntityManager,
    promotion: Promotion,
    userId: string,
    now: Date,
  ): Promise<void> {
    const taken = await changedRows(
      manager,
      `UPDATE promotions SET used_count = used_count + 1
        WHERE id = $1 AND active AND valid_from <= $2 AND valid_to >= $2
          AND (usage_limit IS NULL OR used_count < usage_limit)
        RETURNING used_count`,
      [promotion.id, now],
    );
    if (taken.length === 0) {
      const fresh = await manager.getRepository(Promotion).findOneByOrFail({ id: promotion.id });
      if (!fresh.active)
        throw promotionInvalid('INACTIVE', `Promotion ${fresh.code} is not active`);
      if (now < fresh.validFrom) {
        throw promotionInvalid('NOT_STARTED', `Promotion ${fresh.code} has not started`);
      }
      if (now > fresh.validTo) throw promotionInvalid('EXPIRED', `Promotion ${fresh.code} ended`);
      throw promotionInvalid('USAGE_LIMIT_REACHED', `Promotion ${fresh.code} has been used up`);
    }
    const mine: unknown[] = await manager.query(
      `INSERT INTO promotion_user_usage (promotion_id, user_id, used_count) VALUES ($1, $2, 1)
       ON CONFLICT (promotion_id, user_id) DO UPDATE
         SET used_count = promotion_user_usage.used_count + 1
       WHERE $3::int IS NULL OR promotion_user_usage.used_count < $3::int
       RETURNING used_count`,
      [promotion.id, userId, promotion.usagePerUser],
    );
    if (mine.length === 0) {
      throw promotionInvalid(
        'PER_USER_LIMIT_REACHED',
        `You have already used promotion ${promotion.code} the most times allowed`,
      );
    }
  }

  /**
   * Takes a use again for a booking paid after it expired (its use was given back): the
   * booking's price was agreed while the promotion was valid, so only the usage limits are
   * checked again, atomically as `reserveUse` does. `PROMOTION_INVALID` when they refuse.
   */
  async retakeUse(manager: EntityManager, promotionId: string, userId: string): Promise<void> {
    const taken = await changedRows(
      manager,
      `UPDATE promotions SET used_count = used_count + 1
        WHERE id = $1 AND (usage_limit IS NULL OR used_count < usage_limit)
        RETURNING usage_per_user`,
      [promotionId],
    );
    if (taken.length === 0) {
      throw promotionInvalid('USAGE_LIMIT_REACHED', 'The promotion has been used up');
    }
    const perUser = (taken[0] as { usage_per_user: number | null }).usage_per_user;
    const mine: unknown[] = await manager.query(
      `INSERT INTO promotion_user_usage (promotion_id, user_id, used_count) VALUES ($1, $2, 1)
       ON CONFLICT (promotion_id, user_id) DO UPDATE
         SET used_count = promotion_user_usage.used_count + 1
       WHERE $3::int IS NULL OR promotion_user_usage.used_count < $3::int
       RETURNING used_count`,
      [promotionId, userId, perUser],
    );
    if (mine.length === 0) {
      throw promotionInvalid('PER_USER_LIMIT_REACHED', 'The promotion was used the most times');
    }
  }

  /** Gives one use back (a booking holding it expired or was cancelled), in that transaction. */
  async returnUse(manager: EntityManager, promotionId: string, userId: string): Promise<void> {
    await manager.query(
      'UPDATE promotions SET used_count = used_count - 1 WHERE id = $1 AND used_count > 0',
      [promotionId],
    );
    await manager.query(
      `UPDATE promotion_user_usage SET used_count = used_count - 1
        WHERE promotion_id = $1 AND user_id = $2 AND used_count > 0`,
      [promotionId, userId],
    );
  }

  /** A FREE_ITEM's concession must exist: a promotion pointing at nothing would fail later. */
  private async checkFreeItem(manager: EntityManager, rule: PromotionRule): Promise<void> {
    if (rule.type !== 'FREE_ITEM' || rule.freeConcessionId === null) return;
    const exists = await manager.getRepository(Concession).existsBy({ id: rule.freeConcessionId });
    if (!exists) {
      throw invalidInput('freeConcessionId', `Concession ${rule.freeConcessionId} does not exist`);
    }
  }
}
