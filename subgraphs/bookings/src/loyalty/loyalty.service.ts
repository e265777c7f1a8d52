import { In, type DataSource } from 'typeorm';
import { emptyAccount, LoyaltyAccount } from './loyalty.entity';

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
}
