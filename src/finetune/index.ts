// Public API of fine-tuning: methods (full, top-N blocks, LoRA), LoRA adapters, the fine-tune step,
// its resumable state, PEFT adapter files, merging adapters into base weights, LoRA over a frozen int8 base, and
// the zeroth-order (MeZO) perturbation regenerated from its seed.
export * from './method.js';
export * from './lora.js';
export * from './finetuner.js';
export * from './peft.js';
export * from './merge.js';
export * from './state.js';
export * from './memory.js';
export * from './int8-base.js';
export * from './zo.js';
