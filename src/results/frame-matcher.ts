import { isAbsolute, posix, resolve } from 'node:path';
import type { FrameQueries } from '../catalog/frames.ts';

/** How a result found its frame, from the strictest to the loosest rule. */
export type MatchRule = 'exact' | 'resolved' | 'suffix' | 'basename';

export type MatchOutcome =
  | { kind: 'matched'; frameId: number; rule: MatchRule }
  | { kind: 'unmatched'; reason: 'no-frame' | 'ambiguous'; candidates: number };

/** The frame queries matching needs (`catalog.frames`). */
export type FrameLookup = Pick<FrameQueries, 'frameIdOf' | 'sourcesBetween' | 'lastFrameId'>;

/**
 * Finds the catalog frame a stream chunk describes, within one experiment. The stream names the
 * image as indexamajig was given it (often relative to where it ran) while ingest recorded
 * absolute paths, so the rules are, in order:
 * 1. `exact`: the same source string and event;
 * 2. `resolved`: a relative name resolved against the stream's folder;
 * 3. `suffix`: the one frame whose source ends with the relative name (`r0092/data1/x.h5`);
 * 4. `basename`: the one frame with the same file name and event.
 * Two or more candidates at rule 3 or 4 leave the chunk unmatched (`ambiguous`) rather than guess.
 *
 * @example
 * const matcher = new FrameMatcher(catalog.frames, experiment.id);
 * matcher.refresh();
 * matcher.match('frames/hit-1.h5', '//', '/data/processing');
 */
export class FrameMatcher {
  /** Distinct frame sources of the experiment by file name. */
  private readonly byBasename = new Map<string, Set<string>>();
  private seenFrameId = 0;

  constructor(
    private readonly frames: FrameLookup,
    private readonly experimentId: number,
  ) {}

  /** Learns the sources of frames added since the last call; true if there were any. */
  refresh(): boolean {
    const max = this.frames.lastFrameId();
    if (max <= this.seenFrameId) return false;
    let added = false;
    for (const { source } of this.frames.sourcesBetween(this.experimentId, this.seenFrameId, max)) {
      const name = posix.basename(source);
      let set = this.byBasename.get(name);
      if (!set) this.byBasename.set(name, (set = new Set()));
      if (!set.has(source)) {
        set.add(source);
        added = true;
      }
    }
    this.seenFrameId = max;
    return added;
  }

  private frameOf(source: string, event: string): number | undefined {
    return this.frames.frameIdOf(this.experimentId, source, event);
  }

  match(source: string, event: string, streamDir: string): MatchOutcome {
    const exact = this.frameOf(source, event);
    if (exact !== undefined) return { kind: 'matched', frameId: exact, rule: 'exact' };
    const relative = !isAbsolute(source);
    if (relative) {
      const resolved = this.frameOf(resolve(streamDir, source), event);
      if (resolved !== undefined) return { kind: 'matched', frameId: resolved, rule: 'resolved' };
    }
    const candidates = [...(this.byBasename.get(posix.basename(source)) ?? [])];
    const framesAmong = (sources: string[]) => sources.map((s) => this.frameOf(s, event)).filter((id): id is number => id !== undefined);
    const rel = posix.normalize(source).replace(/^(\.\/)+/, '');
    if (relative && rel.includes('/')) {
      const bySuffix = framesAmong(candidates.filter((s) => s.endsWith(`/${rel}`)));
      if (bySuffix.length === 1) return { kind: 'matched', frameId: bySuffix[0], rule: 'suffix' };
      if (bySuffix.length > 1) return { kind: 'unmatched', reason: 'ambiguous', candidates: bySuffix.length };
    }
    const byName = framesAmong(candidates);
    if (byName.length === 1) return { kind: 'matched', frameId: byName[0], rule: 'basename' };
    return { kind: 'unmatched', reason: byName.length > 1 ? 'ambiguous' : 'no-frame', candidates: byName.length };
  }
}
