# shellcheck shell=bash
# Shared by the packet-rate scripts that put sluice-dp beside dpdk-testpmd (testpmd_compare.sh,
# testpmd_shaped_compare.sh, real_nic_rate.sh): source it, then use these.

# median: the median of the numbers on stdin, one per line (0 when there are none).
median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print 0; else print a[int((NR+1)/2)]}'; }

# require_build BUILD_DIR: sets dp and ctl to the sluice-dp and sluicectl binaries under it, or
# says what BUILD_DIR must hold and exits 2 (before anything is started).
require_build() {
  dp=$1/dataplane/sluice-dp
  ctl=$1/control/sluicectl/sluicectl
  if [[ ! -x $dp || ! -x $ctl ]]; then
    echo "usage: $0 BUILD_DIR ... (BUILD_DIR holds dataplane/sluice-dp and control/sluicectl/sluicectl)" >&2
    exit 2
  fi
}

# testpmd_rate FIELD SECONDS LOG ARGS...: runs `dpdk-testpmd ARGS... --stats-period 1` (which
# keeps it forwarding until signalled) for SECONDS, then prints the median over its 1-second
# samples of FIELD (Rx-pps or Tx-pps) summed over both ports, the first two samples (start-up)
# skipped. testpmd's output goes to LOG.
testpmd_rate() {
  local field=$1 secs=$2 log=$3 pid
  shift 3
  dpdk-testpmd "$@" --stats-period 1 >"$log" 2>&1 </dev/null &
  pid=$!
  sleep "$secs"
  kill -INT "$pid"
  wait "$pid" || true
  awk -v f="$field:" '$1 == f {sum += $2; n++; if (n % 2 == 0) {print sum; sum = 0}}' "$log" |
    tail -n +3 | median
}

# machine_facts BUILD_DIR: what a rate depends on, one "key: value" line each: the CPU, its
# caches, the kernel, DPDK, and the build (type, compiler, flags) of BUILD_DIR.
machine_facts() {
  local cache=$1/CMakeCache.txt type flags
  type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$cache" 2>/dev/null)
  flags=$(sed -n "s/^CMAKE_CXX_FLAGS_${type^^}:[A-Z]*=//p" "$cache" 2>/dev/null)
  echo "cpu: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs online"
  # From CPUID through glibc (getconf): a VM may hide the caches from lscpu and sysfs.
  echo "caches (getconf): L1d $(($(getconf LEVEL1_DCACHE_SIZE 2>/dev/null || echo 0) / 1024)) KiB," \
    "L2 $(($(getconf LEVEL2_CACHE_SIZE 2>/dev/null || echo 0) / 1024)) KiB," \
    "L3 $(($(getconf LEVEL3_CACHE_SIZE 2>/dev/null || echo 0) / 1024)) KiB"
  echo "kernel: $(uname -r)"
  echo "dpdk: $(pkg-config --modversion libdpdk 2>/dev/null || echo unknown)"
  echo "build: ${type:-unknown}, $(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$cache" 2>/dev/null) ${flags}"
}
