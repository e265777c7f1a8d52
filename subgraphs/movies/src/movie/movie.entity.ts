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
export class Movie {
  @PrimaryColumn('uuid')
  @Field(() => ID)
  id: string;

  @Column('text')
  @Field()
  title: string;

  @Column('text', { name: 'original_title' })
  @Field()
  originalTitle: string;

  @Column('text', { default: '' })
  @Field()
  synopsis: string;

  @Column('int', { name: 'duration_minutes' })
  @Field(() => Int)
  durationMinutes: number;

  @Column('text', { name: 'age_rating' })
  @Field(() => AgeRating)
  ageRating: AgeRating;

  @Column('text', { array: true, default: '{}' })
  @Field(() => [String])
  genres: string[];

  @Column('text', { default: '' })
  @Field()
  director: string;

  @Column('text', { array: true, default: '{}' })
  @Field(() => [String])
  cast: string[];

  @Column('text', { array: true, default: '{}' })
  @Field(() => [String])
  languages: string[];

  /** A calendar date (YYYY-MM-DD): a release has no time of day or zone. */
  @Column('date', { name: 'release_date' })
  @Field(() => String, { description: 'Release date, YYYY-MM-DD.' })
  releaseDate: string;

  @Column('text', { name: 'poster_url', nullable: true })
  @Field(() => String, { nullable: true })
  posterUrl: string | null;

  @Column('text', { name: 'trailer_url', nullable: true })
  @Field(() => String, { nullable: true })
  trailerUrl: string | null;

  @Column('text')
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
