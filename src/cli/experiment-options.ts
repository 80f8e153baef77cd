import type { NewExperiment } from '../catalog/types.ts';

/** The options that name the experiment a run goes to and what policy keeps its frames (ingest, stream). */
export interface ExperimentCliOptions {
  experiment: string;
  geometry?: string;
  proposal?: string;
  facility?: string;
  sampleTag: string[];
  policy?: string;
}

export function experimentOf(opts: ExperimentCliOptions): NewExperiment {
  return { name: opts.experiment, proposal: opts.proposal, facility: opts.facility, sampleTags: opts.sampleTag.length > 0 ? opts.sampleTag : undefined };
}
