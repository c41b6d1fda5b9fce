// LayerNorm forward and backward in WebAssembly SIMD, llm.c's layernorm_forward / layernorm_backward (as in
// ref.ts): biased variance, rstd = 1/sqrt(var + eps), saved mean and rstd per row. Forward and the dinp part
// of backward split rows across threads; dweight/dbias (sums over all rows) split columns, as the js tier does.
import { threadRange } from './common.js';
import { f32, f32x4, i32, type FuncBuilder, type I32, type Local, type ModuleBuilder, type V128 } from './emitter.js';
import { forLanes, LaneSum } from './lanes.js';

export type LayernormExport = 'layernormForward' | 'layernormBackwardRows' | 'layernormBackwardCols';

const F = 4;

/** Sets ptr = base + r·rowBytes for each (ptr, base) pair. */
function rowPtrs(f: FuncBuilder, r: I32, rowBytes: I32, pairs: [Local<'i32'>, I32][]): void {
  for (const [ptr, base] of pairs) f.set(ptr, i32.add(base, i32.mul(r, rowBytes)));
}

/**
 * Adds, with byte offsets for arrays and (threads, t0, t1) last:
 *   layernormForward(out, mean, rstd, inp, weight, bias, N, C, eps, …)        rows split across threads
 *   layernormBackwardRows(dinp, dout, inp, weight, mean, rstd, N, C, …)       dinp(N,C) +=, rows split
 *   layernormBackwardCols(dweight, dbias, dout, inp, mean, rstd, N, C, …)     dweight, dbias (C) +=, columns split
 */
