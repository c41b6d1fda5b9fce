// Single-threaded float32 GEMM for the 'js' tier: the Goto/BLIS scheme (as in BLIS and llm.c's
// matmul_forward tiling) in plain TypeScript. Panels of op(a) and op(b) are packed into preallocated
// scratch (so the transposed forms never materialize a transpose), and a 4x4 register tile of
// accumulators in locals computes C one micro-tile at a time. A Gemm computes any rectangle of C,
// which is how the worker pool splits a matmul across threads.

/** Rows and columns of the register tile. */
export const MR = 4;
export const NR = 4;
/** Depth of a packed panel (K block): a 4-wide B micro-panel of KC floats stays in L1. */
const KC = 256;
/** Rows of the packed A block (M block), kept in L2. */
const MC = 64;
/** Columns of the packed B block (N block). */
const NC = 512;

/**
 * C(M,N) (+)= op(A)(M,K)·op(B)(K,N) for rows [i0,i1) and columns [j0,j1) of C. Arrays are flat with an
 * element offset, so the same code runs on caller arrays and on whole-heap views in worker threads.
 */
export class Gemm {
  private readonly ap = new Float32Array(MC * KC); // (MC/MR, KC, MR)
  private readonly bp = new Float32Array(KC * NC); // (NC/NR, KC, NR)
  private acc = new Float64Array(0); // one row of C in float64, grown to the widest N seen
  private arow = new Float32Array(0); // one row of op(A), grown to the largest K seen

  /**
   * One row i of C, columns [j0,j1): a matrix-vector product (the M=1 case of generation and tiny
   * batches), where packing would cost more than it saves. Streams b once.
   */
  private row(
    c: Float32Array,
    cOff: number,
    a: Float32Array,
    aOff: number,
    b: Float32Array,
    bOff: number,
    M: number,
    K: number,
    N: number,
    transA: boolean,
    transB: boolean,
    accumulate: boolean,
    i: number,
    j0: number,
    j1: number,
  ): void {
    // gather row i of op(A) so the loops below read it contiguously
    if (this.arow.length < K) this.arow = new Float32Array(K);
    const x = this.arow;
    for (let k = 0; k < K; k++) x[k] = transA ? a[aOff + k * M + i] : a[aOff + i * K + k];
    const cRow = cOff + i * N;
    if (transB) {
      // c[i,j] = x·b[j,:]: four rows of b per pass share each x[k] load
      let j = j0;
      for (; j + 3 < j1; j += 4) {
        const r0 = bOff + j * K;
        const r1 = r0 + K;
        const r2 = r1 + K;
        const r3 = r2 + K;
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (let k = 0; k < K; k++) {
          const xk = x[k];
          s0 += xk * b[r0 + k];
          s1 += xk * b[r1 + k];
          s2 += xk * b[r2 + k];
          s3 += xk * b[r3 + k];
        }
        if (accumulate) {
          c[cRow + j] += s0; c[cRow + j + 1] += s1; c[cRow + j + 2] += s2; c[cRow + j + 3] += s3;
        } else {
          c[cRow + j] = s0; c[cRow + j + 1] = s1; c[cRow + j + 2] = s2; c[cRow + j + 3] = s3;
        }
      }
      for (; j < j1; j++) {
        const r = bOff + j * K;
        let s = 0;
        for (let k = 0; k < K; k++) s += x[k] * b[r + k];
        c[cRow + j] = accumulate ? c[cRow + j] + s : s;
      }
      return;
    }
    // c[i,:] = Σ_k x[k]·b[k,:], four rows of b per pass into a float64 accumulator row
    if (this.acc.length < N) this.acc = new Float64Array(N);
    const acc = this.acc;
    acc.fill(0, j0, j1);
    let k = 0;
    for (; k + 3 < K; k += 4) {
      const x0 = x[k], x1 = x[k + 1], x2 = x[k + 2], x3 = x[k + 3];
      const r0 = bOff + k * N;
      const r1 = r0 + N;
      const r2 = r1 + N;
      const r3 = r2 + N;
      for (let j = j0; j < j1; j++) acc[j] += x0 * b[r0 + j] + x1 * b[r1 + j] + x2 * b[r2 + j] + x3 * b[r3 + j];
    }
    for (; k < K; k++) {
      const xk = x[k];
      const r = bOff + k * N;
      for (let j = j0; j < j1; j++) acc[j] += xk * b[r + j];
    }
    for (let j = j0; j < j1; j++) c[cRow + j] = accumulate ? c[cRow + j] + acc[j] : acc[j];
  }

