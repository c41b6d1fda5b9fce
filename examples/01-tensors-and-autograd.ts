// A walk-through of tinyllm-ts's engine: tensors and views, broadcasting, autograd, a gradient check,
// and a tiny model trained with AdamW. Run: npx tsx examples/01-tensors-and-autograd.ts
import { Rng } from '../src/util/rng.js';
import { arange, randn, tensor } from '../src/tensor/index.js';
import { crossEntropy, gradcheck, noGrad } from '../src/autograd/index.js';
import { AdamW, Linear, Module } from '../src/nn/index.js';
import type { Tensor } from '../src/tensor/index.js';

// 1. Tensors are strided views over one flat Float32Array (or Float64Array).
const a = arange(6).reshape(2, 3); // (2,3): [[0,1,2],[3,4,5]]
const t = a.transpose(); // (3,2), same storage, swapped strides
console.log('a      ', a.tolist());
console.log('aᵀ     ', t.tolist(), 'shares storage:', t.data === a.data, 'strides', t.strides);

// 2. NumPy broadcasting: (2,3) + (3) -> (2,3); reductions over axes with keepdim.
const b = tensor([10, 20, 30]);
console.log('a + b  ', a.add(b).tolist());
console.log('row sum', a.sum(1, true).tolist(), 'max', a.max().item());

// 3. Autograd: mark leaves with requiresGrad, build an expression, call backward() on a scalar.
const x = tensor([[1, 2], [3, 4]], { requiresGrad: true });
const w = tensor([[0.5], [-1]], { requiresGrad: true });
const y = x.matmul(w).tanh().sum(); // Σ tanh(x·w)
y.backward();
console.log('y      ', y.item());
console.log('dy/dx  ', x.grad!.tolist());
console.log('dy/dw  ', w.grad!.tolist());

// 4. Trust, but verify: compare backward() with float64 finite differences.
const rng = new Rng(0);
const inputs = [randn([3, 4], { rng, dtype: 'float64' }), randn([4, 2], { rng, dtype: 'float64' })];
const check = gradcheck((p, q) => p.matmul(q).softmax(-1), inputs);
console.log(check.message);

// 5. A model: two Linear layers learn to tell which of 4 inputs is largest (4 classes).
class Classifier extends Module {
  fc1 = new Linear(4, 32, { rng });
  fc2 = new Linear(32, 4, { rng });
  forward(inp: Tensor): Tensor {
    return this.fc2.forward(this.fc1.forward(inp).gelu()); // (N,4) -> (N,32) -> (N,4) logits
  }
}
const model = new Classifier();
const opt = new AdamW(model.parameters(), { lr: 1e-2 });
for (let step = 0; step <= 300; step++) {
  const batch = randn([64, 4], { rng });
  const vals = batch.tolist() as number[][];
  const targets = vals.map((r) => r.indexOf(Math.max(...r)));
  opt.zeroGrad();
  const loss = crossEntropy(model.forward(batch), targets);
  loss.backward();
  opt.step();
  if (step % 100 === 0) console.log(`step ${step}: loss ${loss.item().toFixed(4)}`);
}
const test = randn([1000, 4], { rng });
const logits = noGrad(() => model.forward(test)).tolist() as number[][];
const rows = test.tolist() as number[][];
const correct = rows.filter((r, i) => r.indexOf(Math.max(...r)) === logits[i].indexOf(Math.max(...logits[i]))).length;
console.log(`accuracy on 1000 new samples: ${(correct / 10).toFixed(1)}%`);
