// The facility's tiers as drivers, opened on first use (an S3 tier that a command never
// touches needs no credentials). The AWS SDK takes a second to load: only facilities with S3
// tiers load it.
import type { Facility, TierConfig } from '../config/facility.ts';
import { SxError } from '../errors.ts';
import { FilesystemTier } from './filesystem.ts';
import { TapeTier } from './tape.ts';
import type { TierDriver } from './types.ts';

export type OpenTier =
  | { name: string; kind: 'filesystem' | 's3'; config: TierConfig; driver: TierDriver }
  | { name: string; kind: 'tape'; config: TierConfig; tape: TapeTier; driver: TierDriver };

type S3TierClass = typeof import('./s3.ts').S3Tier;

export class Tiers {
  private readonly facility: Facility;
  private readonly opened = new Map<string, OpenTier>();
  private readonly s3?: S3TierClass;

  private constructor(facility: Facility, s3?: S3TierClass) {
    this.facility = facility;
    this.s3 = s3;
  }

  static async open(facility: Facility): Promise<Tiers> {
    const usesS3 = Object.values(facility.config.tiers).some((t) => t.kind === 's3' || (t.kind === 'tape' && t.s3 !== undefined));
    return new Tiers(facility, usesS3 ? (await import('./s3.ts')).S3Tier : undefined);
  }

  get names(): string[] {
    return Object.keys(this.facility.config.tiers);
  }

  get(name: string): OpenTier {
    const open = this.opened.get(name);
    if (open) return open;
    const config = this.facility.config.tiers[name];
    if (!config) throw new SxError('config', `tier ${name} is not in ${this.facility.dataDir}/facility.yaml; expected one of ${this.names.join(', ')}`);
    const resolvePath = this.facility.resolvePath;
    let tier: OpenTier;
    if (config.kind === 'filesystem') {
      tier = { name, kind: 'filesystem', config, driver: new FilesystemTier(name, resolvePath(config.path), config.capacity) };
    } else if (config.kind === 's3') {
      tier = { name, kind: 's3', config, driver: new this.s3!(name, config, { resolvePath }) };
    } else {
      const tape = new TapeTier(name, config, { resolvePath, s3: (target) => new this.s3!(name, target, { resolvePath }) });
      tier = { name, kind: 'tape', config, tape, driver: tape.target };
    }
    this.opened.set(name, tier);
    return tier;
  }
}
