import { Field, ID, Int, ObjectType } from 'type-graphql';
import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * A partner's API key for the public graph (ADMIN only). The key itself is shown once, when
 * it is created; only its SHA-256 is kept (`runtime/contracts/api-keys.ts`).
 */
@Entity('api_keys')
@ObjectType({ description: "A partner's key for the public graph (ADMIN)." })
export class ApiKey {
  @PrimaryColumn('uuid')
  @Field(() => ID)
  id: string;

  @Column('text')
  @Field({ description: 'What the key is for, e.g. "Website listings".' })
  name: string;

  @Column('text')
  @Field({ description: 'Who holds it: the partner (company, contact).' })
  owner: string;

  @Column('int', { name: 'requests_per_minute' })
  @Field(() => Int, { description: 'Requests a minute, in bursts of up to as many.' })
  requestsPerMinute: number;

  /** SHA-256 of the key, lowercase hex: what a presented key is looked up by. */
  @Column('text', { name: 'key_hash' })
  keyHash: string;

  @Column('text', { name: 'key_prefix' })
  @Field({ description: 'The start of the key (mh_live_ and 4 more), to tell keys apart.' })
  prefix: string;

  /** The admin who created it. */
  @Column('text', { name: 'created_by', nullable: true })
  @Field(() => String, { nullable: true, description: 'The admin who created it.' })
  createdBy: string | null;

  @Column('timestamptz', { name: 'created_at' })
  @Field()
  createdAt: Date;

  @Column('timestamptz', { name: 'revoked_at', nullable: true })
  @Field(() => Date, { nullable: true, description: 'Set once revoked: the key works no more.' })
  revokedAt: Date | null;
}

@ObjectType({ description: 'A new key: `key` is shown this once and never again.' })
export class CreateApiKeyResult {
  @Field({ description: 'The key to hand to the partner (header X-Api-Key).' })
  key: string;

  @Field(() => ApiKey)
  apiKey: ApiKey;
}
