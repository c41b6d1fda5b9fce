// Merging LoRA adapters into base weights, as PEFT's merge_and_unload: W += (alpha/r)·B·A for every adapted
// layer. tinyllm keeps weights in nn.Linear (out, in) layout, so B(out,r)·A(r,in) adds directly; the Conv1D
// transpose PEFT applies (fan_in_fan_out) happens when the merged weights are written as Hugging Face files.
import { ref } from '../kernels/ref.js';
import type { FloatArray, Kernels } from '../kernels/types.js';
import { siteShape, type LoraAdapters } from './lora.js';

/** Adds every adapter's update into the base weights `weight(name)` returns ('h.0.attn.c_attn.weight', …). */
export function mergeLora(weight: (name: string) => FloatArray, lora: LoraAdapters, kernels: Kernels = ref): void {
  const { r } = lora.config;
  for (let i = 0; i < lora.table.length; i += 2) {
    const a = lora.table[i];
    const site = `h.${a.layer}.${a.site}`;
    const { IC, OC } = siteShape(a.site, lora.modelConfig.nEmbd);
    const B = lora.get(`${site}.lora_B`);
    const sB = B instanceof Float64Array ? new Float64Array(B.length) : new Float32Array(B.length);
    for (let j = 0; j < B.length; j++) sB[j] = B[j] * lora.scaling;
    const W = weight(`${site}.weight`);
    if (W.length !== OC * IC) throw new Error(`mergeLora: '${site}.weight' holds ${W.length} values, expected ${OC}×${IC}`);
    kernels.matmul(W, sB, lora.get(`${site}.lora_A`), OC, r, IC, false, false, true); // W(OC,IC) += s·B(OC,r)·A(r,IC)
  }
}
