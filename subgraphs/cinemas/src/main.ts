import 'reflect-metadata';
import { runSubgraphProcess } from '../../../runtime/subgraph-main';
import { cinemasSubgraph } from './schema';

runSubgraphProcess(cinemasSubgraph);
