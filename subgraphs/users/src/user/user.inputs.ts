import { ArgsType, Field, InputType, Int } from 'type-graphql';
import type { Role } from '../../../../runtime/identity';
import { RoleEnum } from './user.entity';

@InputType()
export class UpdateProfileInput {
  @Field(() => String, { nullable: true, description: '1..100 characters; omitted: unchanged.' })
  name?: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'E.164 (+84912345678) or a Vietnamese number; "" clears it; omitted: unchanged.',
  })
  phone?: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'The language of your mail: "vi" or "en"; omitted: unchanged.',
  })
  locale?: string | null;
}

@ArgsType()
export class UsersArgs {
  @Field(() => String, { nullable: true, description: 'Part of the name, email or id.' })
  search?: string | null;

  @Field(() => RoleEnum, { nullable: true })
  role?: Role | null;

  @Field(() => Int, { nullable: true, description: 'Page size, 1..100 (default 20).' })
  first?: number | null;

  @Field(() => String, { nullable: true })
  after?: string | null;
}
