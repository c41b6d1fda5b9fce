// Ranking by likelihood: scores after one shared prefill equal a full forward's log-likelihoods, a tiny
// model trained to memorise a task gets every row right by ranking, and the true answers' scores give the loss
// fine-tuning counts on the same rows (what validation reports without a second forward pass).
import { describe, expect, it } from 'vitest';
import { rankExamples, rankingAccuracy } from '../../src/eval/rank.js';
import { scoreCandidates } from '../../src/eval/score.js';
import { decidingLengths, fitPrompt, labelCandidates } from '../../src/task/encode.js';
import { KVDecoder, logProbOf } from '../../src/models/gpt2/decode.js';
import { TINYLLM_TEMPLATE } from '../../src/task/template.js';
import { answerBatch, LABELS, memorise, tinyRows, tinyTokenizer } from './helpers.js';

describe('ranking accuracy', () => {
  const rows = tinyRows(9, 1);
  const { tok } = tinyTokenizer(rows);
  const model = memorise(tok, rows);
  const opts = { template: TINYLLM_TEMPLATE, contextLength: 64 };

  it('scores each candidate as log p(answer | prompt) of a full forward', () => {
    const cands = labelCandidates(tok, LABELS, opts);
    const prompt = fitPrompt(tok, rows[1], 8, opts, rows[1].where).ids;
    expect(prompt[0]).toBe(tok.eotToken);
    const { scores } = scoreCandidates(new KVDecoder(model), prompt, cands);
    const V = model.config.vocabSize;
    cands.forEach((c, i) => {
      const ids = Int32Array.from([...prompt, ...c]);
      model.forward(ids, null, 1, ids.length);
      const logits = model.logits();
      let want = 0;
      for (let t = prompt.length - 1; t < ids.length - 1; t++) want += logProbOf(logits.subarray(t * V, (t + 1) * V), ids[t + 1]);
      expect(scores[i]).toBeCloseTo(want, 3);
      // as in training, prompt + answer may be one token longer than the context: the last token is only scored
      const tight = new KVDecoder(model, prompt.length + c.length - 1);
      expect(scoreCandidates(tight, prompt, [c]).scores[0]).toBeCloseTo(scores[i], 4);
      expect(() => scoreCandidates(new KVDecoder(model, prompt.length + c.length - 2), prompt, [c])).toThrow(/exceed the context/);
    });
  });

  it('a model that memorised the rows ranks the right label first on every row', () => {
    const r = rankingAccuracy(model, tok, rows, LABELS, opts);
    expect(r.predictions).toEqual(rows.map((x) => LABELS.indexOf(x.output)));
    expect(r.accuracy).toBe(1);
    // the labels shuffled: predictions follow the label, not the index
    const shuffled = [LABELS[2], LABELS[0], LABELS[1]];
    expect(rankingAccuracy(model, tok, rows, shuffled, opts).accuracy).toBe(1);
  });

  it('ranks by the label and the token after it: an unlikely rest of the end marker does not outrank the label', () => {
    const cands = labelCandidates(tok, LABELS, opts);
    const deciding = decidingLengths(tok, LABELS, cands);
    // the label's own tokens, then the end marker's first: "Tap" + "\n" decides, the rest is formatting
    cands.forEach((c, i) => expect(deciding[i]).toBe(tok.encode(LABELS[i]).length + 1));
    expect(deciding.every((d, i) => d < cands[i].length)).toBe(true);
    // each row's true answer with the rest of its end marker swapped for tokens the model never saw there
    const odd = tok.encode(' Tap Tap Tap Hold Hold');
    const examples = rows.map((x) => ({ prompt: fitPrompt(tok, x, 12, opts, x.where).ids, truth: LABELS.indexOf(x.output) }));
    const r = examples.map((ex) => {
      const garbled = cands.map((c, i) => (i === ex.truth ? [...c.slice(0, deciding[i]), ...odd] : c));
      const lengths = garbled.map((c, i) => (i === ex.truth ? deciding[i] : c.length));
      const byDeciding = rankExamples(model, [ex], garbled, { deciding: lengths }).predictions[0];
      const byWhole = rankExamples(model, [ex], garbled).predictions[0];
      return [byDeciding === ex.truth, byWhole === ex.truth];
    });
    expect(r.every(([d]) => d)).toBe(true); // every row still right by the deciding tokens
    expect(r.filter(([, w]) => !w).length).toBeGreaterThan(0); // the whole answer's score would put another label first
  });

  it("the true answers' mean negative log-likelihood is the fine-tuning loss on the same rows; null for an unknown label; cut rows counted", () => {
    const r = rankingAccuracy(model, tok, rows, LABELS, opts);
    expect(r.cut).toBe(0);
    // the loss as fine-tuning counts it: one forward over prompt + answer, targets on the answer and end marker only
    const { inputs, targets, B, T } = answerBatch(tok, rows);
    const loss = model.forward(inputs, targets, B, T);
    expect(r.answerLoss).not.toBeNull();
    expect(Math.abs((r.answerLoss as number) - loss)).toBeLessThan(1e-4 * Math.max(1, loss));
    // the per-row scores are the true candidates' log-probabilities
    r.truthScores.forEach((x) => expect(x).toBeLessThan(0));
    // a row whose answer is not a label: no loss from the ranking (its truth score is NaN)
    const odd = [...rows.slice(0, 2), { ...rows[2], output: 'Wave' }];
    const o = rankingAccuracy(model, tok, odd, LABELS, opts);
    expect(o.answerLoss).toBeNull();
    expect(o.truthScores[2]).toBeNaN();
    // a context two tokens short of the longest prompt: its rows are cut, and counted
    const reserve = Math.max(...labelCandidates(tok, LABELS, opts).map((c) => c.length));
    const longest = Math.max(...rows.map((x) => fitPrompt(tok, x, reserve, opts, x.where).ids.length));
    const tight = { ...opts, contextLength: longest + reserve - 3 };
    const short = rows.filter((x) => fitPrompt(tok, x, reserve, opts, x.where).ids.length > longest - 2).length;
    expect(short).toBeGreaterThan(0);
    expect(rankingAccuracy(model, tok, rows, LABELS, tight).cut).toBe(short);
  });
});
