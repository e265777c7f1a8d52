import type { MigrationInterface, QueryRunner } from 'typeorm';
import { createConsumerTables, dropConsumerTables } from '../../../../runtime/events/migrations';

/** Idempotency and dead-letter records of this subgraph's event consumers. */
export class EventConsumers1732700000002 implements MigrationInterface {
  name = 'EventConsumers1732700000002';

  async up(q: QueryRunner): Promise<void> {
    await createConsumerTables(q);
  }

  async down(q: QueryRunner): Promise<void> {
    await dropConsumerTables(q);
  }
}
