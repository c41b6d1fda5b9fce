// Worker-thread entry of the kernel pool (pool.ts): receives the shared arena memory and the control
// block, then serves jobs forever. Started from pool.ts as .ts under tsx/vitest and as .js from dist/.
import { workerData } from 'node:worker_threads';
import { serve } from './pool.js';

serve(workerData);
