import 'reflect-metadata';
import { runSubgraphProcess } from '../../../runtime/subgraph-main';
import { bookingsSubgraph } from './schema';

runSubgraphProcess(bookingsSubgraph);
