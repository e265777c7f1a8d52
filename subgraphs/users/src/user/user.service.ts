import { In, type DataSource, type Repository } from 'typeorm';
import type { Identity } from '../../../../runtime/identity';
import { User } from './user.entity';

export class UserService {
  private readonly users: Repository<User>;

  constructor(dataSource: DataSource) {
    this.users = dataSource.getRepository(User);
  }

  async byIds(ids: readonly string[]): Promise<(User | null)[]> {
    const rows = await this.users.findBy({ id: In([...ids]) });
    const map = new Map(rows.map((u) => [u.id, u]));
    return ids.map((id) => map.get(id) ?? null);
  }

  /**
   * The caller's row, created on first sight. INSERT ... ON CONFLICT DO NOTHING makes
   * concurrent first requests create exactly one row; the role follows the token.
   */
  async ensure(identity: Identity & { userId: string }): Promise<User> {
    await this.users
      .createQueryBuilder()
      .insert()
      .values({
        id: identity.userId,
        email: identity.email ?? null,
        role: identity.role ?? 'CUSTOMER',
      })
      .orIgnore()
      .execute();
    const user = await this.users.findOneByOrFail({ id: identity.userId });
    if (identity.role && user.role !== identity.role) {
      user.role = identity.role;
      await this.users.update({ id: user.id }, { role: identity.role });
    }
    return user;
  }
}
