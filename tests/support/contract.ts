import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Kind, parse, print, type DocumentNode, type OperationDefinitionNode } from 'graphql';
import { projectRoot } from '../../runtime/paths';

/** The client contract lives beside the project (`../shared/contract/`); it is never copied. */
export const CONTRACT_DIR =
  process.env.CONTRACT_DIR ?? resolve(projectRoot(), '..', 'shared', 'contract');

export interface ContractOperation {
  file: string;
  name: string;
  kind: OperationDefinitionNode['operation'];
  document: DocumentNode;
  source: string;
}

/** Every named operation of every contract file. */
export function contractOperations(): ContractOperation[] {
  const operations: ContractOperation[] = [];
  for (const file of readdirSync(CONTRACT_DIR).filter((f) => f.endsWith('.graphql'))) {
    const document = parse(readFileSync(join(CONTRACT_DIR, file), 'utf8'));
    for (const def of document.definitions) {
      if (def.kind !== Kind.OPERATION_DEFINITION || !def.name) continue;
      const single: DocumentNode = { kind: Kind.DOCUMENT, definitions: [def] };
      operations.push({
        file,
        name: def.name.value,
        kind: def.operation,
        document: single,
        source: print(single),
      });
    }
  }
  return operations;
}

/** One contract operation's text, by name; fails loudly if the contract lacks it. */
export function contractOperation(name: string): string {
  const op = contractOperations().find((o) => o.name === name);
  if (!op) throw new Error(`The contract has no operation named ${name}`);
  return op.source;
}
