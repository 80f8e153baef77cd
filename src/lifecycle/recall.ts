// Recall: an experiment's kept frames back from wherever their containers are, as ordinary
// HDF5/CXI files in a folder, with a CrystFEL .lst of the frames asked for. Copies on tape are
// read per aggregate, in offset order, in one pass each.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { KeptFrame, LivePlacement } from '../catalog/lifecycle.ts';
import { SxError } from '../errors.ts';
import { fsyncPath, partialPath } from '../tiers/filesystem.ts';
import { ChecksumError } from '../tiers/types.ts';
import { cheapestToRead, openCopy, writeChecked, type LifecycleContext } from './context.ts';

export interface RecallOptions {
  experiment: string;
  experimentId: number;
  to: string;
  /** Frame ids and ranges (`1-100,205`) or `file//event` (a file's basename will do). */
  frames?: string;
  product?: string;
}

export interface RecallSummary {
  jobId: number;
  recall: number;
  resumed: boolean;
  dest: string;
  list: string;
  frames: number;
  containers: { path: string; product: string; tier: string; bytes: number; file: string }[];
  /** One sequential read per tape aggregate: the byte span read and the members in it. */
  tapeReads: { tier: string; aggregate: string; offset: number; bytes: number; members: number }[];
  /** Frames whose data is gone (expired), or that the policy kept no container of. */
  unavailable: { frame: string; why: string }[];
  /** Aggregates on an archive storage class whose restore was requested: run recall again later. */
  restoring: string[];
}

/** Which kept frames `--frames` names (all, without it). */
export function selectFrames(kept: KeptFrame[], list: string | undefined): { selected: KeptFrame[]; unmatched: string[] } {
  if (list === undefined) return { selected: kept, unmatched: [] };
  const ids = new Set<number>();
  const named: string[] = [];
  for (const part of list.split(',').map((p) => p.trim()).filter(Boolean)) {
    const range = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (range) {
      const [a, b] = [Number(range[1]), Number(range[2] ?? range[1])];
      if (b < a) throw new SxError('usage', `--frames: expected a range low-high but received ${part}`);
      for (let id = a; id <= b; id++) ids.add(id);
    } else if (part.includes('//')) named.push(part);
    else throw new SxError('usage', `--frames: expected frame ids, ranges (1-100) or file//event but received ${JSON.stringify(part)}`);
  }
  const matchesName = (f: KeptFrame, n: string) => {
    const at = n.indexOf('//');
    const [file, event] = [n.slice(0, at), n.slice(at)];
    return f.event === event && (f.source === resolve(file) || f.source.endsWith(`/${file}`) || f.source === file);
  };
  const selected = kept.filter((f) => ids.has(f.frameId) || named.some((n) => matchesName(f, n)));
  const found = new Set(selected.map((f) => f.frameId));
  const unmatched = [...[...ids].filter((id) => !found.has(id)).map(String), ...named.filter((n) => !selected.some((f) => matchesName(f, n)))];
  return { selected, unmatched };
}

/** Splits one sequential read of an aggregate span into its members' files, in offset order. */
async function deliverSpan(span: Readable, start: number, members: { placement: LivePlacement; file: string }[]): Promise<void> {
  let position = start;
  let index = 0;
  let current: { out: Writable; hash: ReturnType<typeof createHash>; left: number; tmp: string } | undefined;
  const begin = async () => {
    const m = members[index];
    await mkdir(dirname(m.file), { recursive: true });
    const tmp = partialPath(m.file);
    current = { out: createWriteStream(tmp), hash: createHash('sha256'), left: m.placement.bytes, tmp };
  };
  const end = async () => {
    const m = members[index];
    const c = current!;
    await new Promise<void>((done, fail) => c.out.end((err?: Error | null) => (err ? fail(err) : done())));
    const sha256 = c.hash.digest('hex');
    if (sha256 !== m.placement.sha256) {
      await rm(c.tmp, { force: true });
      throw new ChecksumError(`tier ${m.placement.tier}: ${m.placement.path} in ${m.placement.aggregateName} read back with SHA-256 ${sha256}; the catalog has ${m.placement.sha256}`);
    }
    await fsyncPath(c.tmp);
    await rename(c.tmp, m.file);
    current = undefined;
    index += 1;
  };
  const write = (out: Writable, data: Buffer) => new Promise<void>((done, fail) => out.write(data, (err) => (err ? fail(err) : done())));
  for await (const chunk of span) {
    let buf = chunk as Buffer;
    while (buf.length > 0 && index < members.length) {
      const m = members[index];
      const offset = m.placement.memberOffset!;
      if (!current) {
        if (position < offset) {
          const skip = Math.min(offset - position, buf.length);
          buf = buf.subarray(skip);
          position += skip;
          continue;
        }
        await begin();
        if (current!.left === 0) {
          await end();
          continue;
        }
      }
      const c = current!;
      const take = Math.min(c.left, buf.length);
      const piece = buf.subarray(0, take);
      c.hash.update(piece);
      await write(c.out, piece);
      c.left -= take;
      position += take;
      buf = buf.subarray(take);
      if (c.left === 0) await end();
    }
  }
  while (index < members.length && members[index].placement.bytes === 0) {
    await begin();
    await end();
  }
  if (index < members.length) throw new SxError('store', `${members[index].placement.aggregateName}: ended before ${members[index].placement.path}`);
}

