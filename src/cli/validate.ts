/**
 * The one place where command-line values become numbers, names and lists. Every parser takes the option's
 * name and its documented range, and its error says both, so a refusal reads the same in every command:
 * `--steps: expected an integer from 1 to 1000, got "1e9"`.
 */

/** A value or combination of options that cannot be used; raised before any model is loaded or sample drawn. */
export class OptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OptionError';
  }
}

export interface Range {
  readonly min?: number;
  readonly max?: number;
  /** The bounds themselves are not allowed: (min, max) instead of [min, max]. */
  readonly minExclusive?: boolean;
  readonly maxExclusive?: boolean;
}

/**
 * Plain decimal notation only, with an optional exponent: `12`, `-1.5`, `.5`, `2e-4`. Rejected: hex and
 * other radixes (`0x10`, `0b1`), `Infinity`, `NaN`, blanks, trailing junk (`12abc`), digit separators.
 */
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** 10000000 as 1e7 (round powers of ten only: 2147483647 stays as it is). */
const fmt = (v: number): string => (/^[1-9]0{6,}$/.test(String(Math.abs(v))) ? v.toExponential().replace('e+', 'e') : String(v));

/** "an integer from 1 to 1000", "a number in (0, 1)", "a number ≥ 0". */
export function describeRange(r: Range, integer: boolean): string {
  const kind = integer ? 'an integer' : 'a number';
  const lo = r.min !== undefined && Number.isFinite(r.min) ? r.min : undefined;
  const hi = r.max !== undefined && Number.isFinite(r.max) ? r.max : undefined;
  if (lo !== undefined && hi !== undefined) {
    if (!r.minExclusive && !r.maxExclusive) return `${kind} from ${fmt(lo)} to ${fmt(hi)}`;
    return `${kind} in ${r.minExclusive ? '(' : '['}${fmt(lo)}, ${fmt(hi)}${r.maxExclusive ? ')' : ']'}`;
  }
  if (lo !== undefined) return `${kind} ${r.minExclusive ? '>' : '≥'} ${fmt(lo)}`;
  if (hi !== undefined) return `${kind} ${r.maxExclusive ? '<' : '≤'} ${fmt(hi)}`;
  return integer ? 'an integer' : 'a finite number';
}

function inRange(v: number, r: Range): boolean {
  if (r.min !== undefined && (r.minExclusive ? v <= r.min : v < r.min)) return false;
  if (r.max !== undefined && (r.maxExclusive ? v >= r.max : v > r.max)) return false;
  return true;
}

/** A finite number in `range`, written in plain decimal notation. */
export function parseNumber(value: string, option: string, range: Range = {}): number {
  const s = value.trim();
  const v = DECIMAL.test(s) ? Number(s) : NaN;
  if (!Number.isFinite(v) || !inRange(v, range)) throw new OptionError(`${option}: expected ${describeRange(range, false)}, got ${JSON.stringify(value)}`);
  return v;
}

/** An integer in `range` (at most 2^53 − 1 in size); `1e3` is the integer 1000, `64.5` is refused. */
export function parseInteger(value: string, option: string, range: Range = {}): number {
  const s = value.trim();
  const v = DECIMAL.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(v) || !inRange(v, range)) throw new OptionError(`${option}: expected ${describeRange(range, true)}, got ${JSON.stringify(value)}`);
  return v;
}

/** Checks an already numeric value (a config field, a default derived from another option) against a range. */
export function checkRange(v: number, option: string, range: Range, integer: boolean): number {
  if (!Number.isFinite(v) || (integer && !Number.isSafeInteger(v)) || !inRange(v, range)) {
    throw new OptionError(`${option}: expected ${describeRange(range, integer)}, got ${v}`);
  }
  return v;
}

/** One of a fixed set of names. */
export function parseEnum<T extends string>(value: string, option: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw new OptionError(`${option}: expected one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  return value as T;
}

/**
 * A comma-separated list (repeatable options pass several). With `allowed`, every item must be one of those
 * names (`all`, when listed in `aliases`, expands to them); duplicates are dropped, order kept. Empty: refused.
 */
export function parseList(values: string | readonly string[], option: string, allowed?: readonly string[], aliases: Readonly<Record<string, readonly string[]>> = {}): string[] {
  const items = (typeof values === 'string' ? [values] : values).flatMap((v) => v.split(',')).map((s) => s.trim());
  if (items.length === 0 || items.some((s) => s === '')) throw new OptionError(`${option}: expected a comma-separated list without empty items, got ${JSON.stringify(typeof values === 'string' ? values : values.join(','))}`);
  const out: string[] = [];
  for (const item of items) {
    if (aliases[item]) out.push(...aliases[item]);
    else if (!allowed || allowed.includes(item)) out.push(item);
    else {
      const names = [...allowed, ...Object.keys(aliases)];
      throw new OptionError(`${option}: unknown name ${JSON.stringify(item)}; allowed: ${names.join(', ')}`);
    }
  }
  return [...new Set(out)];
}

/** A comma-separated list of numbers, each in `range`. */
export function parseNumberList(value: string, option: string, range: Range = {}): number[] {
  return parseList(value, option).map((s) => parseNumber(s, option, range));
}
