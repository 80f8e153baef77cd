// Who may see what through `sxarchive serve`: a token file maps each token to the proposals
// whose experiments it sees. Tokens are compared by their SHA-256 in constant time.
import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { parseYaml } from '../config/yaml.ts';
import { readTextFile } from '../text-file.ts';

const tokensSchema = z.record(
  z.string().min(16, 'a token needs at least 16 characters'),
  z.array(z.string().min(1)).min(1, 'expected the proposals this token may see'),
);

/** What a request may see: every experiment (loopback without tokens), or those of these proposals. */
export type Access = { all: true } | { all: false; proposals: ReadonlySet<string> };

export class Tokens {
  readonly #entries: { digest: Buffer; proposals: ReadonlySet<string> }[];

  private constructor(entries: Record<string, string[]>) {
    this.#entries = Object.entries(entries).map(([token, proposals]) => ({ digest: digest(token), proposals: new Set(proposals) }));
  }

  /**
   * @example
   * // tokens.yaml:  3f9a0c5d8e7b6a41: [MX-2027-001, MX-2027-002]
   * const tokens = Tokens.load('/etc/sxarchive/tokens.yaml');
   */
  static load(file: string): Tokens {
    return new Tokens(parseYaml(readTextFile(file, { expected: 'a token file (YAML: each token with the list of proposals it may see)', tag: 'config' }), file, tokensSchema, 'config'));
  }

  /** The access a presented token grants; undefined for none or an unknown one. */
  access(token: string | undefined): Access | undefined {
    if (token === undefined) return undefined;
    const given = digest(token);
    const entry = this.#entries.find((e) => timingSafeEqual(e.digest, given));
    return entry && { all: false, proposals: entry.proposals };
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
