export { formatBytes } from '../bytes.ts';
export { formatMicro, formatMoney } from '../cost/money.ts';
export { table } from '../report/text-table.ts';

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
