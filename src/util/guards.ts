// Type guards for values parsed from files (JSON headers, manifests, tokenizer files): readers check each
// field with these before using it, so a corrupt file gives their UserError rather than a TypeError.

/** A plain JSON object (not null, not an array). */
export const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** A count: an integer in [0, 2^53). */
export const isCount = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;
