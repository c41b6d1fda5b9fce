// f32 matmul c(M,N) (+)= op(a)(M,K)·op(b)(K,N) as WebAssembly SIMD, GotoBLAS/BLIS-style: blocks of op(b)
// (KC×NC) are packed into 8-column panels and blocks of op(a) (MC×KC) into 4-row panels in per-thread
// scratch, then a 4x8 register-tiled micro-kernel (8 f32x4 accumulators) sweeps them. Transposed
// operands only change the packing strides, so A·B, Aᵀ·B and A·Bᵀ share one code path.
import { threadRange } from './common.js';
import { f32, f32x4, i32, select, v128, type FuncBuilder, type FuncRef, type I32, type Local, type ModuleBuilder, type V128 } from './emitter.js';

/** Register tile: MR rows × NR columns of c held in MR·NR/4 f32x4 accumulators. */
export const MR = 4;
export const NR = 8;
/** Cache blocks: a KC×NR panel of b stays in L1, an MC×KC block of a in L2, a KC×NC block of b in L2/L3. */
export const KC = 256;
export const MC = 128;
export const NC = 512;

const roundUp = (x: number, m: number): number => Math.ceil(x / m) * m;

/**
 * Per-thread scratch layout for one call: packed b block (≤ KC×NC), packed a block (≤ MC×KC), one spilled
 * edge tile. `rows`/`cols` are the largest share of M/N a thread gets.
 */
export function matmulScratch(K: number, rows: number, cols: number): { stride: number; apOffset: number } {
  const kc = Math.min(K, KC);
  const apOffset = 4 * kc * Math.min(NC, roundUp(cols, NR));
  const stride = roundUp(apOffset + 4 * (kc * Math.min(MC, roundUp(rows, MR)) + MR * NR), 64);
  return { stride, apOffset };
}

const F = 4; // bytes per f32

/**
 * pack{W}(dst, src, ks, js, kc, w): copies the kc×w matrix X[k][j] = f32 at src + k·ks + j·js (byte strides)
 * into panels of W columns, dst[panel][k][W], zero-padding the last panel. Full panels take a vector path:
 * row copies when X is contiguous along j (js = 4), 4x4 transposes when it is contiguous along k (ks = 4,
 * the transposed operands); what is left is gathered column by column.
 */
function addPack(m: ModuleBuilder, W: number): FuncRef<'none'> {
  return m.func(`pack${W}`, { dst: 'i32', src: 'i32', ks: 'i32', js: 'i32', kc: 'i32', w: 'i32' }, 'none', (f, p) => {
    const [p0, k, k0, jj, s, d] = ['p0', 'k', 'k0', 'jj', 's', 'd'].map(() => f.local('i32'));
    const rows = [0, 1, 2, 3].map(() => f.local('v128'));
    const full = i32.le_s(i32.add(p0, W), p.w);
    f.for(p0, 0, p.w, W, () => {
      f.set(k0, 0);
      f.if(
        i32.and(i32.eq(p.js, F), full),
        () => {
          // W/4 vector copies per k
          f.set(s, i32.add(p.src, i32.mul(p0, F)));
          f.set(d, p.dst);
          f.for(k, 0, p.kc, 1, () => {
            for (let v = 0; v < W / 4; v++) f.emit(v128.store(d, v128.load(s, 16 * v), 16 * v));
            f.inc(s, p.ks);
            f.inc(d, W * F);
          });
          f.set(k0, p.kc);
        },
        () => f.if(i32.and(i32.eq(p.ks, F), full), () => {
          // 4 k at a time: for each group of 4 columns, load 4 k-runs and transpose them into 4 k-rows
          f.set(k0, i32.and(p.kc, -4));
          f.for(k, 0, k0, 4, () => {
            for (let g = 0; g < W / 4; g++) {
              const col = (q: number) => i32.add(p.src, i32.add(i32.mul(i32.add(p0, 4 * g + q), p.js), i32.mul(k, F)));
              rows.forEach((r, q) => f.set(r, v128.load(col(q))));
              const at = (kk: number) => i32.add(p.dst, i32.mul(i32.add(k, kk), W * F));
              transpose4(rows).forEach((v, kk) => f.emit(v128.store(at(kk), v, 16 * g)));
            }
          });
        }),
      );
      // the rest (k ≥ k0), one column at a time; zero past w
      f.for(jj, 0, W, 1, () => {
        f.set(d, i32.add(p.dst, i32.mul(i32.add(i32.mul(k0, W), jj), F)));
        f.if(
          i32.lt_s(i32.add(p0, jj), p.w),
          () => {
            f.set(s, i32.add(p.src, i32.add(i32.mul(i32.add(p0, jj), p.js), i32.mul(k0, p.ks))));
            f.for(k, k0, p.kc, 1, () => {
              f.emit(f32.store(d, f32.load(s)));
              f.inc(s, p.ks);
              f.inc(d, W * F);
            });
          },
          () => f.for(k, k0, p.kc, 1, () => {
            f.emit(f32.store(d, f32.const(0)));
            f.inc(d, W * F);
          }),
        );
      });
      f.inc(p.dst, i32.mul(p.kc, W * F));
    });
  }, false);
}

