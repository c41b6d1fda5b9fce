// Typed access to the fields of a request body: each getter checks the JSON type and range and throws a 400
// ApiError naming the field (OpenAI's "param"), e.g. "max_tokens must be a whole number ≥ 1, got 'ten'".
import { ApiError } from './errors.js';

function shown(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 60)}…` : s;
}

export interface NumberRule {
  min: number;
  max?: number;
  integer?: boolean;
  /** min itself is not allowed. */
  exclusiveMin?: boolean;
}

export class Fields {
  constructor(
    readonly body: Record<string, unknown>,
    /** Prefix of field names in messages, e.g. 'messages[2].'. */
    private readonly prefix = '',
  ) {}

  private fail(name: string, what: string, v: unknown): never {
    throw new ApiError(400, `${this.prefix}${name} must be ${what}, got ${shown(v)}`, this.prefix + name);
  }

  /** The value, or undefined when missing or null (OpenAI clients send null for "not set"). */
  raw(name: string): unknown {
    const v = this.body[name];
    return v === null ? undefined : v;
  }

  string(name: string, opts: { required: true; maxLength: number }): string;
  string(name: string, opts: { required?: false; maxLength: number }): string | undefined;
  string(name: string, opts: { required?: boolean; maxLength: number }): string | undefined {
    const v = this.raw(name);
    if (v === undefined) {
      if (opts.required) throw new ApiError(400, `${this.prefix}${name} is required`, this.prefix + name);
      return undefined;
    }
    if (typeof v !== 'string') this.fail(name, 'a string', v);
    if (v.length > opts.maxLength) throw new ApiError(400, `${this.prefix}${name} is ${v.length} characters; at most ${opts.maxLength}`, this.prefix + name);
    return v;
  }

  number(name: string, rule: NumberRule, fallback: number): number;
  number(name: string, rule: NumberRule): number | undefined;
  number(name: string, rule: NumberRule, fallback?: number): number | undefined {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    const range = `${rule.integer ? 'a whole number' : 'a number'} ${rule.exclusiveMin ? '>' : '≥'} ${rule.min}${rule.max !== undefined ? ` and ≤ ${rule.max}` : ''}`;
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(name, range, v);
    if ((rule.integer && !Number.isInteger(v)) || v < rule.min || (rule.exclusiveMin && v === rule.min) || (rule.max !== undefined && v > rule.max)) this.fail(name, range, v);
    return v;
  }

  boolean(name: string, fallback: boolean): boolean {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') this.fail(name, 'true or false', v);
    return v;
  }

  /** A string or an array of strings (OpenAI's `stop`), at most maxItems of at most maxLength characters. */
  strings(name: string, maxItems: number, maxLength: number): string[] {
    const v = this.raw(name);
    if (v === undefined) return [];
    const list = typeof v === 'string' ? [v] : v;
    const what = `a string or an array of at most ${maxItems} strings of at most ${maxLength} characters`;
    if (!Array.isArray(list) || list.length > maxItems || list.some((s) => typeof s !== 'string' || s.length > maxLength)) this.fail(name, what, v);
    return list as string[];
  }

  /** An array of objects, each read through its own Fields (e.g. chat messages). */
  objects(name: string, maxItems: number): Fields[] {
    const v = this.raw(name);
    if (v === undefined) throw new ApiError(400, `${this.prefix}${name} is required`, this.prefix + name);
    if (!Array.isArray(v) || v.length === 0 || v.length > maxItems) this.fail(name, `an array of 1 to ${maxItems} objects`, v);
    return v.map((item, i) => {
      if (typeof item !== 'object' || item === null || Array.isArray(item)) this.fail(`${name}[${i}]`, 'an object', item);
      return new Fields(item as Record<string, unknown>, `${this.prefix}${name}[${i}].`);
    });
  }
}
