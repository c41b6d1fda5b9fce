// Matrix-vector kernels for decoding (one token: M = 1, or a few rows), memory-bound so no packing:
// f32 c(M,N) (+)= a(M,K)·op(b)(K,N) and int8 c(M,N) = a(M,K)·(scales ⊙ w(N,K))ᵀ with per-block scales.
// Threads split the N outputs. Like llm.c's matmul_forward, b is usually the (N,K) weight, read row by row.
import { hsum, threadRange } from './common.js';
import { f32, f32x4, i16x8, i32, i32x4, select, v128, type F32, type FuncBuilder, type I32, type Local, type ModuleBuilder } from './emitter.js';

const F = 4;
/** Activations are quantized to int16 in [-A16_MAX, A16_MAX] per row. */
export const A16_MAX = 32767;

/** Emits out = (beta ? out : 0) + value. */
function writeOut(f: FuncBuilder, addr: I32, value: F32, beta: Local<'i32'>): void {
  f.if(beta, () => f.emit(f32.store(addr, f32.add(f32.load(addr), value))), () => f.emit(f32.store(addr, value)));
}

/**
 * Adds `matvec(c, a, b, M, K, N, transB, accumulate, threads, t0, t1)`: for each of the M rows x of a,
 * c_row(N) (+)= x(K)·op(b), b stored (N,K) when transB (dot products of contiguous rows; each block of b's rows meets
 * every row of a, so b is read from memory once) else (K,N) (scaled sums of contiguous rows). Threads t0..t1-1 of
 * `threads` each take a run of 16 columns.
 */
export function addMatvec(m: ModuleBuilder): void {
  const params = {
    c: 'i32', a: 'i32', b: 'i32', M: 'i32', K: 'i32', N: 'i32', transB: 'i32', accumulate: 'i32',
    threads: 'i32', t0: 'i32', t1: 'i32',
  } as const;
  m.func('matvec', params, 'none', (f, p) => {
    const [t, lo, hi, row, n, k, x, out, w] = ['t', 'lo', 'hi', 'row', 'n', 'k', 'x', 'out', 'w'].map(() => f.local('i32'));
    const acc = [0, 1, 2, 3].map(() => f.local('v128'));
    const s = f.local('f32');
    const rowB = (j: I32) => i32.add(p.b, i32.mul(i32.mul(j, p.K), F)); // &b[j][0] when transB

    // transB: R rows of b at once, R accumulators sharing each load of x; scalar tail over k
    const dots = (R: number) => {
      for (const v of acc.slice(0, R)) f.set(v, v128.const(new Uint8Array(16)));
      f.for(k, 0, i32.and(p.K, -4), 4, () => {
        const xv = v128.load(i32.add(x, i32.mul(k, F)));
        acc.slice(0, R).forEach((v, r) => f.set(v, f32x4.add(v, f32x4.mul(xv, v128.load(i32.add(rowB(i32.add(n, r)), i32.mul(k, F)))))));
      });
      for (let r = 0; r < R; r++) {
        f.set(s, hsum(acc[r]));
        f.for(k, i32.and(p.K, -4), p.K, 1, () => {
          f.set(s, f32.add(s, f32.mul(f32.load(i32.add(x, i32.mul(k, F))), f32.load(i32.add(rowB(i32.add(n, r)), i32.mul(k, F))))));
        });
        writeOut(f, i32.add(out, i32.mul(i32.add(n, r), F)), s, p.accumulate);
      }
    };
    // not transB: V vectors (4V columns) of c held while sweeping k down b's rows
    const axpys = (V: number) => {
      for (const v of acc.slice(0, V)) f.set(v, v128.const(new Uint8Array(16)));
      f.set(w, i32.add(p.b, i32.mul(n, F)));
      f.for(k, 0, p.K, 1, () => {
        const xs = v128.load32_splat(i32.add(x, i32.mul(k, F)));
        acc.slice(0, V).forEach((v, h) => f.set(v, f32x4.add(v, f32x4.mul(xs, v128.load(w, 16 * h)))));
        f.inc(w, i32.mul(p.N, F));
      });
      acc.slice(0, V).forEach((v, h) => {
        const addr = i32.add(out, i32.mul(n, F));
        f.if(
          p.accumulate,
          () => f.emit(v128.store(addr, f32x4.add(v128.load(addr, 16 * h), v), 16 * h)),
          () => f.emit(v128.store(addr, v, 16 * h)),
        );
      });
    };
    const column = () => {
      f.set(s, f32.const(0));
      f.set(w, i32.add(p.b, i32.mul(n, F)));
      f.for(k, 0, p.K, 1, () => {
        f.set(s, f32.add(s, f32.mul(f32.load(i32.add(x, i32.mul(k, F))), f32.load(w))));
        f.inc(w, i32.mul(p.N, F));
      });
      writeOut(f, i32.add(out, i32.mul(n, F)), s, p.accumulate);
    };
    // runs n over [n, hi) in steps of `step` while a whole step fits
    const sweep = (step: number, body: () => void) => {
      f.block((exit) => f.loop((again) => {
        f.brIf(exit, i32.gt_s(i32.add(n, step), hi));
        body();
        f.inc(n, step);
        f.br(again);
      }));
    };

    const rowOf = () => {
      f.set(x, i32.add(p.a, i32.mul(i32.mul(row, p.K), F)));
      f.set(out, i32.add(p.c, i32.mul(i32.mul(row, p.N), F)));
    };
    f.for(t, p.t0, p.t1, 1, () => {
      threadRange(f, p.N, 16, p.threads, t, lo, hi);
      f.set(n, lo);
      f.if(
        p.transB,
        // R rows of b against every row of a before the next R: b, the large operand, is streamed once (its R rows
        // stay in L1 across the rows of a), so a few rows cost about what one does
        () => {
          for (const R of [4, 1]) {
            sweep(R, () => f.for(row, 0, p.M, 1, () => {
              rowOf();
              dots(R);
            }));
          }
        },
        () => f.for(row, 0, p.M, 1, () => {
          rowOf();
          f.set(n, lo);
          sweep(16, () => axpys(4));
          sweep(4, () => axpys(1));
          sweep(1, column);
        }),
      );
    });
  });
}

