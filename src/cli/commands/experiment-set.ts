import { SxError } from '../../errors.ts';
import { withCatalog, type GlobalOptions } from '../context.ts';
import { printJson } from '../format.ts';

export interface ExperimentSetOptions {
  proposal?: string;
  facility?: string;
  sampleTag: string[];
  beamtimeHours?: number;
  json?: boolean;
}

export async function run(globals: GlobalOptions, name: string, opts: ExperimentSetOptions): Promise<void> {
  if (opts.proposal === undefined && opts.facility === undefined && opts.sampleTag.length === 0 && opts.beamtimeHours === undefined) {
    throw new SxError('usage', 'nothing to set: give --proposal, --facility, --sample-tag or --beamtime-hours');
  }
  const { experiment, changed } = await withCatalog(globals, (_facility, catalog) =>
    catalog.setExperimentMetadata(name, { proposal: opts.proposal, facility: opts.facility, sampleTags: opts.sampleTag.length > 0 ? opts.sampleTag : undefined, beamtimeHours: opts.beamtimeHours }),
  );
  if (opts.json) return printJson({ experiment, changed });
  if (changed.length === 0) {
    console.log(`experiment ${name}: already so; nothing changed`);
    return;
  }
  const show = (v: unknown) => (v === null ? 'none' : Array.isArray(v) ? `[${v.join(', ')}]` : String(v));
  for (const c of changed) console.log(`experiment ${name}: ${c.field} ${show(c.recorded)} -> ${show(c.given)}`);
  console.log('recorded with the time; frames decided before keep their decisions (policy dry-run shows what the new metadata would decide)');
}
