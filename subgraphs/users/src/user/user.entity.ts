import { Directive, Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { UserLocale } from '../../../../runtime/contracts/user-contacts';
import { ROLES, type Role } from '../../../../runtime/identity';

export const RoleEnum = Object.fromEntries(ROLES.map((r) => [r, r])) as { [K in Role]: K };
registerEnumType(RoleEnum, { name: 'Role' });

@Entity('users')
@ObjectType()
@Directive('@key(fields: "id")')
export class User {
  /** The Clerk user id. */
  @PrimaryColumn('text')
  @Field(() => ID)
  id: string;

  /** Exposed through UserResolver: only to the user and admins. */
  @Column('text', { nullable: true })
  email: string | null;

  @Column('text', { nullable: true })
  @Field(() => String, { nullable: true })
  name: string | null;

  /** Exposed through UserResolver: only to the user and admins. */
  @Column('text', { nullable: true })
  phone: string | null;

  /** The language of the user's mail. Exposed through UserResolver: only to the user and admins. */
  @Column('text', { default: 'vi' })
  locale: UserLocale;

  /** The locale Clerk's metadata last named (see `UserService.applyClerkEvent`); not exposed. */
  @Column('text', { name: 'clerk_locale', nullable: true })
  clerkLocale: UserLocale | null;

  @Column('text', { default: 'CUSTOMER' })
  @Field(() => RoleEnum)
  role: Role;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  @Field()
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;

  /** Set when Clerk deleted the user: personal data is erased, the row (and bookings) stay. */
  @Column('timestamptz', { name: 'deleted_at', nullable: true })
  deletedAt: Date | null;
}
