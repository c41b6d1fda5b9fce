// Early stopping and best-model bookkeeping of a fine-tune run (src/finetune/run.ts bookValidation): the
// best model is the highest accuracy, then the lowest loss; early stopping counts validations in which
// neither the best model nor the lowest loss improved; and how the run names its best model (describeVal).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bookValidation, describeVal, type ValResult } from '../../src/finetune/run.js';

function replay(vals: ValResult[]) {
  const state: { best: ValResult | null; stale: number; minLoss?: number } = { best: null, stale: 0 };
  const stale = vals.map((v) => (bookValidation(state, v), state.stale));
  return { state, stale };
}

describe('fine-tune validation bookkeeping', () => {
  it('keeps training while the loss falls and the accuracy sits at chance (the demo run that stopped at step 95)', () => {
    const accs = [0.34375, 0.328125, 0.328125, 0.25, 0.296875];
    const losses = [1.0105, 0.5816, 0.6802, 0.5312, 0.4706];
    const { state, stale } = replay(accs.map((accuracy, i) => ({ step: 19 * (i + 1), loss: losses[i], accuracy })));
    expect(stale).toEqual([0, 0, 1, 0, 0]); // a patience of 4 would have stopped here when only accuracy counted
    expect(state.best?.step).toBe(19); // the best model is still chosen by accuracy
    expect(state.minLoss).toBe(0.4706);
  });

  it('the stale count is the validations since the last new best or new lowest loss (property)', () => {
    const val = fc.record({ loss: fc.double({ min: 0, max: 5, noNaN: true }), accuracy: fc.option(fc.integer({ min: 0, max: 8 }).map((k) => k / 8), { nil: null }) });
    fc.assert(
      fc.property(fc.array(val, { minLength: 1, maxLength: 30 }), (raw) => {
        const vals = raw.map((v, i) => ({ step: i + 1, ...v }));
        const { state, stale } = replay(vals);
        let lastProgress = 0;
        for (let i = 1; i < vals.length; i++) {
          const prefix = vals.slice(0, i);
          const lower = vals[i].loss < Math.min(...prefix.map((v) => v.loss));
          const bestBefore = replay(prefix).state.best as ValResult;
          const a = vals[i];
          const better = a.accuracy !== null && bestBefore.accuracy !== null && a.accuracy !== bestBefore.accuracy ? a.accuracy > bestBefore.accuracy : a.loss < bestBefore.loss;
          if (lower || better) lastProgress = i;
          expect(stale[i]).toBe(i - lastProgress);
        }
        expect(state.minLoss ?? vals[0].loss).toBe(Math.min(...vals.map((v) => v.loss)));
      }),
      { numRuns: 200 },
    );
  });

  it('a state saved before the lowest loss was kept resumes from its best model\'s loss', () => {
    const state: { best: ValResult | null; stale: number; minLoss?: number } = { best: { step: 10, loss: 0.5, accuracy: 0.5 }, stale: 2 };
    bookValidation(state, { step: 20, loss: 0.6, accuracy: 0.4 });
    expect(state.stale).toBe(3);
    bookValidation(state, { step: 30, loss: 0.45, accuracy: 0.4 });
    expect(state.stale).toBe(0);
    expect(state.best?.step).toBe(10);
  });

  it('the run\'s last line names the best model\'s step, validation accuracy and loss (what picks between seeds)', () => {
    expect(describeVal({ step: 1275, loss: 0.10951, accuracy: 61 / 64 })).toBe('step 1275: validation accuracy 95.3%, loss 0.1095');
    expect(describeVal({ step: 40, loss: 1.5, accuracy: null })).toBe('step 40: validation loss 1.5000');
    expect(describeVal(null)).toBe('no validation');
  });
});
