import 'reflect-metadata';
import { runSubgraphProcess } from '../../../runtime/subgraph-main';
import { moviesSubgraph } from './schema';

runSubgraphProcess(moviesSubgraph);
