// `tinyllm info`: what this machine gives the engine — package and Node versions, CPU architecture,
// the kernel tiers available, the tier and thread count the process would use (after TINYLLM_KERNELS /
// TINYLLM_THREADS), and WebAssembly SIMD / shared-memory support.
import * as os from 'node:os';
import { availableTiers, getKernels } from '../../kernels/index.js';
import { simdSupported } from '../../kernels/wasm/index.js';
import { sharedArena } from '../../tensor/arena.js';
import { formatHelp, parseArgs } from '../args.js';
import { packageVersion } from '../main.js';

export const summary = 'Show versions, CPU, kernel tiers, threads and WebAssembly SIMD support';

const OPTIONS = {
  json: { type: 'boolean', help: 'print one JSON object instead of text', default: false },
} as const;

export async function run(argv: string[]): Promise<void> {
  const { options, help } = parseArgs('info', argv, OPTIONS);
  if (help) {
    console.log(formatHelp('info', '[--json]', summary, OPTIONS));
    return;
  }
  const kernels = getKernels();
  const info = {
    version: packageVersion(),
    node: process.versions.node,
    platform: process.platform,
    arch: process.arch,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism?.() ?? os.cpus().length,
    tiers: availableTiers(),
    kernels: kernels.name,
    threads: kernels.threads,
    wasmSimd: simdSupported(),
    sharedMemory: sharedArena().shared,
    env: {
      TINYLLM_KERNELS: process.env.TINYLLM_KERNELS ?? null,
      TINYLLM_THREADS: process.env.TINYLLM_THREADS ?? null,
    },
  };
  if (options.json) {
    console.log(JSON.stringify(info));
    return;
  }
  const yes = (b: boolean) => (b ? 'yes' : 'no');
  console.log(
    [
      `tinyllm ${info.version}`,
      `node      ${info.node} (${info.platform}/${info.arch})`,
      `cpu       ${info.cpu}, ${info.cores} cores`,
      `tiers     ${info.tiers.join(', ')}`,
      `kernels   ${info.kernels} on ${info.threads} thread${info.threads === 1 ? '' : 's'}` +
        (info.env.TINYLLM_KERNELS || info.env.TINYLLM_THREADS ? ' (set by TINYLLM_KERNELS / TINYLLM_THREADS)' : ' (override with TINYLLM_KERNELS / TINYLLM_THREADS)'),
      `wasm SIMD ${yes(info.wasmSimd)}`,
      `shared memory for worker threads: ${yes(info.sharedMemory)}`,
    ].join('\n'),
  );
}
