// One generation job of the server: the runtime's text generation stepped one token at a time, returning to the
// event loop between tokens (so other requests are answered, queued or refused meanwhile, and a disconnect is
// noticed) and stopping as soon as the job is cancelled (client gone, server shutting down).
import { textSteps, type GenerateOptions, type GenerateTextResult } from '../models/gpt2/textgen.js';
import type { Decoder } from '../runtime/decoder.js';

export interface GenerationRequest extends GenerateOptions {
  /** Prompt token ids (non-empty). */
  prompt: number[];
  stopStrings: string[];
}

export interface GenerationResult {
  text: string;
  tokens: number;
  /** 'cancelled' when the job stopped early. */
  reason: GenerateTextResult['reason'] | 'cancelled';
}

/** Generates on `dec`, passing each final piece of text to onText (awaited: it may wait for the client). */
export async function runGeneration(dec: Decoder, req: GenerationRequest, onText: (piece: string) => Promise<void> | void, cancelled: () => boolean): Promise<GenerationResult> {
  const steps = textSteps(dec, dec.model.tokenizer, req.prompt, req);
  let text = '';
  let tokens = 0;
  for (;;) {
    if (cancelled()) {
      steps.return(undefined as never);
      return { text, tokens, reason: 'cancelled' };
    }
    const step = steps.next();
    if (step.done) return { text: step.value.text, tokens: step.value.tokens.length, reason: step.value.reason };
    tokens++;
    if (step.value) {
      text += step.value;
      await onText(step.value);
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
