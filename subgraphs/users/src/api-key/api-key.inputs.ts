import { ArgsType, Field, InputType, Int } from 'type-graphql';

/** Requests a minute of a key created without one: 10 a second. */
export const DEFAULT_REQUESTS_PER_MINUTE = 600;
/** The most a key may be given (about 1,700 a second). */
export const MAX_REQUESTS_PER_MINUTE = 100_000;

@InputType({ description: 'A new key for a partner (ADMIN).' })
export class CreateApiKeyInput {
  @Field({ description: '1..100 characters: what the key is for.' })
  name: string;

  @Field({ description: '1..200 characters: who holds it.' })
  owner: string;

  @Field(() => Int, {
    nullable: true,
    description: `1..${MAX_REQUESTS_PER_MINUTE} (default ${DEFAULT_REQUESTS_PER_MINUTE}).`,
  })
  requestsPerMinute?: number | null;
}

@ArgsType()
export class ApiKeysArgs {
  @Field(() => Boolean, { nullable: true, description: 'Also revoked keys (default false).' })
  includeRevoked?: boolean | null;

  @Field(() => Int, { nullable: true, description: 'Page size, 1..100 (default 20).' })
  first?: number | null;

  @Field(() => String, { nullable: true })
  after?: string | null;
}
