// Causal multi-head self-attention forward and backward in WebAssembly SIMD, llm.c layout and formulas
// (attention_forward / attention_backward of train_gpt2.c, as in ref.ts): qkv(B,T,3C), out(B,T,C), score
// tensors (B,NH,T,T) zero above the diagonal. Threads split the B·NH (batch, head) pairs; each pair owns
// its rows of the score tensors, its head's columns of out and of dqkv, so no two threads write the same float.
import { threadRange } from './common.js';
import { f32, f32x4, i32, v128, type FuncBuilder, type I32, type Local, type ModuleBuilder } from './emitter.js';
import { forLanes, LaneSum } from './lanes.js';
import { exp4, f32x4Const } from './math.js';

export type AttentionExport = 'attentionForward' | 'attentionBackward' | 'attentionDecode';

const F = 4;

/** Locals both attention kernels derive from C and NH. */
interface Head {
  /** Byte sizes: one head (hs floats), one qkv row (3C floats), C floats (one out row). */
  hsB: Local<'i32'>;
  rowB: Local<'i32'>;
  cB: Local<'i32'>;
  scale: Local<'f32'>;
}

function head(f: FuncBuilder, C: Local<'i32'>, NH: Local<'i32'>): Head {
  const h: Head = { hsB: f.local('i32'), rowB: f.local('i32'), cB: f.local('i32'), scale: f.local('f32') };
  f.set(h.hsB, i32.mul(i32.div_s(C, NH), F));
  f.set(h.cB, i32.mul(C, F));
  f.set(h.rowB, i32.mul(h.cB, 3));
  f.set(h.scale, f32.div(f32.const(1), f32.sqrt(f32.convert_i32_s(i32.div_s(C, NH)))));
  return h;
}

/** Stores 0 to the f32s at byte offsets [from, to) of each base. */
function zeroTail(f: FuncBuilder, bases: I32[], from: I32, to: I32): void {
  const o = f.local('i32');
  f.for(o, from, to, F, () => {
    for (const b of bases) f.emit(f32.store(i32.add(b, o), f32.const(0)));
  });
}

/** Scratch locals of a score row, shared by the forward and decode kernels. */
interface RowLocals {
  t2: Local<'i32'>;
  k: Local<'i32'>;
  val: Local<'f32'>;
  maxv: Local<'f32'>;
  e: Local<'v128'>;
  dot: LaneSum;
  sum: LaneSum;
}

function rowLocals(f: FuncBuilder): RowLocals {
  return { t2: f.local('i32'), k: f.local('i32'), val: f.local('f32'), maxv: f.local('f32'), e: f.local('v128'), dot: new LaneSum(f), sum: new LaneSum(f) };
}

/** row[t2] = scale·q·k(t2) for t2 in [start, count), and their max into r.maxv. */
function scoreRow(f: FuncBuilder, hd: Head, r: RowLocals, q: Local<'i32'>, kAt: (t2: Local<'i32'>) => I32, row: Local<'i32'>, count: I32, start: I32 = 0): void {
  f.set(r.maxv, f32.const(-Infinity));
  f.for(r.t2, start, count, 1, () => {
    f.set(r.k, kAt(r.t2));
    r.dot.reset();
    forLanes(f, hd.hsB, (l) => r.dot.add(l, f32x4.mul(l.load(q), l.load(r.k))));
    f.set(r.val, f32.mul(r.dot.value(), hd.scale));
    f.emit(f32.store(i32.add(row, i32.mul(r.t2, F)), r.val));
    f.set(r.maxv, f32.max(r.maxv, r.val));
  });
}

/** dst = exp(src − max) over n bytes (dst may be src), with Σ in r.sum. */
function expRow(f: FuncBuilder, r: RowLocals, src: Local<'i32'>, dst: Local<'i32'>, n: Local<'i32'>): void {
  r.sum.reset();
  forLanes(f, n, (l) => {
    f.set(r.e, exp4(f, f32x4.sub(l.load(src), f32x4.splat(r.maxv))));
    l.store(dst, r.e);
    r.sum.add(l, r.e);
  });
}

/**
 * Adds the two exports, each taking byte offsets of its arrays, then (B, T, C, NH, threads, t0, t1):
 *   attentionForward(out, preatt, att, qkv, …)
 *   attentionBackward(dqkv, dpreatt, datt, dout, qkv, att, …)  (accumulates into dqkv; overwrites dpreatt, datt)
 */
