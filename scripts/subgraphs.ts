import { bookingsSubgraph } from '../subgraphs/bookings/src/schema';
import { cinemasSubgraph } from '../subgraphs/cinemas/src/schema';
import { moviesSubgraph } from '../subgraphs/movies/src/schema';
import { usersSubgraph } from '../subgraphs/users/src/schema';
import type { AnySubgraphDefinition } from '../runtime/subgraph-definition';

/** Every subgraph, in the order the supergraph lists them. Only scripts and tests import this. */
export const ALL_SUBGRAPHS: readonly AnySubgraphDefinition[] = [
  usersSubgraph,
  moviesSubgraph,
  cinemasSubgraph,
  bookingsSubgraph,
];
