// The form a kept product takes along its lifecycle: its own until a step says `as`, that
// step's form from then on (a lifecycle that reduces the data with age).
/** A form as policies and the catalog both give it. */
interface Form {
  product: string;
  codec: { id: string; [key: string]: unknown };
  params: Record<string, number>;
}

/** One key for one form: `{ id, level }` and `{ level, id }` are one codec. */
export function formKey(form: Form): string {
  const sorted = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return JSON.stringify([form.product, sorted(form.codec), sorted(form.params)]);
}

/**
 * The form on `step`: the last `as` at or before it, else `base` (the keep's own form).
 *
 * @example
 * formAt([{ tier: 'hdd', days: 180 }, { tier: 'tape', days: 3650, as: binned2 }], raw, 1) // binned2
 */
export function formAt<F extends Form>(lifecycle: readonly { as?: F }[], base: F, step: number): F {
  for (let s = Math.min(step, lifecycle.length - 1); s >= 0; s--) {
    const form = lifecycle[s].as;
    if (form) return form;
  }
  return base;
}

/**
 * The step a container of `form` was made for: the last step whose `as` is that form, else 0
 * (ingest wrote it in the keep's own form). A container is due for reduction once its position
 * passes a later step with an `as`.
 */
export function formStep(lifecycle: readonly { as?: Form }[], form: Form | null): number {
  if (form === null) return 0;
  const key = formKey(form);
  for (let s = lifecycle.length - 1; s > 0; s--) if (lifecycle[s].as && formKey(lifecycle[s].as!) === key) return s;
  return 0;
}

/** The step whose `as` is due by `step` for a container made for `made`: the latest `as` after `made` and at or before `step`. */
export function dueReduction(lifecycle: readonly { as?: Form }[], made: number, step: number): number | undefined {
  for (let s = step; s > made; s--) if (lifecycle[s]?.as) return s;
  return undefined;
}

/** `binned factor=2 (bitshuffle-lz4)`: a form as people read it. */
export function describeForm(form: Form): string {
  const params = Object.entries(form.params).map(([k, v]) => ` ${k}=${v}`).join('');
  return `${form.product}${params}${form.codec.id === form.product ? '' : ` (${form.codec.id})`}`;
}