  run(
    c: Float32Array,
    cOff: number,
    a: Float32Array,
    aOff: number,
    b: Float32Array,
    bOff: number,
    M: number,
    K: number,
    N: number,
    transA: boolean,
    transB: boolean,
    accumulate: boolean,
    i0: number,
    i1: number,
    j0: number,
    j1: number,
  ): void {
    if (K === 0) {
      if (!accumulate) for (let i = i0; i < i1; i++) c.fill(0, cOff + i * N + j0, cOff + i * N + j1);
      return;
    }
    if (i1 - i0 < MR) {
      for (let i = i0; i < i1; i++) this.row(c, cOff, a, aOff, b, bOff, M, K, N, transA, transB, accumulate, i, j0, j1);
      return;
    }
    const { ap, bp } = this;
    for (let jc = j0; jc < j1; jc += NC) {
      const nc = Math.min(NC, j1 - jc);
      for (let pc = 0; pc < K; pc += KC) {
        const kc = Math.min(KC, K - pc);
        const add = accumulate || pc > 0;
        packB(bp, b, bOff, K, N, transB, pc, kc, jc, nc);
        for (let ic = i0; ic < i1; ic += MC) {
          const mc = Math.min(MC, i1 - ic);
          packA(ap, a, aOff, M, K, transA, ic, mc, pc, kc);
          for (let jr = 0; jr < nc; jr += NR) {
            const nr = Math.min(NR, nc - jr);
            const bBase = jr * kc; // tile jr/NR starts at (jr/NR)·kc·NR
            for (let ir = 0; ir < mc; ir += MR) {
              const mr = Math.min(MR, mc - ir);
              micro(ap, ir * kc, bp, bBase, kc, c, cOff + (ic + ir) * N + jc + jr, N, mr, nr, add);
            }
          }
        }
      }
    }
  }
}

/** Packs op(A)[ic..ic+mc, pc..pc+kc] as row tiles of MR, k-major inside a tile, zero-padded. */
function packA(
  ap: Float32Array,
  a: Float32Array,
  aOff: number,
  M: number,
  K: number,
  transA: boolean,
  ic: number,
  mc: number,
  pc: number,
  kc: number,
): void {
  for (let ir = 0; ir < mc; ir += MR) {
    const base = ir * kc;
    const mr = Math.min(MR, mc - ir);
    const i = ic + ir;
    if (mr === MR) {
      if (transA) {
        // stored (K,M): the MR values for one k are contiguous
        for (let k = 0, p = base, s = aOff + pc * M + i; k < kc; k++, p += MR, s += M) {
          ap[p] = a[s];
          ap[p + 1] = a[s + 1];
          ap[p + 2] = a[s + 2];
          ap[p + 3] = a[s + 3];
        }
      } else {
        const r0 = aOff + i * K + pc;
        const r1 = r0 + K;
        const r2 = r1 + K;
        const r3 = r2 + K;
        for (let k = 0, p = base; k < kc; k++, p += MR) {
          ap[p] = a[r0 + k];
          ap[p + 1] = a[r1 + k];
          ap[p + 2] = a[r2 + k];
          ap[p + 3] = a[r3 + k];
        }
      }
    } else {
      for (let k = 0; k < kc; k++) {
        for (let ii = 0; ii < MR; ii++) {
          ap[base + k * MR + ii] =
            ii < mr ? (transA ? a[aOff + (pc + k) * M + i + ii] : a[aOff + (i + ii) * K + pc + k]) : 0;
        }
      }
    }
  }
}

