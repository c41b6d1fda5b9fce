// Element-wise and row-wise kernels in WebAssembly SIMD where they are a visible share of a step or of label scoring:
// AdamW, the bias add, GELU forward/backward (tanh via a vector exp), the row softmax over 50257-wide logits, its fused
// cross-entropy backward and the rows' log-sum-exp. Each body is written once over "lanes" and emitted twice (4 lanes
// for the bulk, 1 splatted lane for the tail). Formulas and argument orders are those of ref.ts / llm.c.
import { hsum, threadRange } from './common.js';
import { f32, f32x4, i32, type F32, type FuncBuilder, type Local, type ModuleBuilder, type ParamLocals, type V128 } from './emitter.js';
import { exp4, f32x4Const, tanh4 } from './math.js';
import { forLanes, type Lanes } from './lanes.js';

const F = 4;

/** An element-wise export over n elements split across threads in runs of 16. */
function addElementwise<P extends Record<string, 'i32' | 'f32'>>(
  m: ModuleBuilder,
  name: string,
  params: P,
  body: (f: FuncBuilder, p: ParamLocals<P>, l: Lanes) => void,
): void {
  m.func(name, { ...params, n: 'i32', threads: 'i32', t0: 'i32', t1: 'i32' } as const, 'none', (f, p) => {
    const [t, lo, hi] = [f.local('i32'), f.local('i32'), f.local('i32')];
    f.for(t, p.t0, p.t1, 1, () => {
      threadRange(f, p.n, 16, p.threads, t, lo, hi);
      forLanes(f, i32.mul(hi, F), (l) => body(f, p, l), i32.mul(lo, F));
    });
  });
}

