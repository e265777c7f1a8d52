import type { MigrationInterface, QueryRunner } from 'typeorm';
import { createOutboxTable, dropOutboxTable } from '../../../../runtime/events/migrations';

/** The outbox that carries movie events (created, updated) to the other subgraphs. */
export class MovieOutbox1732700000003 implements MigrationInterface {
  name = 'MovieOutbox1732700000003';

  async up(q: QueryRunner): Promise<void> {
    await createOutboxTable(q);
  }

  async down(q: QueryRunner): Promise<void> {
    await dropOutboxTable(q);
  }
}
