import { Supergraph } from '@apollo/federation-internals';
import type { AppConfig } from '../../runtime/config';
import type { Logger } from '../../runtime/logger';
import { subgraphUrl } from './subgraph-urls';
import { sdlHash, type SupergraphOrigin } from './supergraph-source';

/** One composed supergraph as the gateway serves it. */
export interface Composition {
  readonly sdl: string;
  /** sha256 of `sdl`: what the log and the watcher compare. */
  readonly hash: string;
  /** Where the gateway reaches each subgraph of it, by name (configured overrides applied). */
  readonly subgraphUrls: ReadonlyMap<string, string>;
}

/**
 * Checks a supergraph text (it parses, it is a valid Federation 2 supergraph, every subgraph
 * has a URL) and describes it.
 *
 * @throws when it is not one, with federation's own message.
 */
export function composition(
  sdl: string,
  overrides: AppConfig['subgraphUrlOverrides'],
): Composition {
  const supergraph = Supergraph.build(sdl, { validateSupergraph: true });
  const subgraphUrls = new Map<string, string>();
  for (const { name, url } of supergraph.subgraphsMetadata()) {
    subgraphUrls.set(name, subgraphUrl(name, url || undefined, overrides));
  }
  return { sdl, hash: sdlHash(sdl), subgraphUrls };
}

/**
 * A part of the gateway that follows the composition. `prepare` does everything that can
 * fail or take a while (parse, build schemas and planners, derive the partner schema) and
 * throws to reject the composition; it returns `commit`, which switches the part over and
 * must not fail. Nothing is committed until every part has prepared.
 */
export type FollowComposition = (next: Composition, previous: Composition) => () => void;

export type ReloadOutcome = 'applied' | 'unchanged' | 'rejected';

/**
 * The composition the gateway serves now, and the switch to the next one: a new text is
 * checked, every following part prepares (any failure rejects it, with a logged error, and
 * the current one keeps serving), then all of them commit in the order they registered, in
 * one turn of the event loop, so no request sees half of the switch.
 */
export class LiveSupergraph {
  private composition: Composition;
  private readonly parts: Array<{ readonly name: string; readonly follow: FollowComposition }> = [];
  private queue: Promise<unknown> = Promise.resolve();
  /** The last text rejected (its hash): offered again, it is refused without checking. */
  private rejectedHash: string | undefined;

  constructor(
    initial: Composition,
    private readonly overrides: AppConfig['subgraphUrlOverrides'],
    private readonly log: Pick<Logger, 'info' | 'error'>,
    private readonly counted?: (outcome: Exclude<ReloadOutcome, 'unchanged'>) => void,
  ) {
    this.composition = initial;
  }

  get current(): Composition {
    return this.composition;
  }

  /** Registers a part; returns how to unregister it. */
  follow(name: string, follow: FollowComposition): () => void {
    const part = { name, follow };
    this.parts.push(part);
    return () => {
      const at = this.parts.indexOf(part);
      if (at >= 0) this.parts.splice(at, 1);
    };
  }

  /** Serves `sdl` from now on, if it is a supergraph every part accepts. One at a time. */
  apply(sdl: string, origin: SupergraphOrigin): Promise<ReloadOutcome> {
    const run = this.queue.then(() => this.applyNow(sdl, origin));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async applyNow(sdl: string, origin: SupergraphOrigin): Promise<ReloadOutcome> {
    const previous = this.composition;
    const hash = sdlHash(sdl);
    if (hash === previous.hash) return 'unchanged';
    // Checking a composition is deterministic and costly (schemas and planners for every
    // part, on the main thread): the same rejected text polled again is not checked again.
    if (hash === this.rejectedHash) return 'rejected';
    const started = Date.now();
    let next: Composition;
    const commits: Array<{ readonly name: string; readonly commit: () => void }> = [];
    let stage = 'composition';
    try {
      next = composition(sdl, this.overrides);
      for (const part of this.parts) {
        stage = part.name;
        // Building schemas and planners takes the CPU for a while: requests in between run.
        await new Promise((resolve) => setImmediate(resolve));
        commits.push({ name: part.name, commit: part.follow(next, previous) });
      }
    } catch (error) {
      this.rejectedHash = hash;
      this.counted?.('rejected');
      this.log.error(
        {
          err: error,
          origin: origin.where,
          stage,
          rejected: hash.slice(0, 12),
          serving: previous.hash.slice(0, 12),
        },
        `supergraph from ${origin.where} rejected (${stage}): ` +
          `${error instanceof Error ? error.message : String(error)}; still serving the current one`,
      );
      return 'rejected';
    }
    this.composition = next;
    for (const { name, commit } of commits) {
      try {
        commit();
      } catch (error) {
        // A bug, not a bad composition: the other parts still switch, and it is said loudly.
        this.log.error(
          { err: error, part: name },
          'a part of the gateway failed to switch to the new supergraph',
        );
      }
    }
    this.counted?.('applied');
    this.log.info(
      {
        origin: origin.where,
        from: previous.hash.slice(0, 12),
        to: next.hash.slice(0, 12),
        subgraphs: [...next.subgraphUrls.keys()],
        ms: Date.now() - started,
      },
      'supergraph reloaded',
    );
    return 'applied';
  }
}
