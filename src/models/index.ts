// Public API of the models area: GPT-2 configuration, parameters, training forward/backward, KV-cache
// decoding, sampling and text generation.
export * from './gpt2/config.js';
export * from './gpt2/params.js';
export * from './gpt2/model.js';
export * from './gpt2/decode.js';
export * from './gpt2/sampling.js';
export * from './gpt2/generate.js';
export * from './gpt2/block-decode.js';
export * from './gpt2/textgen.js';
export * from './gpt2/number-init.js';
export * from './gpt2/position-init.js';
export { matmulW, matmulWBackward, embedRows, type Int8Matrix } from './gpt2/matrix.js';
export { OpProfiler } from './profile.js';
export * from './nanogpt.js';