/** Packs op(B)[pc..pc+kc, jc..jc+nc] as column tiles of NR, k-major inside a tile, zero-padded. */
function packB(
  bp: Float32Array,
  b: Float32Array,
  bOff: number,
  K: number,
  N: number,
  transB: boolean,
  pc: number,
  kc: number,
  jc: number,
  nc: number,
): void {
  for (let jr = 0; jr < nc; jr += NR) {
    const base = jr * kc;
    const nr = Math.min(NR, nc - jr);
    const j = jc + jr;
    if (nr === NR) {
      if (transB) {
        // stored (N,K): four rows of b, read along k
        const r0 = bOff + j * K + pc;
        const r1 = r0 + K;
        const r2 = r1 + K;
        const r3 = r2 + K;
        for (let k = 0, p = base; k < kc; k++, p += NR) {
          bp[p] = b[r0 + k];
          bp[p + 1] = b[r1 + k];
          bp[p + 2] = b[r2 + k];
          bp[p + 3] = b[r3 + k];
        }
      } else {
        for (let k = 0, p = base, s = bOff + pc * N + j; k < kc; k++, p += NR, s += N) {
          bp[p] = b[s];
          bp[p + 1] = b[s + 1];
          bp[p + 2] = b[s + 2];
          bp[p + 3] = b[s + 3];
        }
      }
    } else {
      for (let k = 0; k < kc; k++) {
        for (let jj = 0; jj < NR; jj++) {
          bp[base + k * NR + jj] =
            jj < nr ? (transB ? b[bOff + (j + jj) * K + pc + k] : b[bOff + (pc + k) * N + j + jj]) : 0;
        }
      }
    }
  }
}

/** Scratch for an edge tile (one per thread: every worker has its own module instance). */
const edge = new Float64Array(MR * NR);

/** The 4x4 register tile: C[0..mr, 0..nr] (+)= Ap(kc,4)ᵀ·Bp(kc,4), sixteen accumulators in locals. */
function micro(
  ap: Float32Array,
  pa: number,
  bp: Float32Array,
  pb: number,
  kc: number,
  c: Float32Array,
  pc: number,
  ldc: number,
  mr: number,
  nr: number,
  add: boolean,
): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  for (let k = 0; k < kc; k++, pa += 4, pb += 4) {
    const b0 = bp[pb], b1 = bp[pb + 1], b2 = bp[pb + 2], b3 = bp[pb + 3];
    const a0 = ap[pa];
    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
    const a1 = ap[pa + 1];
    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
    const a2 = ap[pa + 2];
    c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
    const a3 = ap[pa + 3];
    c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
  }
  if (mr === MR && nr === NR) {
    let p = pc;
    if (add) {
      c[p] += c00; c[p + 1] += c01; c[p + 2] += c02; c[p + 3] += c03; p += ldc;
      c[p] += c10; c[p + 1] += c11; c[p + 2] += c12; c[p + 3] += c13; p += ldc;
      c[p] += c20; c[p + 1] += c21; c[p + 2] += c22; c[p + 3] += c23; p += ldc;
      c[p] += c30; c[p + 1] += c31; c[p + 2] += c32; c[p + 3] += c33;
    } else {
      c[p] = c00; c[p + 1] = c01; c[p + 2] = c02; c[p + 3] = c03; p += ldc;
      c[p] = c10; c[p + 1] = c11; c[p + 2] = c12; c[p + 3] = c13; p += ldc;
      c[p] = c20; c[p + 1] = c21; c[p + 2] = c22; c[p + 3] = c23; p += ldc;
      c[p] = c30; c[p + 1] = c31; c[p + 2] = c32; c[p + 3] = c33;
    }
    return;
  }
  // edge tile: write only the valid mr x nr corner
  const t = edge;
  t[0] = c00; t[1] = c01; t[2] = c02; t[3] = c03; t[4] = c10; t[5] = c11; t[6] = c12; t[7] = c13;
  t[8] = c20; t[9] = c21; t[10] = c22; t[11] = c23; t[12] = c30; t[13] = c31; t[14] = c32; t[15] = c33;
  for (let i = 0; i < mr; i++) {
    for (let j = 0; j < nr; j++) {
      const p = pc + i * ldc + j;
      c[p] = add ? c[p] + t[i * 4 + j] : t[i * 4 + j];
    }
  }
}
