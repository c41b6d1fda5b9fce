#!/usr/bin/env bash
# arm-check.sh [--memory] [--finetune]: the project's ARM check. Builds, exports a small random GPT-2 to int8 (.tllm),
# generates with it natively and under emulated arm64 Node 18 (wasm tier on 2 threads and the plain-TS tier; greedy and
# seeded sampling), and fails unless the outputs are identical. --memory also proves the 512 MiB board with the 124M
# int8 model: natively in a 512 MiB cgroup (scripts/mem-cap.sh, root) and emulated with a 768 MiB cap (qemu adds
# ~180–290). --finetune proves the same caps for fine-tuning it: one step of LoRA over the frozen int8 base on the
# built-in gesture task (slow under emulation: about half an hour).
# The emulator: $TINYLLM_ARM_NODE, else ../shared/tools/arm64-node.sh beside the repo (qemu-user + Node arm64 builds;
# run its 'setup' once).
set -euo pipefail
cd "$(dirname "$0")/.."
arm=${TINYLLM_ARM_NODE:-../shared/tools/arm64-node.sh}
if [ ! -x "$arm" ]; then
  echo "arm-check: no ARM emulator at '$arm'. Set TINYLLM_ARM_NODE to a script that runs 'SCRIPT run node-args...' on" >&2
  echo "  emulated arm64 Node (e.g. the team's arm64-node.sh: qemu-user-static + Debian's arm64 nodejs), then run again." >&2
  exit 2
fi
memory=0
finetune=0
for a in "$@"; do
  case $a in
    --memory) memory=1 ;;
    --finetune) finetune=1 ;;
    *) echo "arm-check: unknown option '$a' (use --memory and/or --finetune)" >&2; exit 2 ;;
  esac
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

npm run build --silent
node scripts/random-model.mjs tiny "$tmp/tiny.tllm" int8 32
fail=0
for kernels in wasm js; do
  for sampling in "--temperature 0" "--temperature 0.8 --seed 7"; do
    # shellcheck disable=SC2086
    args=(generate -m "$tmp/tiny.tllm" -p "Sensor log:" -n 24 --kernels "$kernels" --threads 2 $sampling)
    native=$(node dist/cli/bin.js "${args[@]}" 2>/dev/null)
    emulated=$(ARM_NODE=${ARM_NODE:-debian} "$arm" run dist/cli/bin.js "${args[@]}" 2>/dev/null)
    if [ "$native" = "$emulated" ]; then echo "arm-check: $kernels $sampling: arm64 output equals native"
    else echo "arm-check: $kernels $sampling: DIFFERENT"; echo "  native:   $native"; echo "  emulated: $emulated"; fail=1; fi
  done
done

if [ $memory = 1 ] || [ $finetune = 1 ]; then
  node scripts/random-model.mjs 124M "$tmp/124m.tllm" int8 64
fi
if [ $memory = 1 ]; then
  ls -l "$tmp/124m.tllm" | awk '{printf "arm-check: 124M int8 file %.1f MB\n", $5 / 1e6}'
  gen=(generate -m "$tmp/124m.tllm" -p "Sensor log:" -n 16 --temperature 0)
  echo "arm-check: 124M int8, native, 512 MiB cgroup:"
  scripts/mem-cap.sh 512 node dist/cli/bin.js "${gen[@]}" || fail=1
  echo "arm-check: 124M int8, emulated arm64 Node 18, 768 MiB cap:"
  ARM_MEM_MB=768 "$arm" run dist/cli/bin.js "${gen[@]}" || fail=1
fi
if [ $finetune = 1 ]; then
  node dist/cli/bin.js datasets generate --out "$tmp/ds" --scale 0.05 >/dev/null
  g="$tmp/ds/gesture"
  # one optimizer step on one row, two validation rows: what the memory needs is the step, not the length of the run
  ft=(finetune --from "$tmp/124m.tllm" --method lora --train "$g/train.jsonl" --val "$g/val.jsonl" --steps 1 --batch 1
      --val-examples 2 --threads 2)
  echo "arm-check: 124M LoRA over the int8 base, native, 512 MiB cgroup:"
  scripts/mem-cap.sh 512 node dist/cli/bin.js "${ft[@]}" --out "$tmp/ft-native" || fail=1
  echo "arm-check: 124M LoRA over the int8 base, emulated arm64 Node 18, 768 MiB cap:"
  ARM_MEM_MB=768 "$arm" run dist/cli/bin.js "${ft[@]}" --out "$tmp/ft-arm" || fail=1
fi
[ $fail = 0 ] && echo "arm-check: OK" || { echo "arm-check: FAILED" >&2; exit 1; }