export function addAttention(m: ModuleBuilder): void {
  const dims = { B: 'i32', T: 'i32', C: 'i32', NH: 'i32', threads: 'i32', t0: 'i32', t1: 'i32' } as const;

  m.func('attentionForward', { out: 'i32', preatt: 'i32', att: 'i32', qkv: 'i32', ...dims }, 'none', (f, p) => {
    const hd = head(f, p.C, p.NH);
    const [th, lo, hi, u, b, base, t, t2, n, q, v, prow, arow, o] = Array.from({ length: 14 }, () => f.local('i32'));
    const inv = f.local('f32');
    const w = f.local('v128');
    const r = rowLocals(f);
    f.for(th, p.t0, p.t1, 1, () => {
      threadRange(f, i32.mul(p.B, p.NH), 1, p.threads, th, lo, hi);
      f.for(u, lo, hi, 1, () => {
        f.set(b, i32.div_s(u, p.NH));
        // &qkv[b][0][h·hs]: q of position 0 of this head; k and v are C and 2C floats further
        f.set(base, i32.add(p.qkv, i32.add(i32.mul(i32.mul(b, p.T), hd.rowB), i32.mul(i32.sub(u, i32.mul(b, p.NH)), hd.hsB))));
        f.for(t, 0, p.T, 1, () => {
          f.set(q, i32.add(base, i32.mul(t, hd.rowB)));
          f.set(n, i32.mul(i32.add(t, 1), F)); // bytes of the causal part of the score row
          const rowOff = i32.mul(i32.mul(i32.add(i32.mul(u, p.T), t), p.T), F);
          f.set(prow, i32.add(p.preatt, rowOff));
          f.set(arow, i32.add(p.att, rowOff));
          // pass 1: preatt[t2] = scale·q·k[t2] and the row max
          scoreRow(f, hd, r, q, (t2) => i32.add(i32.add(base, i32.mul(t2, hd.rowB)), hd.cB), prow, i32.add(t, 1));
          // passes 2-3: att = exp(preatt - max) / Σ, zero above the diagonal in both rows
          expRow(f, r, prow, arow, n);
          f.set(inv, f32.div(f32.const(1), r.sum.value()));
          forLanes(f, n, (l) => l.store(arow, f32x4.mul(l.load(arow), f32x4.splat(inv))));
          zeroTail(f, [prow, arow], n, i32.mul(p.T, F));
          // pass 4: out = Σ_t2 att[t2]·v[t2]
          f.set(o, i32.add(p.out, i32.add(i32.mul(i32.add(i32.mul(b, p.T), t), hd.cB), i32.mul(i32.sub(u, i32.mul(b, p.NH)), hd.hsB))));
          forLanes(f, hd.hsB, (l) => l.store(o, f32x4Const(0)));
          f.for(t2, 0, i32.add(t, 1), 1, () => {
            f.set(v, i32.add(i32.add(base, i32.mul(t2, hd.rowB)), i32.mul(hd.cB, 2)));
            f.set(w, v128.load32_splat(i32.add(arow, i32.mul(t2, F))));
            forLanes(f, hd.hsB, (l) => l.store(o, f32x4.add(l.load(o), f32x4.mul(w, l.load(v)))));
          });
        });
      });
    });
  });

  // `rows` query rows (positions t..t+rows-1, qkv rows 3C apart, out rows C apart), row i against the cached
  // keys/values (cap, C) of positions 0..t+i; threads split the heads, each with its own row of scores (NH, t+rows).
  // Scores of 4 keys at a time (independent sums sharing q's loads) and the output in registers, 32 floats at a
  // time; each value is summed in the same order as scoreRow and pass 4 of the forward kernel, so the results are
  // the same.
  const dec = { out: 'i32', qkv: 'i32', K: 'i32', V: 'i32', scores: 'i32', t: 'i32', C: 'i32', NH: 'i32', rows: 'i32', threads: 'i32', t0: 'i32', t1: 'i32' } as const;
  m.func('attentionDecode', dec, 'none', (f, p) => {
    const hd = head(f, p.C, p.NH);
    const [th, lo, hi, h, t2, n, q, v, o, srow, hk, ob, qi, tj] = Array.from({ length: 14 }, () => f.local('i32'));
    const keys = [0, 1, 2, 3].map(() => f.local('i32'));
    const sums = [0, 1, 2, 3].map(() => new LaneSum(f));
    const acc = Array.from({ length: 8 }, () => f.local('v128'));
    const [inv, max4] = [f.local('f32'), f.local('f32')];
    const w = f.local('v128');
    const r = rowLocals(f);
    const keyAt = (j: I32) => i32.add(p.K, i32.add(i32.mul(j, hd.cB), hk)); // &K[j][h·hs]
    f.for(th, p.t0, p.t1, 1, () => {
      threadRange(f, p.NH, 1, p.threads, th, lo, hi);
      f.for(h, lo, hi, 1, () => f.for(qi, 0, p.rows, 1, () => {
        f.set(tj, i32.add(p.t, qi));
        f.set(n, i32.mul(i32.add(tj, 1), F));
        f.set(hk, i32.mul(h, hd.hsB));
        f.set(q, i32.add(p.qkv, i32.add(i32.mul(qi, hd.rowB), hk)));
        f.set(srow, i32.add(p.scores, i32.mul(i32.mul(h, i32.add(p.t, p.rows)), F)));
        // pass 1: scores of keys t2..t2+3 together, then the rest one by one (scoreRow)
        f.set(r.maxv, f32.const(-Infinity));
        f.set(t2, 0);
        f.block((exit) => f.loop((again) => {
          f.brIf(exit, i32.gt_s(i32.add(t2, 4), i32.add(tj, 1)));
          keys.forEach((k, j) => f.set(k, keyAt(i32.add(t2, j))));
          for (const sum of sums) sum.reset();
          forLanes(f, hd.hsB, (l) => {
            f.set(w, l.load(q));
            sums.forEach((sum, j) => sum.add(l, f32x4.mul(w, l.load(keys[j]))));
          });
          sums.forEach((sum, j) => {
            f.set(r.val, f32.mul(sum.value(), hd.scale));
            f.emit(f32.store(i32.add(srow, i32.mul(i32.add(t2, j), F)), r.val));
            f.set(r.maxv, f32.max(r.maxv, r.val));
          });
          f.inc(t2, 4);
          f.br(again);
        }));
        f.set(max4, r.maxv); // scoreRow restarts the max: carry it over
        scoreRow(f, hd, r, q, keyAt, srow, i32.add(tj, 1), t2);
        f.set(r.maxv, f32.max(r.maxv, max4));
        expRow(f, r, srow, srow, n);
        f.set(inv, f32.div(f32.const(1), r.sum.value()));
        f.set(o, i32.add(p.out, i32.add(i32.mul(qi, hd.cB), hk)));
        // pass 4: out = Σ_t2 (score·inv)·v[t2], 8 vectors of out held in registers over all t2, then the rest in memory
        f.set(ob, 0);
        f.block((exit) => f.loop((again) => {
          f.brIf(exit, i32.gt_s(i32.add(ob, 16 * acc.length), hd.hsB));
          for (const a of acc) f.set(a, f32x4Const(0));
          f.for(t2, 0, i32.add(tj, 1), 1, () => {
            f.set(v, i32.add(p.V, i32.add(i32.mul(t2, hd.cB), i32.add(hk, ob))));
            f.set(w, f32x4.splat(f32.mul(f32.load(i32.add(srow, i32.mul(t2, F))), inv)));
            acc.forEach((a, j) => f.set(a, f32x4.add(a, f32x4.mul(w, v128.load(v, 16 * j)))));
          });
          acc.forEach((a, j) => f.emit(v128.store(i32.add(o, ob), a, 16 * j)));
          f.inc(ob, 16 * acc.length);
          f.br(again);
        }));
        forLanes(f, hd.hsB, (l) => l.store(o, f32x4Const(0)), ob);
        f.for(t2, 0, i32.add(tj, 1), 1, () => {
          f.set(v, i32.add(p.V, i32.add(i32.mul(t2, hd.cB), hk)));
          f.set(w, f32x4.splat(f32.mul(f32.load(i32.add(srow, i32.mul(t2, F))), inv)));
          forLanes(f, hd.hsB, (l) => l.store(o, f32x4.add(l.load(o), f32x4.mul(w, l.load(v)))), ob);
        });
      }));
    });
  });

  const bwd = { dqkv: 'i32', dpreatt: 'i32', datt: 'i32', dout: 'i32', qkv: 'i32', att: 'i32', ...dims } as const;
  m.func('attentionBackward', bwd, 'none', (f, p) => {
    const hd = head(f, p.C, p.NH);
    const names = ['th', 'lo', 'hi', 'u', 'b', 'base', 'dbase', 't', 't2', 'n', 'q', 'dq', 'k', 'dk', 'v', 'dv', 'o', 'ar', 'dar', 'dpr', 'off'];
    const [th, lo, hi, u, b, base, dbase, t, t2, n, q, dq, k, dk, v, dv, o, ar, dar, dpr, off] = names.map(() => f.local('i32'));
    const a = f.local('v128');
    const g = f.local('v128');
    const da = f.local('f32');
    const dsum = f.local('f32');
    const gs = f.local('f32');
    const dot = new LaneSum(f);
    f.for(th, p.t0, p.t1, 1, () => {
      threadRange(f, i32.mul(p.B, p.NH), 1, p.threads, th, lo, hi);
      f.for(u, lo, hi, 1, () => {
        f.set(b, i32.div_s(u, p.NH));
        f.set(off, i32.add(i32.mul(i32.mul(b, p.T), hd.rowB), i32.mul(i32.sub(u, i32.mul(b, p.NH)), hd.hsB)));
        f.set(base, i32.add(p.qkv, off));
        f.set(dbase, i32.add(p.dqkv, off));
        f.for(t, 0, p.T, 1, () => {
          f.set(q, i32.add(base, i32.mul(t, hd.rowB)));
          f.set(dq, i32.add(dbase, i32.mul(t, hd.rowB)));
          f.set(n, i32.mul(i32.add(t, 1), F));
          const rowOff = i32.mul(i32.mul(i32.add(i32.mul(u, p.T), t), p.T), F);
          f.set(ar, i32.add(p.att, rowOff));
          f.set(dar, i32.add(p.datt, rowOff));
          f.set(dpr, i32.add(p.dpreatt, rowOff));
          f.set(o, i32.add(p.dout, i32.add(i32.mul(i32.add(i32.mul(b, p.T), t), hd.cB), i32.mul(i32.sub(u, i32.mul(b, p.NH)), hd.hsB))));
          // pass 4 backward: datt[t2] = v[t2]·dout, dv[t2] += att[t2]·dout; dsum = Σ att·datt
          f.set(dsum, f32.const(0));
          f.for(t2, 0, i32.add(t, 1), 1, () => {
            f.set(v, i32.add(i32.add(base, i32.mul(t2, hd.rowB)), i32.mul(hd.cB, 2)));
            f.set(dv, i32.add(i32.add(dbase, i32.mul(t2, hd.rowB)), i32.mul(hd.cB, 2)));
            f.set(a, v128.load32_splat(i32.add(ar, i32.mul(t2, F))));
            dot.reset();
            forLanes(f, hd.hsB, (l) => {
              f.set(g, l.load(o));
              dot.add(l, f32x4.mul(l.load(v), g));
              l.store(dv, f32x4.add(l.load(dv), f32x4.mul(a, g)));
            });
            f.set(da, dot.value());
            f.emit(f32.store(i32.add(dar, i32.mul(t2, F)), da));
            f.set(dsum, f32.add(dsum, f32.mul(f32x4.extract_lane(a, 0), da)));
          });
          zeroTail(f, [dar, dpr], n, i32.mul(p.T, F));
          // softmax and pass 1 backward: dpreatt = att·(datt − dsum); dq += scale·dpreatt·k, dk += scale·dpreatt·q
          f.for(t2, 0, i32.add(t, 1), 1, () => {
            f.set(gs, f32.mul(f32.load(i32.add(ar, i32.mul(t2, F))), f32.sub(f32.load(i32.add(dar, i32.mul(t2, F))), dsum)));
            f.emit(f32.store(i32.add(dpr, i32.mul(t2, F)), gs));
            f.set(g, f32x4.splat(f32.mul(gs, hd.scale)));
            f.set(k, i32.add(i32.add(base, i32.mul(t2, hd.rowB)), hd.cB));
            f.set(dk, i32.add(i32.add(dbase, i32.mul(t2, hd.rowB)), hd.cB));
            forLanes(f, hd.hsB, (l) => {
              l.store(dq, f32x4.add(l.load(dq), f32x4.mul(l.load(k), g)));
              l.store(dk, f32x4.add(l.load(dk), f32x4.mul(l.load(q), g)));
            });
          });
        });
      });
    });
  });
}
