import 'reflect-metadata';
import { traceProcess } from '../../../runtime/tracing';

// Tracing patches http, pg, ioredis and graphql as they are required: it starts before anything
// loads them, and the subgraph is required after it (an import would load it first).
traceProcess('bookings');
/* eslint-disable @typescript-eslint/no-require-imports */
const { runSubgraphProcess } =
  require('../../../runtime/subgraph-main') as typeof import('../../../runtime/subgraph-main');
const { bookingsSubgraph } = require('./schema') as typeof import('./schema');
/* eslint-enable @typescript-eslint/no-require-imports */

runSubgraphProcess(bookingsSubgraph);