/** Emits smax = the largest of the C floats at byte address x (one row), through the vector vmax. */
function rowMax(f: FuncBuilder, x: Local<'i32'>, C: Local<'i32'>, vmax: Local<'v128'>, smax: Local<'f32'>): void {
  const lanesMax = (v: V128): F32 => f32.max(f32.max(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)), f32.max(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
  f.set(vmax, f32x4Const(-Infinity));
  forLanes(f, i32.mul(C, F), (l) => f.set(vmax, f32x4.max(vmax, l.load(x))));
  f.set(smax, lanesMax(vmax));
}

const GELU_SCALE = Math.sqrt(2 / Math.PI);
const GELU_CUBE = 0.044715;

export type ElementwiseExport = 'adamw' | 'addBias' | 'geluForward' | 'geluBackward' | 'softmaxForward' | 'rowMaxSumExp' | 'crossEntropySoftmaxBackward';

export function addElementwiseKernels(m: ModuleBuilder): void {
  const splat = (x: Local<'f32'>): V128 => f32x4.splat(x);

  // adamw(params, grads, m, v, lr, beta1, beta2, eps, weightDecay, c1, c2, n, ...) with c1 = 1 - β1^t, c2 = 1 - β2^t
  const adamParams = {
    params: 'i32', grads: 'i32', m: 'i32', v: 'i32', lr: 'f32', beta1: 'f32', beta2: 'f32', eps: 'f32', weightDecay: 'f32', c1: 'f32', c2: 'f32',
  } as const;
  addElementwise(m, 'adamw', adamParams, (f, p, l) => {
    const g = f.local('v128');
    const mi = f.local('v128');
    const vi = f.local('v128');
    const w = f.local('v128');
    f.set(g, l.load(p.grads));
    f.set(mi, f32x4.add(f32x4.mul(splat(p.beta1), l.load(p.m)), f32x4.mul(f32x4.sub(f32x4Const(1), splat(p.beta1)), g)));
    f.set(vi, f32x4.add(f32x4.mul(splat(p.beta2), l.load(p.v)), f32x4.mul(f32x4.mul(f32x4.sub(f32x4Const(1), splat(p.beta2)), g), g)));
    l.store(p.m, mi);
    l.store(p.v, vi);
    f.set(w, l.load(p.params));
    const mhat = f32x4.div(mi, splat(p.c1));
    const vhat = f32x4.div(vi, splat(p.c2));
    const update = f32x4.add(f32x4.div(mhat, f32x4.add(f32x4.sqrt(vhat), splat(p.eps))), f32x4.mul(splat(p.weightDecay), w));
    l.store(p.params, f32x4.sub(w, f32x4.mul(splat(p.lr), update)));
  });

  // out = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
  addElementwise(m, 'geluForward', { out: 'i32', inp: 'i32' } as const, (f, p, l) => {
    const x = f.local('v128');
    f.set(x, l.load(p.inp));
    const th = tanh4(f, f32x4.mul(f32x4Const(GELU_SCALE), f32x4.add(x, f32x4.mul(f32x4Const(GELU_CUBE), f32x4.mul(x, f32x4.mul(x, x))))));
    l.store(p.out, f32x4.mul(f32x4.mul(f32x4Const(0.5), x), f32x4.add(f32x4Const(1), th)));
  });

  // dinp += (0.5·(1 + tanh) + 0.5·x·(1 - tanh²)·√(2/π)·(1 + 3·0.044715·x²)) · dout
  addElementwise(m, 'geluBackward', { dinp: 'i32', inp: 'i32', dout: 'i32' } as const, (f, p, l) => {
    const x = f.local('v128');
    const th = f.local('v128');
    f.set(x, l.load(p.inp));
    const x2 = f32x4.mul(x, x);
    f.set(th, tanh4(f, f32x4.mul(f32x4Const(GELU_SCALE), f32x4.add(x, f32x4.mul(f32x4Const(GELU_CUBE), f32x4.mul(x, x2))))));
    const sech2 = f32x4.sub(f32x4Const(1), f32x4.mul(th, th));
    const slope = f32x4.mul(f32x4Const(GELU_SCALE), f32x4.add(f32x4Const(1), f32x4.mul(f32x4Const(3 * GELU_CUBE), x2)));
    const local = f32x4.add(f32x4.mul(f32x4Const(0.5), f32x4.add(f32x4Const(1), th)), f32x4.mul(f32x4.mul(f32x4.mul(f32x4Const(0.5), x), sech2), slope));
    l.store(p.dinp, f32x4.add(l.load(p.dinp), f32x4.mul(local, l.load(p.dout))));
  });

  // addBias(out, bias, N, C, ...): out(N,C) += bias(C) on every row; rows split across threads
  m.func('addBias', { out: 'i32', bias: 'i32', N: 'i32', C: 'i32', threads: 'i32', t0: 'i32', t1: 'i32' }, 'none', (f, p) => {
    const [t, lo, hi, r, y] = ['t', 'lo', 'hi', 'r', 'y'].map(() => f.local('i32'));
    f.for(t, p.t0, p.t1, 1, () => {
      threadRange(f, p.N, 1, p.threads, t, lo, hi);
      f.for(r, lo, hi, 1, () => {
        f.set(y, i32.add(p.out, i32.mul(i32.mul(r, p.C), F)));
        forLanes(f, i32.mul(p.C, F), (l) => l.store(y, f32x4.add(l.load(y), l.load(p.bias))));
      });
    });
  });

  // softmaxForward(out, inp, N, C, ...): rows split across threads; out may alias inp
  m.func('softmaxForward', { out: 'i32', inp: 'i32', N: 'i32', C: 'i32', threads: 'i32', t0: 'i32', t1: 'i32' }, 'none', (f, p) => {
    const [t, lo, hi, r, x, y] = ['t', 'lo', 'hi', 'r', 'x', 'y'].map(() => f.local('i32'));
    const vmax = f.local('v128');
    const vsum = f.local('v128');
    const smax = f.local('f32');
    const ssum = f.local('f32');
    const e = f.local('v128');
    f.for(t, p.t0, p.t1, 1, () => {
      threadRange(f, p.N, 1, p.threads, t, lo, hi);
      f.for(r, lo, hi, 1, () => {
        f.set(x, i32.add(p.inp, i32.mul(i32.mul(r, p.C), F)));
        f.set(y, i32.add(p.out, i32.mul(i32.mul(r, p.C), F)));
        rowMax(f, x, p.C, vmax, smax);
        f.set(vsum, f32x4Const(0));
        f.set(ssum, f32.const(0));
        forLanes(f, i32.mul(p.C, F), (l) => {
          f.set(e, exp4(f, f32x4.sub(l.load(x), f32x4.splat(smax))));
          l.store(y, e);
          if (l.wide) f.set(vsum, f32x4.add(vsum, e));
          else f.set(ssum, f32.add(ssum, f32x4.extract_lane(e, 0)));
        });
        f.set(vsum, f32x4.splat(f32.add(ssum, hsum(vsum))));
        forLanes(f, i32.mul(p.C, F), (l) => l.store(y, f32x4.div(l.load(y), vsum)));
      });
    });
  });

  // rowMaxSumExp(ms, inp, N, C, ...): ms[2r] = max of row r, ms[2r+1] = Σ exp(x − max) over it, summed with Kahan's
  // compensation in each lane (a plain float32 sum over GPT-2's 50257 logits misses float64's by more than 1e-6,
  // which a log-likelihood would carry); rows split across threads. The caller takes max + log(sum).
  m.func('rowMaxSumExp', { ms: 'i32', inp: 'i32', N: 'i32', C: 'i32', threads: 'i32', t0: 'i32', t1: 'i32' }, 'none', (f, p) => {
    const [t, lo, hi, r, x] = ['t', 'lo', 'hi', 'r', 'x'].map(() => f.local('i32'));
    const [vmax, vsum, vc, y, s2] = [0, 1, 2, 3, 4].map(() => f.local('v128'));
    const smax = f.local('f32');
    f.for(t, p.t0, p.t1, 1, () => {
      threadRange(f, p.N, 1, p.threads, t, lo, hi);
      f.for(r, lo, hi, 1, () => {
        f.set(x, i32.add(p.inp, i32.mul(i32.mul(r, p.C), F)));
        rowMax(f, x, p.C, vmax, smax);
        f.set(vsum, f32x4Const(0));
        f.set(vc, f32x4Const(0));
        forLanes(f, i32.mul(p.C, F), (l) => {
          // the tail's lanes 1..3 repeat lane 0's value: only lane 0 is kept for it
          const e = exp4(f, f32x4.sub(l.load(x), f32x4.splat(smax)));
          f.set(y, l.wide ? e : f32x4.shuffle(e, f32x4Const(0), [0, 4, 4, 4]));
          f.set(y, f32x4.sub(y, vc));
          f.set(s2, f32x4.add(vsum, y));
          f.set(vc, f32x4.sub(f32x4.sub(s2, vsum), y));
          f.set(vsum, s2);
        });
        const out = i32.add(p.ms, i32.mul(r, 2 * F));
        f.emit(f32.store(out, smax));
        f.emit(f32.store(out, hsum(f32x4.sub(vsum, vc)), F));
      });
    });
  });

  // crossEntropySoftmaxBackward(dlogits, dlosses, probs, targets, N, V, ...): dlogits(N,V) += (probs − onehot(target))·dloss
  // per row, rows with a negative target skipped; rows split across threads (as the js tier: += p·d, then −d at the target)
  const ceParams = { dlogits: 'i32', dlosses: 'i32', probs: 'i32', targets: 'i32', N: 'i32', V: 'i32', threads: 'i32', t0: 'i32', t1: 'i32' } as const;
  m.func('crossEntropySoftmaxBackward', ceParams, 'none', (f, p) => {
    const [t, lo, hi, r, g, q, tgt] = ['t', 'lo', 'hi', 'r', 'g', 'q', 'tgt'].map(() => f.local('i32'));
    const d = f.local('f32');
    const dv = f.local('v128');
    f.for(t, p.t0, p.t1, 1, () => {
      threadRange(f, p.N, 1, p.threads, t, lo, hi);
      f.for(r, lo, hi, 1, () => {
        f.set(tgt, i32.load(i32.add(p.targets, i32.mul(r, F))));
        f.if(i32.ge_s(tgt, 0), () => {
          f.set(d, f32.load(i32.add(p.dlosses, i32.mul(r, F))));
          f.set(dv, f32x4.splat(d));
          f.set(g, i32.add(p.dlogits, i32.mul(i32.mul(r, p.V), F)));
          f.set(q, i32.add(p.probs, i32.mul(i32.mul(r, p.V), F)));
          forLanes(f, i32.mul(p.V, F), (l) => l.store(g, f32x4.add(l.load(g), f32x4.mul(l.load(q), dv))));
          const at = i32.add(g, i32.mul(tgt, F));
          f.emit(f32.store(at, f32.sub(f32.load(at), d)));
        });
      });
    });
  });
}
