// Stand-in for tslab's `display` API (the Jupyter TypeScript kernel, github.com/yunabe/tslab) while the
// notebook runner executes cells under plain Node: notebooks call `tslab.display.svg(...)` exactly as in
// Jupyter, and notebooks/tsconfig.json maps 'tslab' here, so the runner can store each call as an output.
// The sink is a global, not module state, so it holds however the loader instantiates this file.

export type DisplaySink = (mime: string, data: string) => void;

const SINK = Symbol.for('tinyllm-ts.notebook.display');

/** Where display calls go (the runner sets this before it runs a notebook's cells). */
export function setDisplaySink(s: DisplaySink): void {
  (globalThis as Record<symbol, unknown>)[SINK] = s;
}

function show(mime: string, data: string): void {
  const sink = (globalThis as Record<symbol, unknown>)[SINK] as DisplaySink | undefined;
  if (sink) sink(mime, data);
  else console.log(`[${mime} output: run this notebook in Jupyter or through scripts/notebooks.ts to see it]`);
}

export const display = {
  svg: (s: string): void => show('image/svg+xml', s),
  markdown: (s: string): void => show('text/markdown', s),
};
