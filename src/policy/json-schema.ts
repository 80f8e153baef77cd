// The JSON Schema of the policy language, generated from the zod schema (schema.ts) so the two
// never drift: editors with a YAML language server validate and complete policy files with it
// (`# yaml-language-server: $schema=policy.schema.json`). A test compares the committed
// policies/policy.schema.json with this output. Regenerate after changing schema.ts:
//   node --import tsx src/policy/json-schema.ts
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { policySchema } from './schema.ts';

/** Where the committed schema lives. */
export const POLICY_SCHEMA_FILE = fileURLToPath(new URL('../../policies/policy.schema.json', import.meta.url));

/**
 * The JSON Schema (draft 2020-12) of policy files, as the text committed in policies/.
 * Facility-dependent checks (tier names, minimum durations) and cross-references (rule names,
 * unreachable rules) are not in it: `sxarchive policy check` does those.
 *
 * @example
 * writeFileSync('policy.schema.json', policyJsonSchemaText());
 */
export function policyJsonSchemaText(): string {
  const schema = z.toJSONSchema(policySchema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' });
  return `${JSON.stringify(schema, null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(POLICY_SCHEMA_FILE, policyJsonSchemaText());
  console.log(`wrote ${POLICY_SCHEMA_FILE}`);
}