/**
 * Adds `quantizeI16(a, q, qscale, M, K, threads, t0, t1)`: each row i of the f32 a(M,K) as int16 q(M,K) with one
 * scale, a[i][k] ≈ qscale[i]·q[i][k]: qscale[i] = max_k |a[i][k]| / A16_MAX and q rounded to nearest (ties to
 * even), so |q| ≤ A16_MAX. Float32 arithmetic, the same on every platform. Threads split the rows.
 */
export function addQuantizeI16(m: ModuleBuilder): void {
  const params = { a: 'i32', q: 'i32', qscale: 'i32', M: 'i32', K: 'i32', threads: 'i32', t0: 'i32', t1: 'i32' } as const;
  m.func('quantizeI16', params, 'none', (f, p) => {
    const [t, lo, hi, row, k, x, qr, k8, k4] = ['t', 'lo', 'hi', 'row', 'k', 'x', 'qr', 'k8', 'k4'].map(() => f.local('i32'));
    const mx = f.local('v128');
    const [amax, inv] = [f.local('f32'), f.local('f32')];
    const scaled = (at: I32) => i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(at), f32x4.splat(inv))));
    f.set(k8, i32.and(p.K, -8));
    f.set(k4, i32.and(p.K, -4));
    f.for(t, p.t0, p.t1, 1, () => {
      threadRange(f, p.M, 1, p.threads, t, lo, hi);
      f.for(row, lo, hi, 1, () => {
        f.set(x, i32.add(p.a, i32.mul(i32.mul(row, p.K), F)));
        f.set(qr, i32.add(p.q, i32.shl(i32.mul(row, p.K), 1)));
        // the row's max |a| (NaN propagates: the row's outputs are then NaN, as with float weights)
        f.set(mx, v128.const(new Uint8Array(16)));
        f.for(k, 0, k4, 4, () => f.set(mx, f32x4.max(mx, f32x4.abs(v128.load(i32.add(x, i32.mul(k, F)))))));
        f.set(amax, f32.max(f32.max(f32x4.extract_lane(mx, 0), f32x4.extract_lane(mx, 1)), f32.max(f32x4.extract_lane(mx, 2), f32x4.extract_lane(mx, 3))));
        f.for(k, k4, p.K, 1, () => f.set(amax, f32.max(amax, f32.abs(f32.load(i32.add(x, i32.mul(k, F)))))));
        f.set(inv, select(f32.div(f32.const(A16_MAX), amax), f32.const(0), f32.gt(amax, f32.const(0))));
        f.emit(f32.store(i32.add(p.qscale, i32.mul(row, F)), f32.div(amax, f32.const(A16_MAX))));
        f.for(k, 0, k8, 8, () => {
          const at = i32.add(x, i32.mul(k, F));
          f.emit(v128.store(i32.add(qr, i32.shl(k, 1)), i16x8.narrow_i32x4_s(scaled(at), scaled(i32.add(at, 16)))));
        });
        f.for(k, k8, p.K, 1, () => {
          f.emit(i32.store16(i32.add(qr, i32.shl(k, 1)), i32.trunc_sat_f32_s(f32.nearest(f32.mul(f32.load(i32.add(x, i32.mul(k, F))), inv)))));
        });
      });
    });
  });
}

