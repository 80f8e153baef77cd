import Table from 'cli-table3';

export { formatBytes } from '../bytes.ts';
export { formatMicro, formatMoney } from '../cost/money.ts';


export function table(head: string[], rows: (string | number)[][]): string {
  const t = new Table({ head, style: { head: [], border: [] } });
  t.push(...rows.map((r) => r.map(String)));
  return t.toString();
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