/** The 4x4 transpose of rows r0..r3 (each 4 f32 lanes): 4 unpacks then 4 half-moves. */
function transpose4([a, b, c, d]: Local<'v128'>[]): V128[] {
  const lo = (x: V128, y: V128) => f32x4.shuffle(x, y, [0, 4, 1, 5]); // x0 y0 x1 y1
  const hi = (x: V128, y: V128) => f32x4.shuffle(x, y, [2, 6, 3, 7]); // x2 y2 x3 y3
  const [ab0, ab1, cd0, cd1] = [lo(a, b), hi(a, b), lo(c, d), hi(c, d)];
  const first = (x: V128, y: V128) => f32x4.shuffle(x, y, [0, 1, 4, 5]);
  const second = (x: V128, y: V128) => f32x4.shuffle(x, y, [2, 3, 6, 7]);
  return [first(ab0, cd0), second(ab0, cd0), first(ab1, cd1), second(ab1, cd1)];
}

/**
 * micro(ap, bp, kc, cp, ldc, beta, mr, nr, tmp): the 4x8 tile c[0..mr)[0..nr) at cp (row stride ldc bytes)
 * gets (beta ? c : 0) + Apanel(kc×4)ᵀ·Bpanel(kc×8). Full tiles are written with vector stores; edge tiles
 * are spilled to tmp (32 f32) and copied element by element.
 */
function addMicro(m: ModuleBuilder, relaxed: boolean): FuncRef<'none'> {
  const params = { ap: 'i32', bp: 'i32', kc: 'i32', cp: 'i32', ldc: 'i32', beta: 'i32', mr: 'i32', nr: 'i32', tmp: 'i32' } as const;
  return m.func('micro', params, 'none', (f, p) => {
    const acc: Local<'v128'>[] = [];
    for (let r = 0; r < MR * (NR / 4); r++) acc.push(f.local('v128'));
    const b0 = f.local('v128');
    const b1 = f.local('v128');
    const a = f.local('v128');
    const k = f.local('i32');
    f.set(k, p.kc);
    f.loop((again) => {
      // (4,) x (8,) outer product accumulated into the 4x8 tile
      f.set(b0, v128.load(p.bp, 0));
      f.set(b1, v128.load(p.bp, 16));
      for (let r = 0; r < MR; r++) {
        f.set(a, v128.load32_splat(p.ap, 4 * r));
        for (const [h, b] of [b0, b1].entries()) {
          const t = acc[2 * r + h];
          f.set(t, relaxed ? f32x4.relaxed_madd(a, b, t) : f32x4.add(t, f32x4.mul(a, b)));
        }
      }
      f.inc(p.ap, MR * F);
      f.inc(p.bp, NR * F);
      f.set(k, i32.sub(k, 1));
      f.brIf(again, k);
    });
    const full = i32.and(i32.eq(p.mr, MR), i32.eq(p.nr, NR));
    f.if(
      full,
      () => {
        for (let r = 0; r < MR; r++) {
          const row = r === 0 ? p.cp : i32.add(p.cp, i32.mul(p.ldc, r));
          for (let h = 0; h < 2; h++) {
            // beta = 0 ignores what c held (even NaN), as BLAS does
            const old = select<'v128'>(v128.load(row, 16 * h), v128.const(new Uint8Array(16)), p.beta);
            f.emit(v128.store(row, f32x4.add(old, acc[2 * r + h]), 16 * h));
          }
        }
      },
      () => {
        for (let r = 0; r < MR; r++) for (let h = 0; h < 2; h++) f.emit(v128.store(p.tmp, acc[2 * r + h], 4 * (NR * r + 4 * h)));
        copyEdge(f, p);
      },
    );
  }, false);
}

function copyEdge(f: FuncBuilder, p: { tmp: Local<'i32'>; cp: Local<'i32'>; ldc: Local<'i32'>; beta: Local<'i32'>; mr: Local<'i32'>; nr: Local<'i32'> }): void {
  const r = f.local('i32');
  const j = f.local('i32');
  const cAddr = f.local('i32');
  const tAddr = f.local('i32');
  f.for(r, 0, p.mr, 1, () => {
    f.for(j, 0, p.nr, 1, () => {
      f.set(cAddr, i32.add(i32.add(p.cp, i32.mul(r, p.ldc)), i32.mul(j, F)));
      f.set(tAddr, i32.add(p.tmp, i32.mul(i32.add(i32.mul(r, NR), j), F)));
      const old = select<'f32'>(f32.load(cAddr), f32.const(0), p.beta);
      f.emit(f32.store(cAddr, f32.add(old, f32.load(tAddr))));
    });
  });
}

/**
 * Adds `matmul(c, a, b, M, K, N, transA, transB, accumulate, splitN, scratch, stride, apOffset, threads, t0, t1)`:
 * computes the share of threads t0..t1-1 out of `threads` (column panels when splitN, else row tiles), thread
 * t using the scratch at scratch + t·stride laid out by matmulScratch(). Pointers are byte offsets; K ≥ 1.
 */