/**
 * Adds `matmulInt8(c, a, ascale, w, scales, bias, biased, M, K, N, B, threads, t0, t1)`: c(M,N) = a(M,K)·(scales ⊙ w)ᵀ
 * (+ bias(N) when biased) with integer dot products. a is int16 (M,K), row i standing for ascale[i]·a[i][k] (see
 * quantizeI16); w is int8 (N,K) row-major, the layout of the f32 weight it quantizes; scales is f32 (N, ceil(K/B)),
 * one per block of B values along a row (B a multiple of 16). Per block, i32x4.dot_i16x8_s sums exact products in
 * i32 lanes (B ≤ 1024 keeps |sum| < 2^31 for |w| ≤ 127, |a| ≤ 32767), then the block's sum is converted to f32 and
 * scaled. Weights are widened as they are loaded (v128.load8x8_s). Threads split N; 4 weight rows share each load
 * of a; all M rows of a are run per weight row block, so prefill streams the weights once.
 */
export function addMatmulInt8(m: ModuleBuilder): void {
  const params = {
    c: 'i32', a: 'i32', ascale: 'i32', w: 'i32', scales: 'i32', bias: 'i32', biased: 'i32', M: 'i32', K: 'i32', N: 'i32', B: 'i32',
    threads: 'i32', t0: 'i32', t1: 'i32',
  } as const;
  m.func('matmulInt8', params, 'none', (f, p) => {
    const [t, lo, hi, n, row, k, x, end, nb, kv, sp, ti] = ['t', 'lo', 'hi', 'n', 'row', 'k', 'x', 'end', 'nb', 'kv', 'sp', 'ti'].map(() => f.local('i32'));
    const iacc = [0, 1, 2, 3].map(() => f.local('v128'));
    const facc = [0, 1, 2, 3].map(() => f.local('v128'));
    const [xl, xh] = [0, 1].map(() => f.local('v128'));
    const s = f.local('f32');
    const wp = [0, 1, 2, 3].map(() => f.local('i32')); // &w[n+r][0], 1 byte per weight
    const xk = f.local('i32');
    const [ahead, last] = [f.local('i32'), f.local('i32')]; // &w[n+4][0] (see below), &w[N-1][K-1]
    const scaleAt = (r: number, block: I32) => f32.load(i32.add(p.scales, i32.mul(i32.add(i32.mul(i32.add(n, r), nb), block), F)));

    // R weight rows n..n+R-1 against row `row` of a
    const dots = (R: number) => {
      for (const v of facc.slice(0, R)) f.set(v, v128.const(new Uint8Array(16)));
      wp.slice(0, R).forEach((w, r) => f.set(w, i32.add(p.w, i32.mul(i32.add(n, r), p.K))));
      if (R === 4) f.set(ahead, i32.add(p.w, i32.mul(i32.add(n, 4), p.K)));
      f.set(k, 0);
      f.set(sp, 0); // block index
      f.block((exit) => f.loop((again) => {
        f.brIf(exit, i32.ge_s(k, kv));
        f.set(end, i32.min_s(i32.add(k, p.B), kv));
        for (const v of iacc.slice(0, R)) f.set(v, v128.const(new Uint8Array(16)));
        f.for(k, k, end, 16, () => {
          // Touch one byte of the next 4 rows per step (one 64-byte line per 16 columns, so the next block's
          // 4K bytes over this block's K/16 steps; clamped to the last weight): decoding streams every weight
          // from memory once per token, and these early loads keep the line fills going while the integer
          // dot products run (124M int8 decode: 49 → 56–62 tokens/s at one thread; wasm has no prefetch instruction).
          if (R === 4) f.emit(i32.load8_u(i32.min_s(i32.add(ahead, i32.shl(k, 2)), last)));
          f.set(xk, i32.add(x, i32.shl(k, 1)));
          f.set(xl, v128.load(xk));
          f.set(xh, v128.load(xk, 16));
          iacc.slice(0, R).forEach((v, r) => {
            const at = i32.add(wp[r], k);
            f.set(v, i32x4.add(v, i32x4.add(i32x4.dot_i16x8_s(v128.load8x8_s(at), xl), i32x4.dot_i16x8_s(v128.load8x8_s(at, 8), xh))));
          });
        });
        iacc.slice(0, R).forEach((v, r) => f.set(facc[r], f32x4.add(facc[r], f32x4.mul(f32x4.convert_i32x4_s(v), f32x4.splat(scaleAt(r, sp))))));
        f.inc(sp);
        f.br(again);
      }));
      for (let r = 0; r < R; r++) {
        // the last K mod 16 values, in the last block
        f.set(ti, 0);
        f.for(k, kv, p.K, 1, () => f.set(ti, i32.add(ti, i32.mul(i32.load8_s(i32.add(wp[r], k)), i32.load16_s(i32.add(x, i32.shl(k, 1)))))));
        f.set(s, f32.mul(f32.add(hsum(facc[r]), f32.mul(f32.convert_i32_s(ti), scaleAt(r, i32.sub(nb, 1)))), f32.load(i32.add(p.ascale, i32.mul(row, F)))));
        f.if(p.biased, () => f.set(s, f32.add(s, f32.load(i32.add(p.bias, i32.mul(i32.add(n, r), F))))));
        f.emit(f32.store(i32.add(p.c, i32.mul(i32.add(i32.mul(row, p.N), i32.add(n, r)), F)), s));
      }
    };
    // runs n over [n, hi) in blocks of R weight rows while a whole block fits; each block against every row of a
    const sweep = (R: number) => {
      f.block((exit) => f.loop((again) => {
        f.brIf(exit, i32.gt_s(i32.add(n, R), hi));
        f.for(row, 0, p.M, 1, () => {
          f.set(x, i32.add(p.a, i32.shl(i32.mul(row, p.K), 1)));
          dots(R);
        });
        f.inc(n, R);
        f.br(again);
      }));
    };

    f.set(nb, i32.div_s(i32.add(p.K, i32.sub(p.B, 1)), p.B));
    f.set(kv, i32.and(p.K, -16));
    f.set(last, i32.add(p.w, i32.sub(i32.mul(p.N, p.K), 1)));
    f.for(t, p.t0, p.t1, 1, () => {
      threadRange(f, p.N, 4, p.threads, t, lo, hi);
      f.set(n, lo);
      sweep(4);
      sweep(1);
    });
  });
}
