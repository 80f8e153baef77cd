// CSV as RFC 4180 has it, for spreadsheets: CRLF line ends, fields quoted only when they hold a
// comma, a quote or a line break, quotes doubled.

function field(value: string | number | null): string {
  const text = value === null ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** @example toCsv([['a', 'b'], [1, 'x,y']]) // 'a,b\r\n1,"x,y"\r\n' */
export function toCsv(rows: readonly (readonly (string | number | null)[])[]): string {
  return rows.map((r) => `${r.map(field).join(',')}\r\n`).join('');
}

/** Micro-units as a decimal amount with all six decimals: exact, as a spreadsheet reads it. */
export function microToDecimal(micro: number): string {
  const sign = micro < 0 ? '-' : '';
  const abs = BigInt(Math.abs(micro));
  return `${sign}${abs / 1_000_000n}.${String(abs % 1_000_000n).padStart(6, '0')}`;
}
