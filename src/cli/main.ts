import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_DATA_DIR } from '../config/facility.ts';
import { isSxError } from '../errors.ts';
import { CONTAINER_CODEC_IDS, DEFAULT_CONTAINER_CODEC } from '../../codecs/registry.ts';
import type { GlobalOptions } from './context.ts';
import { exitQuietlyOnClosedPipe } from './pipe.ts';


function integer(name: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`Expected ${name} to be an integer >= ${min} but received "${value}".`);
    return n;
  };
}

function fraction(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError(`Expected a fraction between 0 and 1 but received "${value}".`);
  return n;
}

function nonNegative(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`Expected ${name} to be a number >= 0 but received "${value}".`);
    return n;
  };
}

/** CrystFEL's peakfinder8 options, with CrystFEL's names; unset ones take sxarchive's defaults. */
const PEAKFINDER_OPTIONS = [
  ['threshold', '--threshold <adu>', 'absolute floor of the peak threshold, ADU'],
  ['minSnr', '--min-snr <snr>', 'minimum signal-to-noise of a peak and of its seed pixels'],
  ['minPixCount', '--min-pix-count <n>', 'fewest pixels in a peak'],
  ['maxPixCount', '--max-pix-count <n>', 'most pixels in a peak'],
  ['localBgRadius', '--local-bg-radius <px>', 'radius of the local background ring'],
  ['minRes', '--min-res <px>', 'ignore pixels closer to the beam than this radius'],
  ['maxRes', '--max-res <px>', 'ignore pixels further than this radius (0 = no limit)'],
  ['minPeaks', '--min-peaks <n>', 'peaks a frame needs to be a hit'],
] as const;

function addPeakFinderOptions(cmd: Command): Command {
  for (const [, flags, description] of PEAKFINDER_OPTIONS) cmd.option(flags, `${description} (peakfinder8)`, nonNegative(flags.split(' ')[0]));
  return cmd;
}

function peakFinderOverrides(opts: Record<string, unknown>): Record<string, number> {
  return Object.fromEntries(PEAKFINDER_OPTIONS.filter(([key]) => opts[key] !== undefined).map(([key]) => [key, opts[key] as number]));
}

/** A calendar date (midnight UTC) or an ISO time. */
function date(value: string): Date {
  const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(d.getTime())) throw new InvalidArgumentError(`Expected a date such as 2027-01-31 or 2027-01-31T12:00:00Z but received "${value}".`);
  return d;
}

function hours(value: string): number {
  const h = Number(value);
  if (value.trim() === '' || !Number.isFinite(h) || h < 0) throw new InvalidArgumentError(`Expected a number of hours (0 or more, e.g. 36 or 7.5) but received "${value}".`);
  return h;
}

