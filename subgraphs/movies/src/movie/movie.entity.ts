import { Directive, Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import {
  BeforeInsert,
  BeforeUpdate,
  Column,
  CreateDateColumn,
  Entity,
  PrimaryColumn,
} from 'typeorm';
import { UpdateDateColumn } from 'typeorm';
import { foldText } from '../../../../runtime/text';
import { CATALOG_CACHE_HINT } from '../../../../runtime/cache-hints';
import { PUBLIC_TAG } from '../../../../runtime/contracts/partner-graph';

/** Vietnamese film classification (Circular 05/2023): P all ages, K under 13 with a guardian. */
export enum AgeRating {
  P = 'P',
  K = 'K',
  T13 = 'T13',
  T16 = 'T16',
  T18 = 'T18',
}
registerEnumType(AgeRating, { name: 'AgeRating' });

export enum MovieStatus {
  COMING_SOON = 'COMING_SOON',
  NOW_SHOWING = 'NOW_SHOWING',
  ARCHIVED = 'ARCHIVED',
}
registerEnumType(MovieStatus, { name: 'MovieStatus' });

@Entity('movies')
@ObjectType()
@Directive('@key(fields: "id")')
@Directive(CATALOG_CACHE_HINT)
@Directive(PUBLIC_TAG)
export class Movie {
  @PrimaryColumn('uuid')
  @Directive(PUBLIC_TAG)
  @Field(() => ID)
  id: string;

  @Column('text')
  @Directive(PUBLIC_TAG)
  @Field()
  title: string;

  @Column('text', { name: 'original_title' })
  @Directive(PUBLIC_TAG)
  @Field()
  originalTitle: string;

  @Column('text', { default: '' })
  @Directive(PUBLIC_TAG)
  @Field()
  synopsis: string;

  @Column('int', { name: 'duration_minutes' })
  @Directive(PUBLIC_TAG)
  @Field(() => Int)
  durationMinutes: number;

  @Column('text', { name: 'age_rating' })
  @Directive(PUBLIC_TAG)
  @Field(() => AgeRating)
  ageRating: AgeRating;

  @Column('text', { array: true, default: '{}' })
  @Directive(PUBLIC_TAG)
  @Field(() => [String])
  genres: string[];

  @Column('text', { default: '' })
  @Directive(PUBLIC_TAG)
  @Field()
  director: string;

  @Column('text', { array: true, default: '{}' })
  @Directive(PUBLIC_TAG)
  @Field(() => [String])
  cast: string[];

  @Column('text', { array: true, default: '{}' })
  @Directive(PUBLIC_TAG)
  @Field(() => [String])
  languages: string[];

  /** A calendar date (YYYY-MM-DD): a release has no time of day or zone. */
  @Column('date', { name: 'release_date' })
  @Directive(PUBLIC_TAG)
  @Field(() => String, { description: 'Release date, YYYY-MM-DD.' })
  releaseDate: string;

  @Column('text', { name: 'poster_url', nullable: true })
  @Directive(PUBLIC_TAG)
  @Field(() => String, { nullable: true })
  posterUrl: string | null;

  @Column('text', { name: 'trailer_url', nullable: true })
  @Directive(PUBLIC_TAG)
  @Field(() => String, { nullable: true })
  trailerUrl: string | null;

  @Column('text')
  @Directive(PUBLIC_TAG)
  @Field(() => MovieStatus)
  status: MovieStatus;

  /** Title, original title, director and cast, folded for accent-insensitive search. */
  @Column('text', { name: 'search_text', select: false, default: '' })
  searchText: string;

  /** The title alone, folded: a title match ranks above a cast or director match. */
  @Column('text', { name: 'search_title', select: false, default: '' })
  searchTitle: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;

  @BeforeInsert()
  @BeforeUpdate()
  computeSearchText(): void {
    this.searchText = foldText(
      [this.title, this.originalTitle, this.director, ...(this.cast ?? [])].join(' '),
    );
    this.searchTitle = foldText(`${this.title} ${this.originalTitle}`);
  }
}
