// The sequence-start rule travels with the weights: a checkpoint records it, `convert --to hf` writes it to
// config.json (tinyllm_sequence_start), loadWeights and generate/eval read it back; a flag still wins.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { chooseSequenceStart, openModel } from '../../src/cli/commands/generate.js';
import { run as convert } from '../../src/cli/commands/convert.js';
import { SEQUENCE_START_KEY } from '../../src/export/hf-gpt2.js';
import { loadWeights } from '../../src/export/load.js';
import { GPT2 } from '../../src/models/gpt2/model.js';
import { plainF32 } from '../../src/models/gpt2/params.js';
import { readCheckpointHeader, saveCheckpoint } from '../../src/train/checkpoint.js';
import { expectUserError, tempDir } from './fixtures.js';

const tmp = tempDir('tinyllm-seqstart-');

async function quietConvert(from: string, to: string): Promise<void> {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  try {
    await convert([from, to, '--to', 'hf']);
  } finally {
    log.mockRestore();
  }
}

describe('sequence start recorded with the weights', () => {
  const model = new GPT2({ blockSize: 8, vocabSize: 50, nLayer: 1, nHead: 2, nEmbd: 8 }, { alloc: plainF32, seed: 1 });

  it('checkpoint → config.json → loadWeights → generate/eval, and the flag overrides', async () => {
    const ckpt = tmp('none.ckpt');
    saveCheckpoint(ckpt, { model, step: 0, sequenceStart: 'none' });
    expect(readCheckpointHeader(ckpt).sequenceStart).toBe('none');
    expect(loadWeights(ckpt).sequenceStart).toBe('none');
    const hf = tmp('hf');
    await quietConvert(ckpt, hf);
    expect(JSON.parse(fs.readFileSync(path.join(hf, 'config.json'), 'utf8'))[SEQUENCE_START_KEY]).toBe('none');
    expect(loadWeights(hf).sequenceStart).toBe('none');
    const opened = await openModel(hf);
    expect(opened.sequenceStart).toBe('none');
    expect(chooseSequenceStart(undefined, opened.sequenceStart)).toBe('none');
    expect(chooseSequenceStart('endoftext', opened.sequenceStart)).toBe('endoftext');
    expect(chooseSequenceStart(undefined, null)).toBe('endoftext');
  });

  it('files that record nothing keep the default; a bad value is a clear error', async () => {
    const plain = tmp('plain.ckpt');
    saveCheckpoint(plain, { model, step: 0 });
    expect((await openModel(plain)).sequenceStart).toBeNull();
    const hf = tmp('hf-plain');
    await quietConvert(plain, hf);
    const cfgFile = path.join(hf, 'config.json');
    const cfg = JSON.parse(fs.readFileSync(cfgFile, 'utf8'));
    expect(cfg[SEQUENCE_START_KEY]).toBeUndefined();
    expect(loadWeights(hf).sequenceStart).toBeUndefined();
    fs.writeFileSync(cfgFile, JSON.stringify({ ...cfg, [SEQUENCE_START_KEY]: 'bos' }));
    expectUserError(() => loadWeights(hf), SEQUENCE_START_KEY, "'bos' is not a sequence start");
  });
});
