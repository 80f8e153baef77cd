import Table from 'cli-table3';

export { formatBytes } from '../bytes.ts';

/** Cents for real money; three significant digits for the tiny sums a small test run costs. */
export function formatMoney(amount: number, currency: string): string {
  const text = amount === 0 || Math.abs(amount) >= 0.01 ? amount.toFixed(2) : amount.toPrecision(3);
  return `${text} ${currency}`;
}

export function table(head: string[], rows: (string | number)[][]): string {
  const t = new Table({ head, style: { head: [], border: [] } });
  t.push(...rows.map((r) => r.map(String)));
  return t.toString();
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