export async function recall(ctx: LifecycleContext, options: RecallOptions): Promise<RecallSummary> {
  const dest = resolve(options.to);
  const kept = ctx.store.keptFrames(options.experimentId, options.product);
  const { selected, unmatched } = selectFrames(kept, options.frames);
  if (unmatched.length > 0) throw new SxError('usage', `--frames: experiment ${options.experiment} has no kept frame ${unmatched.slice(0, 5).join(', ')}${unmatched.length > 5 ? ` (and ${unmatched.length - 5} more)` : ''}${options.product ? ` in product ${options.product}` : ''}`);
  if (selected.length === 0) throw new SxError('usage', `experiment ${options.experiment} has no frames kept in containers${options.product ? ` of product ${options.product}` : ''}`);
  const containerIds = [...new Set(selected.map((f) => f.containerId))];
  const summary: RecallSummary = { jobId: 0, recall: 0, resumed: false, dest, list: join(dest, `${options.experiment}.lst`), frames: 0, containers: [], tapeReads: [], unavailable: [], restoring: [] };
  const copies = new Map<number, LivePlacement>();
  for (const id of containerIds) {
    const live = cheapestToRead(ctx.store.livePlacements({ containerId: id }), (tier) => ctx.tiers.get(tier).kind);
    if (live.length > 0) copies.set(id, live[0]);
  }
  for (const f of selected) {
    if (copies.has(f.containerId)) continue;
    const deleted = ctx.store.deletedAt(f.containerId);
    summary.unavailable.push({ frame: `${f.source}${f.event}`, why: deleted ? `its ${f.product} data expired on ${deleted.slice(0, 10)} (labels stay in the catalog)` : `no copy of ${f.path} holds data` });
  }
  summary.jobId = ctx.store.startJob('recall', { experiment: options.experiment, to: dest, frames: options.frames ?? null, product: options.product ?? null }, ctx.owner);
  const opened = ctx.store.openRecall(summary.jobId, options.experimentId, dest, { frames: options.frames ?? null, product: options.product ?? null },
    [...copies.entries()].map(([containerId, p]) => ({ containerId, placementId: p.placementId })));
  summary.recall = opened.id;
  summary.resumed = opened.resumed;

  const fileOf = (p: LivePlacement) => join(dest, p.path);
  const items = ctx.store.recallItems(opened.id);
  const total = items.reduce((n, i) => n + (copies.get(i.containerId)?.bytes ?? 0), 0);
  let done = 0;
  ctx.onProgress?.(0, total);
  const tape = new Map<number, { item: (typeof items)[number]; placement: LivePlacement }[]>();
  ctx.store.setRecall(opened.id, 'staging');
  for (const item of items) {
    const p = copies.get(item.containerId);
    if (!p) continue;
    // Delivered before (a resumed recall) and still there as it was: not read again.
    const there = await stat(fileOf(p)).catch(() => undefined);
    if (item.state === 'delivered' && there?.size === p.bytes) {
      done += p.bytes;
      continue;
    }
    if (p.aggregateId !== null) {
      const list = tape.get(p.aggregateId) ?? [];
      list.push({ item, placement: p });
      tape.set(p.aggregateId, list);
      continue;
    }
    if (ctx.signal?.aborted) break;
    await writeChecked(await openCopy(ctx.tiers, p), fileOf(p), p, `tier ${p.tier}: ${p.path}`);
    ctx.store.setRecallItem(item.id, 'delivered', undefined, p.placementId);
    done += p.bytes;
    ctx.onProgress?.(done, total);
  }
  for (const members of tape.values()) {
    if (ctx.signal?.aborted) break;
    members.sort((a, b) => a.placement.memberOffset! - b.placement.memberOffset!);
    const first = members[0].placement;
    const tier = ctx.tiers.get(first.tier);
    if (tier.kind !== 'tape') continue;
    const state = tier.tape.restore ? await tier.tape.restore(first.aggregateName!) : 'available';
    if (state !== 'available') {
      for (const m of members) ctx.store.setRecallItem(m.item.id, 'restoring');
      summary.restoring.push(first.aggregateName!);
      continue;
    }
    const last = members[members.length - 1].placement;
    const span = { offset: first.memberOffset!, bytes: last.memberOffset! + last.bytes - first.memberOffset! };
    ctx.onStatus?.(`reading ${first.aggregateName} on ${first.tier} (${members.length} container(s))`);
    await deliverSpan(await tier.tape.readMember(first.aggregateName!, span.offset, span.bytes), span.offset, members.map((m) => ({ placement: m.placement, file: fileOf(m.placement) })));
    summary.tapeReads.push({ tier: first.tier, aggregate: first.aggregateName!, offset: span.offset, bytes: span.bytes, members: members.length });
    for (const m of members) ctx.store.setRecallItem(m.item.id, 'delivered', undefined, m.placement.placementId);
    done += members.reduce((n, m) => n + m.placement.bytes, 0);
    ctx.onProgress?.(done, total);
  }

  const delivered = selected.filter((f) => copies.has(f.containerId));
  const lines = delivered.map((f) => `${fileOf(copies.get(f.containerId)!)} //${f.containerIndex}`);
  await mkdir(dest, { recursive: true });
  await writeFile(summary.list, lines.length > 0 ? `${lines.join('\n')}\n` : '');
  summary.frames = delivered.length;
  summary.containers = [...copies.values()].map((p) => ({ path: p.path, product: p.product, tier: p.tier, bytes: p.bytes, file: fileOf(p) }));
  const waiting = summary.restoring.length > 0;
  const stopped = ctx.signal?.aborted === true;
  ctx.store.setRecall(opened.id, waiting ? 'restoring' : stopped ? 'staging' : 'delivered', waiting ? `restore requested for ${summary.restoring.join(', ')}` : undefined);
  ctx.store.finishJob(summary.jobId, stopped ? 'interrupted' : waiting ? 'partial' : 'complete', { frames: summary.frames, containers: summary.containers.length, tapeReads: summary.tapeReads.length });
  return summary;
}
