#!/usr/bin/env bash
# mem-cap.sh MB COMMAND...: runs COMMAND natively in a memory cgroup capped at MB MiB (v2 or v1; needs root), like a
# small board; prints the cgroup's peak memory afterwards. Exit status is the command's (137 when killed at the cap).
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 MB COMMAND..." >&2; exit 2; }
mb=$1; shift
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  base=/sys/fs/cgroup$(sed -n 's/^0:://p' /proc/self/cgroup); limit=memory.max; peak=memory.peak
  { grep -qw memory "${base%/}/cgroup.subtree_control" || echo +memory >"${base%/}/cgroup.subtree_control"; } 2>/dev/null || :
else
  base=/sys/fs/cgroup/memory$(awk -F: '$2=="memory"{print $3}' /proc/self/cgroup); limit=memory.limit_in_bytes; peak=memory.max_usage_in_bytes
fi
cg=${base%/}/tinyllm-cap-$$
if ! { mkdir "$cg" && echo $((mb << 20)) >"$cg/$limit"; } 2>/dev/null; then
  rmdir "$cg" 2>/dev/null || :
  echo "mem-cap: cannot make a memory cgroup under $base (needs root and a writable cgroupfs)" >&2; exit 2
fi
[ ! -f "$cg/memory.memsw.limit_in_bytes" ] || echo $((mb << 20)) >"$cg/memory.memsw.limit_in_bytes" 2>/dev/null || :
rc=0
(echo "$BASHPID" >"$cg/cgroup.procs" && exec "$@") || rc=$?
[ ! -f "$cg/$peak" ] || echo "mem-cap: peak $(( $(cat "$cg/$peak") >> 20 )) MiB of the ${mb} MiB cap" >&2
rmdir "$cg" 2>/dev/null || :
[ $rc -ne 137 ] || echo "mem-cap: killed (SIGKILL), probably at the ${mb} MiB cap" >&2
exit $rc
