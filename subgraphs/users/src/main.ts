import 'reflect-metadata';
import { runSubgraphProcess } from '../../../runtime/subgraph-main';
import { usersSubgraph } from './schema';

runSubgraphProcess(usersSubgraph);
