import type { MigrationInterface, QueryRunner } from 'typeorm';
import {
  createConsumerRetentionIndex,
  createOutboxRetentionIndex,
  dropRetentionIndexes,
} from '../../../../runtime/events/migrations';

/** Indexes for pruning published outbox rows and old processed-event ids after the retention. */
export class EventRetention1733100000000 implements MigrationInterface {
  name = 'EventRetention1733100000000';

  async up(q: QueryRunner): Promise<void> {
    await createOutboxRetentionIndex(q);
    await createConsumerRetentionIndex(q);
  }

  async down(q: QueryRunner): Promise<void> {
    await dropRetentionIndexes(q);
  }
}