/** What `sxarchive stream` takes, and `sxarchive daemon` too (there --connect, and with it --experiment, are optional). */
function addStreamOptions(cmd: Command, { required }: { required: boolean }): Command {
  const connect = ['--connect <endpoint>', 'the detector\'s endpoint, e.g. tcp://eiger:31001 (stream V2), tcp://eiger:9999 (stream V1) or tcp://onda:5555'] as const;
  const experiment = ['--experiment <name>', 'experiment of each series (created if new), unless the start message\'s user_data names one'] as const;
  if (required) cmd.requiredOption(...connect).requiredOption(...experiment);
  else cmd.option(...connect).option(...experiment);
  return addPeakFinderOptions(
    cmd
      .addOption(new Option('--format <format>', 'stream format').choices(['stream2', 'stream1', 'msgpack']).default('stream2'))
      .addOption(new Option('--pattern <pattern>', 'msgpack: subscribe to a PUB socket, or ask a REP socket for each frame (OM)').choices(['sub', 'req']).default('sub'))
      .option('--geometry <file.geom>', 'CrystFEL geometry: frames are labelled (peakfinder8) and the geometry is kept with the data')
      .option('--proposal <id>', 'proposal the experiment belongs to')
      .option('--facility <name>', 'facility or beamline (used by policies)')
      .option('--sample-tag <tag>', 'sample tag, repeatable (used by policy overrides)', collect, [])
      .option('--policy <name|file>', "retention policy: a shipped name (hits-only, ...) or a file; default: the facility's ingest.policy")
      .option('--results <file.stream>', 'a CrystFEL stream indexamajig is writing: followed and imported into --experiment as it grows, for results-gated rules')
      .option('--series-timeout <s>', 'a series silent this long ends without its end message (msgpack: ends)', nonNegative('--series-timeout'), 60)
      .option('--queue-mb <mb>', 'frames waiting in memory, MB of their stored chunks; past it they wait in the spool on the staging tier', integer('--queue-mb', 1), 2048)
      .option('--spool-gb <gb>', 'most the spool on the staging tier may hold; past it frames are dropped (and counted)', nonNegative('--spool-gb'), 64)
      .option('--metrics <host:port>', 'serve Prometheus metrics at http://host:port/metrics'),
  );
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

const DETECTOR_NAMES = ['eiger4m', 'eiger16m', 'eiger1m', 'det1024', 'tiny'];

function buildProgram(): Command {
  const program = new Command('sxarchive')
    .description('Decide, frame by frame, what a serial-crystallography facility keeps, where, and at what cost.')
    .option('--data-dir <dir>', 'data directory (catalog, tiers, facility.yaml)', process.env.SXARCHIVE_DATA ?? DEFAULT_DATA_DIR)
    .option('--debug', 'show stack traces on errors', false)
    .showHelpAfterError()
    .exitOverride();
  const globals = (cmd: Command): GlobalOptions => cmd.optsWithGlobals() as GlobalOptions;

  program
    .command('init')
    .description('create the data directory with a default facility configuration and an empty catalog')
    .option('--json', 'print the result as JSON')
    .action(async (opts, cmd) => (await import('./commands/init.ts')).run(globals(cmd), opts));

  program
    .command('simulate')
    .description('write simulated serial-crystallography frames with known truth (HDF5) and a CrystFEL geometry')
    .addOption(new Option('--detector <name>', 'detector layout').choices(DETECTOR_NAMES).default('eiger4m'))
    .requiredOption('--frames <n>', 'number of frames', integer('--frames', 1))
    .option('--hit-rate <r>', 'fraction of frames with a crystal', fraction, 0.4)
    .option('--seed <s>', 'random seed (same seed, same bytes)', integer('--seed', 0), 1)
    .addOption(new Option('--pixel-type <type>', 'photon-count type').choices(['uint16', 'uint32']).default('uint16'))
    .addOption(new Option('--compression <c>', 'HDF5 compression of the frames').choices([...CONTAINER_CODEC_IDS]).default(DEFAULT_CONTAINER_CODEC))
    .requiredOption('--out <file.h5>', 'output HDF5 file (with --layout nxmx: the master file)')
    .addOption(new Option('--layout <layout>', 'stack: all frames in --out; nxmx: an Eiger-style master linking to <stem>_data_000001.h5, ...').choices(['stack', 'nxmx']).default('stack'))
    .option('--frames-per-data-file <n>', 'frames per data file with --layout nxmx (default 100)', integer('--frames-per-data-file', 1))
    .option('--geometry-out <file.geom>', 'also write a matching CrystFEL geometry file')
    .option('--json', 'print the result as JSON')
    .action(async (opts, cmd) => (await import('./commands/simulate.ts')).run(globals(cmd), opts));

  program
    .command('detector-sim')
    .description('send the frames of an HDF5 run as a detector streams them: one DECTRIS stream V2 or V1 series over a bound ZeroMQ PUSH socket, or CrystFEL/OnDA msgpack frames over PUB or REP')
    .argument('<file.h5>', 'the run to send (e.g. from `sxarchive simulate`)')
    .option('--bind <endpoint>', 'where the socket binds (default: tcp://127.0.0.1:31001 for stream2, :9999 for stream1, :5555 for msgpack)')
    .addOption(new Option('--format <format>', 'stream format').choices(['stream2', 'stream1', 'msgpack']).default('stream2'))
    .addOption(new Option('--pattern <pattern>', 'push for the DECTRIS formats; msgpack: publish each frame (pub, as OnDA) or answer each request with one (rep, as OM) (default: push, or pub for msgpack)').choices(['push', 'pub', 'rep']))
    .option('--frames <n>', 'images in the series (default: the file\'s frames, repeated if more)', integer('--frames', 1))
    .option('--rate <hz>', 'images per second (default: as fast as the receiver takes them)', nonNegative('--rate'))
    .option('--series-id <n>', 'the series number', integer('--series-id', 0), 1)
    .option('--json', 'print the result as JSON')
    .action(async (file, opts, cmd) => (await import('./commands/detector-sim.ts')).run(globals(cmd), file, opts));

  addPeakFinderOptions(
    program
      .command('ingest')
      .description('record frames of HDF5 files in the catalog, label them (with --geometry) and keep what the retention policy decides')
      .argument('<files...>', 'HDF5 files with frames (where the geometry says, else /entry/data/data, /entry_1/data_1/data, /data/data or an NXmx master)')
      .requiredOption('--experiment <name>', 'experiment to add a run to (created if new)')
      .option('--geometry <file.geom>', 'CrystFEL geometry: frames are labelled (peakfinder8) and the geometry is kept with the data')
      .option('--proposal <id>', 'proposal the experiment belongs to')
      .option('--facility <name>', 'facility or beamline (used by policies)')
      .option('--sample-tag <tag>', 'sample tag, repeatable (used by policy overrides)', collect, [])
      .option('--policy <name|file>', "retention policy: a shipped name (hits-only, ...) or a file; default: the facility's ingest.policy")
      .option('--json', 'print the result as JSON'),
  ).action(async (files, opts, cmd) => (await import('./commands/ingest.ts')).run(globals(cmd), files, opts, peakFinderOverrides(opts)));

  addStreamOptions(
    program
      .command('stream')
      .description('receive a detector stream over ZeroMQ and keep what the retention policy decides as the frames arrive, each series a run (until stopped)'),
    { required: true },
  ).option('--series <n>', 'stop after this many series (default: until Ctrl-C)', integer('--series', 1))
    .option('--json', 'print one JSON summary per series')
    .action(async (opts, cmd) => (await import('./commands/stream.ts')).run(globals(cmd), opts, peakFinderOverrides(opts)));

  addPeakFinderOptions(
    program
      .command('label')
      .description('find peaks in every frame and say which are hits (peakfinder8), on all cores')
      .argument('<files...>', 'HDF5 files with frames where the geometry says they are')
      .requiredOption('--geometry <file.geom>', 'CrystFEL geometry of the detector')
      .option('--peaks', 'with --json: include each frame\'s peak list')
      .option('--json', 'print one JSON object per frame'),
  ).action(async (files, opts, cmd) => {
    const { DEFAULT_PEAKFINDER_PARAMS } = await import('../core/peakfinder8.ts');
    return (await import('./commands/label.ts')).run(globals(cmd), files, opts, { ...DEFAULT_PEAKFINDER_PARAMS, ...peakFinderOverrides(opts) });
  });

  program
    .command('geometry')
    .description("print the CrystFEL geometry a container carries for its own layout (what label and indexamajig read it with)")
    .argument('<container>', 'a container written by ingest')
    .option('--out <file.geom>', 'write it to this file instead of printing it')
    .action(async (container, opts, cmd) => (await import('./commands/geometry.ts')).run(globals(cmd), container, opts));

  program
    .command('expand')
    .description('write the boxes of a peaks container back into full frames (zeros elsewhere), with its peak tables and geometry, for CrystFEL integration')
    .argument('<container>', 'a peaks container written by ingest')
    .requiredOption('--out <file.h5>', 'the CXI file to write')
    .option('--json', 'print the result as JSON')
    .action(async (container, opts, cmd) => (await import('./commands/expand.ts')).run(globals(cmd), container, opts));

  program
    .command('import-stream')
    .description("record a CrystFEL stream's results (hits, crystals, reflections) for an experiment's frames")
    .argument('<file>', 'CrystFEL stream written by indexamajig (format 2.x)')
    .requiredOption('--experiment <name>', 'experiment the results belong to (created if new)')
    .option('--follow', 'keep importing chunks as indexamajig appends them, until SIGINT/SIGTERM')
    .option('--json', 'print the summary as JSON')
    .action(async (file, opts, cmd) => (await import('./commands/import-stream.ts')).run(globals(cmd), file, opts));

  program
    .command('experiment')
    .description("change an experiment's metadata on purpose (recorded with the time); ingest never changes it")
    .command('set')
    .description('set proposal, facility, sample tags or beamtime of an experiment; frames decided before keep their decisions')
    .argument('<experiment>', 'experiment name')
    .option('--proposal <id>', 'new proposal')
    .option('--facility <name>', 'new facility or beamline')
    .option('--sample-tag <tag>', 'the sample tags, repeatable: replaces the recorded list', collect, [])
    .option('--beamtime-hours <h>', "hours of beamtime the experiment used (store versus re-measure); default: from its runs' times", hours)
    .option('--json', 'print the experiment and the changes as JSON')
    .action(async (name, opts, cmd) => (await import('./commands/experiment-set.ts')).run(globals(cmd), name, opts));

  program
    .command('experiments')
    .description('list the experiments in the catalog')
    .option('--json', 'print the list as JSON')
    .action(async (opts, cmd) => (await import('./commands/experiments.ts')).run(globals(cmd), opts));

  program
    .command('report')
    .description("an experiment's frames, kept bytes, containers, tiers, cost to date and projected, and store versus re-measure; --all for the facility")
    .argument('[experiment]', 'experiment name (or --all)')
    .option('--all', 'every experiment of the catalog, with the facility totals')
    .option('--since <date>', 'with --all: experiments created, or with a run started, at or after this date', date, undefined)
    .addOption(new Option('--by <group>', 'with --all: rows per proposal, facility or tier').choices(['proposal', 'facility', 'tier']))
    .option('--as-of <date>', 'the report as of this date (YYYY-MM-DD or an ISO time): cost accrued until then, projected after', date, undefined)
    .addOption(new Option('--format <format>', 'text for a terminal, json, csv, or html (one self-contained page with charts; not with --all)').choices(['text', 'json', 'csv', 'html']))
    .option('--out <file>', 'write the report to this file (atomically) instead of printing it')
    .option('--json', 'print the report as JSON (--format json)')
    .action(async (name, opts, cmd) => (await import('./commands/report.ts')).run(globals(cmd), name, opts));

  program
    .command('serve')
    .description("read-only web pages and JSON: the experiment list, each experiment's report, and policies compared on it")
    .option('--listen <host:port>', 'address to listen on; other than loopback only with --tokens', '127.0.0.1:8080')
    .option('--tokens <file>', 'YAML file: each token with the proposals whose experiments it sees (required off loopback)')
    .action(async (opts, cmd) => (await import('./commands/serve.ts')).run(globals(cmd), opts));

  const policy = program.command('policy').description('retention policies: check, explain, dry-run, diff (see the README, "Policy language")');
  policy
    .command('check')
    .description('validate policy files against the policy language and the facility\'s tiers; every problem as file:line:col: message')
    .argument('<files...>', 'policy files (YAML)')
    .option('--json', 'print [{file, ok, errors, warnings}] as JSON')
    .action(async (files, opts, cmd) => (await import('./commands/policy-check.ts')).run(globals(cmd), files, opts));
  policy
    .command('explain')
    .description("show a frame's labels and which rule decides it and why (the policy recorded for its decisions, else --policy)")
    .argument('<experiment>', 'experiment name')
    .argument('<frame>', 'frame id, file//event or basename//event (e.g. run7.h5//17)')
    .option('--policy <file>', 'policy file to explain the frame with (required when the frame has no recorded decisions)')
    .option('--json', 'print the explanation as JSON')
    .action(async (experiment, frame, opts, cmd) => (await import('./commands/policy-explain.ts')).run(globals(cmd), experiment, frame, opts));
  policy
    .command('dry-run')
    .description("what a policy would keep of an experiment (frames, bytes, cost per product, rule and tier) and what it would lose; touches no data")
    .argument('<policy>', 'policy file (YAML)')
    .argument('<experiment>', 'experiment name')
    .option('--json', 'print the plan as JSON')
    .action(async (file, experiment, opts, cmd) => (await import('./commands/policy-dry-run.ts')).run(globals(cmd), file, experiment, opts));
  policy
    .command('apply')
    .description('re-decide an archived experiment under another policy: write the reductions it asks for from the kept raw data, verify and record them, then delete what it no longer keeps')
    .argument('<policy>', 'policy: a shipped name or a file (YAML)')
    .argument('<experiment>', 'experiment name')
    .option('--dry-run', 'print the plan (what is written, kept and deleted, bytes before and after) and change nothing')
    .option('--json', 'print the plan or the result as JSON')
    .action(async (file, experiment, opts, cmd) => (await import('./commands/policy-apply.ts')).run(globals(cmd), file, experiment, opts));
  policy
    .command('diff')
    .description('dry-run two policies on an experiment side by side, with the difference and the frames that change rule')
    .argument('<a>', 'policy file A (YAML)')
    .argument('<b>', 'policy file B (YAML)')
    .argument('<experiment>', 'experiment name')
    .option('--json', 'print both plans and their difference as JSON')
    .action(async (a, b, experiment, opts, cmd) => (await import('./commands/policy-diff.ts')).run(globals(cmd), a, b, experiment, opts));

  program
    .command('migrate')
    .description('move containers whose lifecycle step has ended to their next tier: copy, verify by SHA-256, commit, then remove the source copy')
    .option('--dry-run', 'print the plan (what moves, from where to where, bytes, why) and change nothing')
    .option('--as-of <date>', 'plan and run as if it were this date (YYYY-MM-DD or an ISO time)', date, undefined)
    .option('--experiment <name>', 'only this experiment')
    .option('--json', 'print the plan or the result as JSON')
    .action(async (opts, cmd) => (await import('./commands/migrate.ts')).run(globals(cmd), opts));

  program
    .command('expire')
    .description('delete the data of containers whose whole lifecycle has ended; labels, decisions and a record of the deletion stay')
    .option('--dry-run', 'print the plan (what goes, from where, bytes, why) and change nothing')
    .option('--as-of <date>', 'plan as if it were this date (a later date than now only with --dry-run)', date, undefined)
    .option('--experiment <name>', 'only this experiment')
    .option('--json', 'print the plan or the result as JSON')
    .action(async (opts, cmd) => (await import('./commands/expire.ts')).run(globals(cmd), opts));

  program
    .command('verify')
    .description('re-read copies and compare their SHA-256 with the catalog; report corrupt, missing and orphaned objects, repair a bad copy from a good one (exit 1 when anything is found)')
    .option('--tier <name>', 'only this tier')
    .option('--experiment <name>', 'only this experiment')
    .option('--sample <fraction>', 'check a random fraction of the copies (orphans are looked for on whole tiers only without it)', fraction)
    .option('--json', 'print the findings as JSON')
    .action(async (opts, cmd) => (await import('./commands/verify.ts')).run(globals(cmd), opts));

  program
    .command('recall')
    .description("bring an experiment's containers back from any tier into a folder, as HDF5/CXI files with a CrystFEL .lst of their frames")
    .argument('<experiment>', 'experiment name')
    .requiredOption('--to <dir>', 'folder to put the files in')
    .option('--frames <list>', 'frame ids or ranges (e.g. 1-100,205), or file//event, comma-separated; default: all kept frames')
    .option('--product <name>', 'only this product (raw, binned, peaks, quantized)')
    .option('--json', 'print the result as JSON')
    .action(async (experiment, opts, cmd) => (await import('./commands/recall.ts')).run(globals(cmd), experiment, opts));

  program
    .command('tiers')
    .description('per tier: used and free bytes, containers, price and pending jobs')
    .option('--json', 'print the tiers as JSON')
    .action(async (opts, cmd) => (await import('./commands/tiers.ts')).run(globals(cmd), opts));

  addStreamOptions(
    program
      .command('daemon')
      .description('run the schedules in facility.yaml (migrate, expire, verify) until SIGTERM, and with --connect receive a detector stream as `sxarchive stream` does; each run and series is logged as one JSON line'),
    { required: false },
  ).action(async (opts, cmd) => (await import('./commands/daemon.ts')).run(globals(cmd), opts, peakFinderOverrides(opts)));

  program
    .command('demo')
    .description('simulate a small experiment, ingest it, print its report and what each shipped policy would keep (what `npm start` runs)')
    .option('--frames <n>', 'number of frames', integer('--frames', 1), 250)
    .addOption(new Option('--detector <name>', 'detector layout').choices(DETECTOR_NAMES).default('eiger4m'))
    .option('--hit-rate <r>', 'fraction of frames with a crystal', fraction, 0.4)
    .option('--seed <s>', 'random seed', integer('--seed', 0), 1)
    .option('--json', 'print the report as JSON')
    .action(async (opts, cmd) => (await import('./commands/demo.ts')).run(globals(cmd), opts));

  for (const cmd of program.commands) {
    cmd.exitOverride().showHelpAfterError();
    for (const sub of cmd.commands) sub.exitOverride().showHelpAfterError();
  }
  return program;
}

/** The one place errors reach the user: a message, and a stack trace only with --debug. */
async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    // A command that finished but says it was partial (ingest: exit 3) has set the code itself.
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    // Commander has printed the problem; a usage error exits 2, like every other usage error here.
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    const debug = argv.includes('--debug');
    if (debug) console.error(err);
    else if (isSxError(err)) console.error(`error: ${err.message}`);
    else console.error(`error: ${(err as Error)?.message ?? String(err)}\n(an unexpected error: run again with --debug for the stack trace)`);
    if (isSxError(err, 'interrupted')) return 130;
    return isSxError(err, 'usage') ? 2 : 1;
  }
}

exitQuietlyOnClosedPipe();
process.exitCode = await main(process.argv);
