// Tokenizer benchmark: GPT-2 encode throughput (MB/s of UTF-8, tokens/s) of ours and of the oracle
// package (gpt-tokenizer r50k_base) on the same generated mixed text (prose, sensor logs, code, CJK,
// emoji), in the same run. "first" is one pass with empty piece caches, "warm" is tinybench's mean
// (wall clock), "cpu" is the best of 3 warm passes per CPU-second of this process (less sensitive to
// other work on the machine).
// Usage: npx tsx bench/tokenizer.ts [--mb 4]      Last stdout line: JSON summary.
import { Bench } from 'tinybench';
import { encode as oracleEncode } from 'gpt-tokenizer/encoding/r50k_base';
import { BpeTokenizer, gpt2 } from '../src/tokenizer/index.js';
import { Rng } from '../src/util/rng.js';

const WORDS = (
  'the of and to in a is that for it as was with be by on not he I this are or his from at which but have an they you ' +
  'were their one all we can her has there been if more when will would who so no sensor reading value temperature ' +
  'humidity pressure device battery signal network model training data window sample average anomaly threshold ' +
  'calibration accelerometer gyroscope firmware measurement interval timestamp embedded controller inference'
).split(' ');
const CJK = '的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可里后什么';
const EMOJI = ['🤖', '🧠', '👍', '🎉', '🔥', '❤️', '👨‍👩‍👧', '🇫🇷', '☀️', '🌧️'];

/** About `bytes` bytes of mixed text, reproducible from the seed. */
function makeText(bytes: number, seed = 7): string {
  const rng = new Rng(seed);
  const pick = <T>(a: readonly T[]) => a[Math.min(a.length - 1, Math.floor(a.length * rng.random() ** 2))];
  const parts: string[] = [];
  let size = 0;
  while (size < bytes) {
    let chunk = '';
    const kind = rng.random();
    if (kind < 0.5) {
      for (let s = 0; s < 5; s++) {
        const n = 5 + rng.int(15);
        const ws = Array.from({ length: n }, () => pick(WORDS));
        ws[0] = ws[0][0].toUpperCase() + ws[0].slice(1);
        if (rng.random() < 0.2) ws.push(`it's ${rng.int(1000)}`);
        chunk += `${ws.join(' ')}${pick(['.', '.', '!', '?', ';', ','])} `;
      }
      chunk += '\n\n';
    } else if (kind < 0.75) {
      for (let l = 0; l < 10; l++) {
        const t = `2024-05-${String(1 + rng.int(28)).padStart(2, '0')}T${String(rng.int(24)).padStart(2, '0')}:${String(rng.int(60)).padStart(2, '0')}:${String(rng.int(60)).padStart(2, '0')}.${rng.int(1000)}Z`;
        chunk += `${t} temp=${(15 + rng.random() * 20).toFixed(2)} hum=${(rng.random() * 100).toFixed(1)} ax=${rng.normal().toFixed(4)} ay=${rng.normal().toFixed(4)} az=${(9.81 + rng.normal() * 0.1).toFixed(3)} id=${rng.nextU32().toString(16)}\n`;
      }
    } else if (kind < 0.9) {
      const name = pick(WORDS);
      chunk = `function ${name}Value(x, y) {\n    const ${name} = x * ${rng.int(100)} + y;\n    if (${name} > ${rng.int(50)}) {\n        return [${name}, "${pick(WORDS)}"];\n    }\n    return null; // ${pick(WORDS)}\n}\n\n`;
    } else {
      for (let i = 0; i < 40; i++) chunk += CJK[rng.int(CJK.length)];
      chunk += `${pick(EMOJI)}${pick(EMOJI)} ${pick(WORDS)} ${pick(EMOJI)}。\n`;
    }
    parts.push(chunk);
    size += Buffer.byteLength(chunk);
  }
  return parts.join('');
}

const mbArg = process.argv.indexOf('--mb');
const mb = mbArg >= 0 ? Number(process.argv[mbArg + 1]) : 4;
const text = makeText(mb * 1e6);
const bytes = Buffer.byteLength(text);

let t0 = performance.now();
const ours = new BpeTokenizer(gpt2().model);
const loadMs = performance.now() - t0;
const oracle = (s: string) => oracleEncode(s, { disallowedSpecial: new Set() });

function first(fn: (s: string) => number[]): { ms: number; tokens: number[] } {
  const start = performance.now();
  const tokens = fn(text);
  return { ms: performance.now() - start, tokens };
}
const oursFirst = first((s) => ours.encode(s));
const oracleFirst = first(oracle);
const same = oursFirst.tokens.length === oracleFirst.tokens.length && oursFirst.tokens.every((id, i) => id === oracleFirst.tokens[i]);
const nTokens = oursFirst.tokens.length;

const bench = new Bench({ iterations: 5, time: 0, warmupIterations: 1, warmupTime: 0 });
bench.add('ours', () => void ours.encode(text)).add('gpt-tokenizer', () => void oracle(text));
await bench.run();

const rate = (ms: number) => ({ MBps: +(bytes / 1e6 / (ms / 1000)).toFixed(2), tokensPerSec: Math.round(nTokens / (ms / 1000)) });
const warm = (name: string) => {
  const task = bench.tasks.find((t) => t.name === name);
  const ms = task?.result && 'latency' in task.result ? task.result.latency.mean : NaN;
  return rate(ms);
};
console.table(bench.table());
const cpu = (fn: (s: string) => number[]) => {
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    const c0 = process.cpuUsage();
    fn(text);
    const c = process.cpuUsage(c0);
    best = Math.min(best, (c.user + c.system) / 1000);
  }
  return rate(best);
};
const oursCpu = cpu((s) => ours.encode(s));
const oracleCpu = cpu(oracle);
t0 = performance.now();
const decoded = ours.decode(oursFirst.tokens);
const decodeMs = performance.now() - t0;
const summary = {
  bench: 'tokenizer',
  textMB: +(bytes / 1e6).toFixed(2),
  tokens: nTokens,
  identicalToOracle: same,
  roundTrip: decoded === text,
  ours: { first: rate(oursFirst.ms), warm: warm('ours'), cpu: oursCpu, loadMs: Math.round(loadMs), decodeMBps: +(bytes / 1e6 / (decodeMs / 1000)).toFixed(1) },
  oracle: { first: rate(oracleFirst.ms), warm: warm('gpt-tokenizer'), cpu: oracleCpu },
  speedupCpu: +(oursCpu.MBps / oracleCpu.MBps).toFixed(2),
  note: 'timings share 2 cores with other work; noisy',
};
console.log(JSON.stringify(summary));
