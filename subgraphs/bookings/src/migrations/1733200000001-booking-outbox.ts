import type { MigrationInterface, QueryRunner } from 'typeorm';
import {
  createOutboxRetentionIndex,
  createOutboxTable,
  dropOutboxTable,
} from '../../../../runtime/events/migrations';

/**
 * The outbox that carries booking events (confirmed, released, completed) to the cinemas
 * subgraph, with the index its retention prunes published rows by.
 */
export class BookingOutbox1733200000001 implements MigrationInterface {
  name = 'BookingOutbox1733200000001';

  async up(q: QueryRunner): Promise<void> {
    await createOutboxTable(q);
    await createOutboxRetentionIndex(q);
  }

  async down(q: QueryRunner): Promise<void> {
    await dropOutboxTable(q);
  }
}
