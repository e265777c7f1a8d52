import type { DocumentStore } from '@apollo/server';
import type { DocumentNode } from 'graphql';
import { LruCache } from './lru-cache';

/**
 * Parsed documents kept by Apollo Server, in estimated bytes ({@link documentBytes}). Apollo's
 * own store keeps 30 MB of them as measured by their JSON, which leaves out the tokens the
 * AST's locations keep: about a third of what they hold, so ~100 MB of distinct documents.
 */
export const DOCUMENTS_MAX_BYTES = 32 * 1024 * 1024;
/** A document or plan estimated heavier is not kept (made again at each request). */
export const STORED_ENTRY_MAX_BYTES = 2 * 1024 * 1024;
/** Entries at most, however light: each costs its key and the map's slot. */
const STORED_ENTRIES = 10_000;

/**
 * Apollo's key-value cache interface (documents, query plans) over an LRU bounded by the
 * estimated bytes of what it keeps. An entry estimated over `maxEntryBytes` is not kept.
 * Expiry (`ttl`) is not kept either: documents and plans never go stale, only out of use.
 */
export class WeighedStore<V> {
  private readonly entries: LruCache<string, { readonly value: V; readonly bytes: number }>;

  constructor(
    maxBytes: number,
    private readonly maxEntryBytes: number,
    private readonly weigh: (value: V) => number,
  ) {
    this.entries = new LruCache(STORED_ENTRIES, {
      maxWeight: maxBytes,
      // The weight found when the entry was kept: `weigh` must answer alike at eviction.
      weigh: (entry) => entry.bytes,
    });
  }

  /** The estimated bytes kept. */
  get totalBytes(): number {
    return this.entries.totalWeight;
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): Promise<V | undefined> {
    return Promise.resolve(this.entries.get(key)?.value);
  }

  set(key: string, value: V): Promise<void> {
    const bytes = this.weigh(value);
    if (bytes <= this.maxEntryBytes) this.entries.set(key, { value, bytes });
    else this.entries.delete(key);
    return Promise.resolve();
  }

  delete(key: string): Promise<boolean> {
    return Promise.resolve(this.entries.delete(key));
  }

  clear(): void {
    this.entries.clear();
  }
}

/**
 * A parsed document: its AST, its source text and the chain of its tokens, which the AST's
 * locations keep. Measured (graphql-js 16): about 40–60 bytes per character of text, and
 * 2 KB for the smallest.
 */
const DOCUMENT_BASE_BYTES = 2 * 1024;
const DOCUMENT_BYTES_PER_CHAR = 64;

/** The estimated bytes a parsed document holds. */
export function documentBytes(document: DocumentNode): number {
  const source = document.loc?.source.body;
  // Parsed without locations (no tokens kept): its JSON, a close measure then.
  const length = source?.length ?? JSON.stringify(document).length / 2;
  return DOCUMENT_BASE_BYTES + DOCUMENT_BYTES_PER_CHAR * length;
}

/**
 * Apollo Server's `documentStore` for every server of ours (gateway, partner graph, subgraphs): parsed and validated documents
 * by the hash of their text, within {@link DOCUMENTS_MAX_BYTES}.
 */
export function documentStore(): DocumentStore & WeighedStore<DocumentNode> {
  return new WeighedStore<DocumentNode>(DOCUMENTS_MAX_BYTES, STORED_ENTRY_MAX_BYTES, documentBytes);
}