export function addLayernorm(m: ModuleBuilder): void {
  const tail = { threads: 'i32', t0: 'i32', t1: 'i32' } as const;
  const vLocal = (f: FuncBuilder) => f.local('v128');

  const fwd = { out: 'i32', mean: 'i32', rstd: 'i32', inp: 'i32', weight: 'i32', bias: 'i32', N: 'i32', C: 'i32', eps: 'f32', ...tail } as const;
  m.func('layernormForward', fwd, 'none', (f, p) => {
    const [t, lo, hi, r, cB, x, y] = Array.from({ length: 7 }, () => f.local('i32'));
    const mu = f.local('f32');
    const s = f.local('f32');
    const d = vLocal(f);
    const sum = new LaneSum(f);
    const invC = f32.div(f32.const(1), f32.convert_i32_s(p.C));
    f.set(cB, i32.mul(p.C, F));
    f.for(t, p.t0, p.t1, 1, () => {
      threadRange(f, p.N, 1, p.threads, t, lo, hi);
      f.for(r, lo, hi, 1, () => {
        rowPtrs(f, r, cB, [[x, p.inp], [y, p.out]]);
        sum.reset();
        forLanes(f, cB, (l) => sum.add(l, l.load(x)));
        f.set(mu, f32.mul(sum.value(), invC));
        sum.reset();
        forLanes(f, cB, (l) => {
          f.set(d, f32x4.sub(l.load(x), f32x4.splat(mu)));
          sum.add(l, f32x4.mul(d, d));
        });
        f.set(s, f32.div(f32.const(1), f32.sqrt(f32.add(f32.mul(sum.value(), invC), p.eps))));
        forLanes(f, cB, (l) =>
          l.store(y, f32x4.add(f32x4.mul(f32x4.mul(f32x4.sub(l.load(x), f32x4.splat(mu)), f32x4.splat(s)), l.load(p.weight)), l.load(p.bias))),
        );
        f.emit(f32.store(i32.add(p.mean, i32.mul(r, F)), mu));
        f.emit(f32.store(i32.add(p.rstd, i32.mul(r, F)), s));
      });
    });
  });

  const rows = { dinp: 'i32', dout: 'i32', inp: 'i32', weight: 'i32', mean: 'i32', rstd: 'i32', N: 'i32', C: 'i32', ...tail } as const;
  m.func('layernormBackwardRows', rows, 'none', (f, p) => {
    const [t, lo, hi, r, cB, x, g, dx] = Array.from({ length: 8 }, () => f.local('i32'));
    const [mu, s, dnormMean, dnormNormMean] = [0, 1, 2, 3].map(() => f.local('f32'));
    const dnorm = vLocal(f);
    const norm = vLocal(f);
    const s1 = new LaneSum(f);
    const s2 = new LaneSum(f);
    const invC = f32.div(f32.const(1), f32.convert_i32_s(p.C));
    f.set(cB, i32.mul(p.C, F));
    f.for(t, p.t0, p.t1, 1, () => {
      threadRange(f, p.N, 1, p.threads, t, lo, hi);
      f.for(r, lo, hi, 1, () => {
        rowPtrs(f, r, cB, [[x, p.inp], [g, p.dout], [dx, p.dinp]]);
        f.set(mu, f32.load(i32.add(p.mean, i32.mul(r, F))));
        f.set(s, f32.load(i32.add(p.rstd, i32.mul(r, F))));
        const normOf = (x4: V128) => f32x4.mul(f32x4.sub(x4, f32x4.splat(mu)), f32x4.splat(s));
        // two reductions: mean of dnorm and mean of dnorm·norm
        s1.reset();
        s2.reset();
        forLanes(f, cB, (l) => {
          f.set(dnorm, f32x4.mul(l.load(p.weight), l.load(g)));
          s1.add(l, dnorm);
          s2.add(l, f32x4.mul(dnorm, normOf(l.load(x))));
        });
        f.set(dnormMean, f32.mul(s1.value(), invC));
        f.set(dnormNormMean, f32.mul(s2.value(), invC));
        forLanes(f, cB, (l) => {
          f.set(norm, normOf(l.load(x)));
          const delta = f32x4.sub(f32x4.sub(f32x4.mul(l.load(p.weight), l.load(g)), f32x4.splat(dnormMean)), f32x4.mul(norm, f32x4.splat(dnormNormMean)));
          l.store(dx, f32x4.add(l.load(dx), f32x4.mul(delta, f32x4.splat(s))));
        });
      });
    });
  });

  const cols = { dweight: 'i32', dbias: 'i32', dout: 'i32', inp: 'i32', mean: 'i32', rstd: 'i32', N: 'i32', C: 'i32', ...tail } as const;
  m.func('layernormBackwardCols', cols, 'none', (f, p) => {
    const [t, lo, hi, r, cB, x, g, dw, db] = Array.from({ length: 9 }, () => f.local('i32'));
    const mu = vLocal(f);
    const s = vLocal(f);
    const go = vLocal(f);
    f.set(cB, i32.mul(p.C, F));
    f.for(t, p.t0, p.t1, 1, () => {
      // runs of 16 columns: whole vectors, and each thread's dweight/dbias slice stays in cache over the rows
      threadRange(f, p.C, 16, p.threads, t, lo, hi);
      f.set(dw, i32.add(p.dweight, i32.mul(lo, F)));
      f.set(db, i32.add(p.dbias, i32.mul(lo, F)));
      f.for(r, 0, p.N, 1, () => {
        rowPtrs(f, r, cB, [[x, i32.add(p.inp, i32.mul(lo, F))], [g, i32.add(p.dout, i32.mul(lo, F))]]);
        f.set(mu, f32x4.splat(f32.load(i32.add(p.mean, i32.mul(r, F)))));
        f.set(s, f32x4.splat(f32.load(i32.add(p.rstd, i32.mul(r, F)))));
        forLanes(f, i32.mul(i32.sub(hi, lo), F), (l) => {
          f.set(go, l.load(g));
          l.store(db, f32x4.add(l.load(db), go));
          l.store(dw, f32x4.add(l.load(dw), f32x4.mul(f32x4.mul(f32x4.sub(l.load(x), mu), s), go)));
        });
      });
    });
  });
}