export function addMatmul(m: ModuleBuilder, relaxed: boolean): void {
  const pack4 = addPack(m, MR);
  const pack8 = addPack(m, NR);
  const micro = addMicro(m, relaxed);

  const blockParams = {
    c: 'i32', a: 'i32', b: 'i32', M: 'i32', K: 'i32', N: 'i32', transA: 'i32', transB: 'i32', beta0: 'i32',
    m0: 'i32', m1: 'i32', n0: 'i32', n1: 'i32', bp: 'i32', ap: 'i32', tmp: 'i32',
  } as const;
  // c[m0..m1)[n0..n1) (+)= op(a)[m0..m1)·op(b)[:, n0..n1), the BLIS loop nest around the micro-kernel
  const block = m.func('matmulBlock', blockParams, 'none', (f, p) => {
    const [jc, nc, pc, kc, ic, mc, jr, ir, beta] = ['jc', 'nc', 'pc', 'kc', 'ic', 'mc', 'jr', 'ir', 'beta'].map(() => f.local('i32'));
    const { bp, ap, tmp } = p;
    // byte strides of op(a)[i][k] and op(b)[k][j]
    const aks = select(i32.mul(p.M, F), F, p.transA);
    const ajs = select(F, i32.mul(p.K, F), p.transA);
    const bks = select(F, i32.mul(p.N, F), p.transB);
    const bjs = select(i32.mul(p.K, F), F, p.transB);
    const aAt = (row: I32, col: I32) => i32.add(p.a, i32.mul(select(i32.add(i32.mul(col, p.M), row), i32.add(i32.mul(row, p.K), col), p.transA), F));
    const bAt = (row: I32, col: I32) => i32.add(p.b, i32.mul(select(i32.add(i32.mul(col, p.K), row), i32.add(i32.mul(row, p.N), col), p.transB), F));

    f.for(jc, p.n0, p.n1, NC, () => {
      f.set(nc, i32.min_s(NC, i32.sub(p.n1, jc)));
      f.for(pc, 0, p.K, KC, () => {
        f.set(kc, i32.min_s(KC, i32.sub(p.K, pc)));
        f.set(beta, i32.or(p.beta0, i32.gt_s(pc, 0)));
        // (kc, nc) block of op(b) -> panels of 8 columns
        f.emit(f.call(pack8, bp, bAt(pc, jc), bks, bjs, kc, nc));
        f.for(ic, p.m0, p.m1, MC, () => {
          f.set(mc, i32.min_s(MC, i32.sub(p.m1, ic)));
          // (mc, kc) block of op(a) -> panels of 4 rows (packed as the kc×mc matrix op(a)ᵀ)
          f.emit(f.call(pack4, ap, aAt(ic, pc), aks, ajs, kc, mc));
          f.for(jr, 0, nc, NR, () => {
            f.for(ir, 0, mc, MR, () => {
              const cp = i32.add(p.c, i32.mul(i32.add(i32.mul(i32.add(ic, ir), p.N), i32.add(jc, jr)), F));
              f.emit(
                f.call(
                  micro,
                  i32.add(ap, i32.mul(i32.mul(ir, kc), F)),
                  i32.add(bp, i32.mul(i32.mul(jr, kc), F)),
                  kc,
                  cp,
                  i32.mul(p.N, F),
                  beta,
                  i32.min_s(MR, i32.sub(mc, ir)),
                  i32.min_s(NR, i32.sub(nc, jr)),
                  tmp,
                ),
              );
            });
          });
        });
      });
    });
  }, false);

  const params = {
    c: 'i32', a: 'i32', b: 'i32', M: 'i32', K: 'i32', N: 'i32', transA: 'i32', transB: 'i32', accumulate: 'i32',
    splitN: 'i32', scratch: 'i32', stride: 'i32', apOffset: 'i32', threads: 'i32', t0: 'i32', t1: 'i32',
  } as const;
  m.func('matmul', params, 'none', (f, p) => {
    const t = f.local('i32');
    const lo = f.local('i32');
    const hi = f.local('i32');
    const bp = f.local('i32');
    f.for(t, p.t0, p.t1, 1, () => {
      // column panels or row tiles, dealt out in equal contiguous runs
      threadRange(f, select(p.N, p.M, p.splitN), select(NR, MR, p.splitN), p.threads, t, lo, hi);
      // thread t's scratch: packed b at bp, packed a at bp + apOffset, the edge tile at the end
      f.set(bp, i32.add(p.scratch, i32.mul(t, p.stride)));
      const ap = i32.add(bp, p.apOffset);
      const tmp = i32.add(bp, i32.sub(p.stride, MR * NR * F));
      f.if(i32.lt_s(lo, hi), () => {
        f.if(
          p.splitN,
          () => f.emit(f.call(block, p.c, p.a, p.b, p.M, p.K, p.N, p.transA, p.transB, p.accumulate, 0, p.M, lo, hi, bp, ap, tmp)),
          () => f.emit(f.call(block, p.c, p.a, p.b, p.M, p.K, p.N, p.transA, p.transB, p.accumulate, lo, hi, 0, p.N, bp, ap, tmp)),
        );
      });
    });
  });
}
