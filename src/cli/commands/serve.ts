// `tinyllm serve -m model.tllm`: an HTTP server on localhost for one .tllm model with the API OpenAI clients and
// llama.cpp's server use (/v1/completions, /v1/chat/completions with SSE streaming, /v1/models, /health), plus
// /v1/classify for fine-tuned sensing models and a small page at /; with --rag store.tlx, the k nearest labelled
// examples go before each query (src/serve/rag.ts). SIGTERM/SIGINT stop it cleanly (exit 0).
import { availableTiers, setKernels } from '../../kernels/index.js';
import type { LoadedModel } from '../../runtime/model.js';
import type { ServeRag } from '../../serve/rag.js';
import { DEFAULT_SEQUENCE_START } from '../../task/sequence.js';
import { UserError } from '../../util/errors.js';
import { parseCommand, type OptionSpecs } from '../args.js';

export const summary = 'serve a .tllm model over HTTP (OpenAI-style API, classify, a small page)';

const options = {
  model: { type: 'string', short: 'm', help: 'the .tllm deployment file from tinyllm export' },
  host: { type: 'string', help: 'address to listen on (127.0.0.1: this machine only)', default: '127.0.0.1' },
  'allow-host': { type: 'string', multiple: true, help: 'a name clients may use in the Host header besides localhost, 127.0.0.1, [::1] and --host (repeatable); other Host names get 403 (DNS rebinding)' },
  port: { type: 'number', min: 0, max: 65535, integer: true, help: 'port; 0 = pick a free one (printed)', default: 8080 },
  queue: { type: 'number', min: 0, max: 100000, integer: true, help: 'requests that may wait behind the running one; more get 503', default: 16 },
  'max-body': { type: 'number', min: 1024, integer: true, help: 'largest request body in bytes (413 above)', default: 1048576 },
  kernels: { type: 'string', help: `kernel tier: ${availableTiers().join(', ')} (default: the fastest)` },
  threads: { type: 'number', min: 1, max: 256, integer: true, help: 'threads for the kernels (default: all cores)' },
  quiet: { type: 'boolean', short: 'q', help: 'do not log one line per request', default: false },
  rag: { type: 'string', help: 'retrieval store (.tlx from tinyllm index, labelled examples): completions, chat and classify put the k nearest examples before the query in the prompt template' },
  k: { type: 'number', min: 1, integer: true, help: 'with --rag: examples retrieved per request (a request may set "rag": {"k": n})', default: 4 },
  'rag-max-k': { type: 'number', min: 1, max: 1024, integer: true, help: 'with --rag: the largest k a request may ask for', default: 16 },
  template: { type: 'string', help: "with --rag: prompt template, 'tinyllm' or a template file (default: the model's, else tinyllm)" },
} satisfies OptionSpecs;

export async function run(argv: string[]): Promise<void> {
  const parsed = parseCommand('serve', argv, options, { usage: '-m model.tllm [--port 8080] [--host 127.0.0.1] [--rag store.tlx --k 4] [options]', summary });
  if (!parsed) return;
  const o = parsed.options;
  if (!o.model) throw new UserError('give the model: -m <model.tllm> (from tinyllm export)');
  if (o.kernels !== undefined || o.threads !== undefined) setKernels(o.kernels ?? (availableTiers().at(-1) as string), { threads: o.threads });
  const { loadModel } = await import('../../runtime/index.js');
  const { ModelServer } = await import('../../serve/server.js');
  const model = loadModel(o.model);
  const rag = o.rag !== undefined ? await openServeRag(o.rag, model, o) : undefined;
  const server = new ModelServer(model, { queue: o.queue, maxBody: o['max-body'], allowHosts: o['allow-host'] ?? [], ...(rag ? { rag } : {}), ...(o.quiet ? {} : { log: (l: string) => process.stderr.write(`${l}\n`) }) });
  let address;
  try {
    address = await server.listen(o.port, o.host);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new UserError(`--port ${o.port}: the port is in use; choose another (--port 0 picks a free one)`);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new UserError(`--host ${o.host}: not an address of this machine`);
    if (code === 'EACCES') throw new UserError(`--port ${o.port}: permission denied (ports below 1024 need privileges); choose another`);
    throw e;
  }
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  console.log(`tinyllm serve: ${server.card.id} (${server.card.parameters.toLocaleString('en-US')} parameters) on http://${host}:${address.port}/`);
  if (rag) console.log(`tinyllm serve: retrieval from ${o.rag} (${rag.retriever.store.rows.length} labelled examples, ${rag.retriever.store.key.kind} key), k = ${rag.k} (at most ${rag.maxK} per request)`);
  if (!['127.0.0.1', '::1', 'localhost'].includes(o.host)) console.log(`tinyllm serve: listening on ${o.host}, reachable from other machines (as ${o.host}${o['allow-host']?.length ? ` or ${o['allow-host'].join(', ')}` : ''}; other names in the Host header get 403, see --allow-host)`);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      process.once('SIGTERM', () => server.stopNow());
      process.once('SIGINT', () => server.stopNow());
      console.log(`tinyllm serve: ${signal}: stopping (finishing the running request, refusing waiting ones)`);
      void server.shutdown().then(resolve);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  console.log(`tinyllm serve: stopped (${server.stats.completed} requests served, ${server.stats.cancelled} cancelled)`);
}

/** The server's retrieval: the store, and the prompt settings eval -m reads from the file (template, sequence start). */
export async function openServeRag(file: string, model: LoadedModel, o: { k: number; 'rag-max-k': number; template?: string }): Promise<ServeRag> {
  const { openRag } = await import('./index.js');
  const { serveRag } = await import('../../serve/rag.js');
  const { sequenceStartOf } = await import('../../runtime/index.js');
  const { loadTemplate } = await import('../../task/template.js');
  const template = o.template !== undefined || !model.finetune?.promptTemplate ? loadTemplate(o.template) : model.finetune.promptTemplate;
  const start = sequenceStartOf(model.finetune) ?? DEFAULT_SEQUENCE_START;
  return serveRag(await openRag(file), model.tokenizer, { template, start, allowSpecial: model.finetune?.allowSpecial ?? false, contextLength: model.config.blockSize, k: o.k, maxK: o['rag-max-k'] });
}
