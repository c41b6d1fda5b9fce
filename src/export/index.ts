// Interop file formats: Hugging Face safetensors + config.json, llm.c checkpoints, GGUF (llama.cpp), and format detection.
// Loaders fill one flat paramSpecs-ordered Float32Array with named views; savers take a Map of
// paramSpecs names to Float32Arrays (paramsFromFlat makes one from the model's flat buffer).
export { f16BitsToF32, f32ToF16Bits, bf16BitsToF32, f32ToBf16Bits, decodeF16, decodeBf16, encodeF16, encodeBf16 } from './half.js';
export type { WeightDtype } from './binary.js';
export { paramsFromFlat, type NamedParams, type LoadedWeights, type LoadOptions } from './params.js';
export {
  readSafetensors,
  writeSafetensors,
  encodeSafetensorsHeader,
  parseSafetensorsHeader,
  SafetensorsReader,
  SAFETENSORS_DTYPES,
  type SafetensorsDtype,
  type SafetensorsEntry,
  type SafetensorsHeader,
  type TensorToWrite,
  type LoadedTensor,
} from './safetensors.js';
export { loadHFGPT2, saveHFGPT2, hfConfigJson, parseHFConfig, CONV1D_WEIGHTS, type SaveHFOptions } from './hf-gpt2.js';
export { readLlmcCheckpoint, writeLlmcCheckpoint, encodeLlmcHeader, paddedVocab, LLMC_MAGIC, type LlmcWeights } from './llmc.js';
export { loadWeights, detectFormat, type WeightsFormat, type DetectedWeights } from './load.js';
export {
  GgufReader,
  writeGguf,
  encodeGgufHeader,
  quantizeQ8_0,
  dequantizeQ8_0,
  GGUF_MAGIC,
  GGML_TYPES,
  type GgufValue,
  type GgufTensorInfo,
  type GgufTensorToWrite,
  type GgmlTypeName,
} from './gguf.js';
export { saveGgufGPT2, loadGgufGPT2, ggufTensorName, type GgufDtype, type SaveGgufOptions, type GgufGPT2 } from './gguf-gpt2.js';
export { quantizeInt8, dequantizeInt8, groupsPerRow, INT8_GROUPS, type Int8Group, type Int8Tensor } from './quantize.js';
export { readTllm, readTllmHeader, isTllm, parseTllm, writeTllm, encodeTllmHeader, TLLM_MAGIC, TLLM_VERSION, TLLM_ALIGN, type TllmHeader, type TllmFile, type TllmFinetune, type TllmTensorEntry, type StorageKind } from './tllm.js';
export { exportTllm, tllmTensors, type TllmScheme, type ExportTllmOptions } from './deploy.js';
export { blockSensitivity, choosePrecision, mixedLoss, windowLoss, parseBlockList, type Sensitivity } from './precision.js';
