import Table from 'cli-table3';

/** A plain-text table (cli-table3, no colours), as the text reports and the CLI print them. */
export function table(head: string[], rows: (string | number)[][]): string {
  const t = new Table({ head, style: { head: [], border: [] } });
  t.push(...rows.map((r) => r.map(String)));
  return t.toString();
}
