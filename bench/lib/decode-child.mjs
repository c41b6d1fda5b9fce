// One decoding measurement as users run it: plain `node` on the compiled runtime (dist/, from `npm run build`), in a
// process of its own so its peak RSS is its own (the tsx loader would add its own memory to it and to every worker).
// Loads a .tllm file, prefills a random prompt, decodes greedily; prints one JSON line. Used by bench/generate.ts.
// Args: file tier threads promptTokens newTokens
import { setKernels } from '../../dist/kernels/index.js';
import { argmax } from '../../dist/models/gpt2/sampling.js';
import { Decoder, loadModel } from '../../dist/runtime/index.js';
import { Rng } from '../../dist/util/rng.js';

const [file, tier, threads, promptTokens, newTokens] = process.argv.slice(2);
const [P, N] = [Number(promptTokens), Number(newTokens)];
setKernels(tier, { threads: Number(threads) });
const model = loadModel(file);
const dec = new Decoder(model, { capacity: P + N + 1 });
const rng = new Rng(3);
const prompt = Array.from({ length: P }, () => rng.int(model.config.vocabSize));
const t0 = performance.now();
let next = argmax(dec.feed(prompt));
const t1 = performance.now();
const cpu = process.cpuUsage();
for (let i = 0; i < N; i++) next = argmax(dec.feed([next]));
const t2 = performance.now();
const { user, system } = process.cpuUsage(cpu);
console.log(JSON.stringify({
  ttftMs: +(t1 - t0).toFixed(1),
  decodeTokPerSec: +((N * 1000) / (t2 - t1)).toFixed(2),
  // CPU time (all threads) per decoded token: steadier than wall time on a loaded machine
  decodeCpuMsPerToken: +((user + system) / 1000 / N).toFixed(2),
  peakRssMB: +(process.resourceUsage().maxRSS / 1024).toFixed(1),
}));
