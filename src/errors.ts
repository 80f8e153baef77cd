/**
 * Every error sxarchive raises on purpose. The CLI prints `message` (no stack) for these;
 * anything else is a bug and is shown with its stack.
 *
 * @example
 * try { openCatalog(dir) } catch (err) { if (isSxError(err, 'catalog')) console.error(err.message) }
 */
export type SxErrorTag =
  | 'usage'
  | 'input'
  | 'config'
  | 'catalog'
  | 'store'
  | 'native'
  /** Stopped by a signal (SIGINT, SIGTERM): what was recorded stays, the rest resumes next time. */
  | 'interrupted';

export class SxError extends Error {
  readonly tag: SxErrorTag;
  constructor(tag: SxErrorTag, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SxError';
    this.tag = tag;
  }
}

export function isSxError(err: unknown, ...tags: SxErrorTag[]): err is SxError {
  return err instanceof SxError && (tags.length === 0 || tags.includes(err.tag));
}
