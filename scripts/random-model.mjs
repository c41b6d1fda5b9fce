// Writes a randomly initialised GPT-2 (GPT-2's N(0, 0.02) init, fixed seed) as a .tllm file, for memory and speed
// checks without a download: node scripts/random-model.mjs <30M|124M|...|tiny> <out.tllm> [int8|f16|f32] [group].
// 'tiny' is 2 layers x 64 wide. Runs from the built package (npm run build first); the GPT-2 tokenizer is named.
import { GPT2, exportTllm, presetConfig } from '../dist/index.js';

const [size, out, weights = 'int8', group = '64'] = process.argv.slice(2);
if (!size || !out) {
  console.error('usage: node scripts/random-model.mjs <30M|51M|82M|101M|124M|tiny> <out.tllm> [int8|f16|f32] [0|32|64]');
  process.exit(2);
}
const config = size === 'tiny' ? { blockSize: 256, vocabSize: 50257, nLayer: 2, nHead: 2, nEmbd: 64 } : presetConfig(size);
const model = new GPT2(config, { seed: 1 });
const params = new Map(model.params.names().map((n) => [n, model.params.get(n)]));
exportTllm(out, config, params, { scheme: { weights, embedding: weights, group: Number(group) }, tokenizer: 'gpt2', source: { random: size, seed: 1 } });
console.log(`wrote ${out}: random ${size} GPT-2, ${weights}${weights === 'int8' ? ` (group ${group})` : ''}`);
