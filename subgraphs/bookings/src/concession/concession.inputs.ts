import { Field, ID, InputType, Int } from 'type-graphql';
import { ConcessionCategory } from './concession.entity';

@InputType({ description: "A new item of a cinema's menu (ADMIN)." })
export class CreateConcessionInput {
  @Field(() => ID)
  cinemaId: string;

  @Field({ description: '1..100 characters, unique per cinema.' })
  name: string;

  @Field(() => String, { nullable: true })
  description?: string | null;

  @Field(() => ConcessionCategory)
  category: ConcessionCategory;

  @Field(() => Int, { description: 'VND' })
  price: number;

  @Field(() => Int, {
    nullable: true,
    description: 'Items in stock; omitted or null: not tracked.',
  })
  stock?: number | null;

  @Field(() => Boolean, { nullable: true, description: 'Default true.' })
  active?: boolean | null;
}

@InputType({ description: 'Changes to an item (ADMIN); omitted fields stay as they are.' })
export class UpdateConcessionInput {
  @Field(() => String, { nullable: true })
  name?: string | null;

  @Field(() => String, { nullable: true })
  description?: string | null;

  @Field(() => ConcessionCategory, { nullable: true })
  category?: ConcessionCategory | null;

  @Field(() => Int, { nullable: true })
  price?: number | null;

  @Field(() => Int, { nullable: true, description: 'Sets the stock; null stops tracking it.' })
  stock?: number | null;

  @Field(() => Boolean, { nullable: true })
  active?: boolean | null;
}
