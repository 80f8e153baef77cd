/** The folder of a run's containers under its experiment's folder on each tier: `run-0003`. */
export function runDirName(number: number): string {
  return `run-${String(number).padStart(4, '0')}`;
}
