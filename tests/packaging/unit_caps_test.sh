#!/usr/bin/env bash
# The capability sets of the systemd units are enough, and each granted capability is needed,
# for what the units do (scripts/packaging/systemd/; docs/packaging.md, "The units"). Without
# systemd as PID 1, each command runs as the unit would: root, its CapabilityBoundingSet read
# from the unit file (setpriv --bounding-set), in a network namespace of its own with two veth
# pairs:
#   - sluice-xdp@.service: its ExecStart (%i and the conf file's variables filled in) attaches,
#     its ExecStop detaches and removes the pins;
#   - sluiced.service: sluicectl's xdp: commands (what sluiced does to an XDP data plane: policy
#     set, table load, stats) succeed under its set, and fail without CAP_SYS_ADMIN (the unit
#     file says why it grants it).
# Usage: unit_caps_test.sh SOURCE_DIR SLUICE_XDP SLUICECTL. Root only; exit 77 = skipped.
set -uo pipefail
src=$1
xdp=$2
ctl=$3
units=$src/scripts/packaging/systemd
[[ $(id -u) == 0 ]] || { echo "skip: needs root"; exit 77; }
command -v setpriv >/dev/null || { echo "skip: no setpriv"; exit 77; }
mountpoint -q /sys/fs/bpf || { echo "skip: no BPF filesystem at /sys/fs/bpf"; exit 77; }

fails=0
ok() { echo "  ok: $*"; }
bad() {
  echo "  FAIL: $*" >&2
  fails=$((fails + 1))
}
ns=slcaps$$
name=slcaps$$
work=$(mktemp -d /tmp/sluice_caps.XXXXXX)
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  [[ -d /sys/fs/bpf/sluice/$name ]] && "$xdp" detach --name "$name" >/dev/null 2>&1
  ip netns del "$ns" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# bounding UNIT -> "-all,+cap,+cap" for setpriv, from the unit's CapabilityBoundingSet=.
bounding() {
  local caps
  caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$units/$1") || return 1
  [[ -n $caps ]] || return 1
  echo "-all$(tr ' ' '\n' <<<"$caps" | tr '[:upper:]' '[:lower:]' | sed 's/^cap_/,+/' | tr -d '\n')"
}
as_unit() { # BOUNDING CMD... : CMD in the namespace, root with that bounding set
  local set=$1
  shift
  # nsenter, not `ip netns exec`: the latter remounts /sys, hiding the host's /sys/fs/bpf.
  nsenter --net="/run/netns/$ns" setpriv --bounding-set="$set" --inh-caps=-all -- "$@"
}

xdp_set=$(bounding sluice-xdp@.service) || { echo "FAIL: no CapabilityBoundingSet in sluice-xdp@"; exit 1; }
d_set=$(bounding sluiced.service) || { echo "FAIL: no CapabilityBoundingSet in sluiced.service"; exit 1; }
echo "sluice-xdp@: $xdp_set   sluiced: $d_set"

ip netns add "$ns" || exit 1
ip -n "$ns" link add out0 type veth peer name out1 &&
  ip -n "$ns" link add in0 type veth peer name in1 || exit 1
for l in out0 out1 in0 in1; do ip -n "$ns" link set "$l" up; done

# The unit's command lines, with %i and the conf file's variables filled in.
unit_cmd() { # KEY (ExecStart|ExecStop) -> the command, one word a line
  sed -n "s/^$1=//p" "$units/sluice-xdp@.service" |
    sed "s|%i|$name|g; s|\${SLUICE_XDP_OUTSIDE}|out0|; s|\${SLUICE_XDP_INSIDE}|in0|;
         s|\${SLUICE_XDP_MODE}|generic|; s|^/usr/sbin/sluice-xdp|$xdp|" | tr ' ' '\n'
}
mapfile -t start < <(unit_cmd ExecStart)
mapfile -t stop < <(unit_cmd ExecStop)

echo "== sluice-xdp@: ExecStart under its set"
if out=$(as_unit "$xdp_set" "${start[@]}" 2>&1) && [[ -d /sys/fs/bpf/sluice/$name ]]; then
  ok "attached: $out"
else
  bad "ExecStart (${start[*]}): $out"
fi

echo "== sluiced: xdp: commands under its set"
"$ctl" table build --sources "$src/scripts/packaging/etc/sources.ini" --output "$work/t.snap" \
  >/dev/null || bad "table build"
for cmd in "dataplane policy set $src/scripts/packaging/etc/policy.ini" \
  "dataplane table load $work/t.snap" "dataplane stats --json"; do
  # shellcheck disable=SC2086 # the command's words
  if out=$(as_unit "$d_set" "$ctl" --dataplane "xdp:$name" $cmd 2>&1); then
    ok "sluicectl $cmd"
  else
    bad "sluicectl $cmd under $d_set: $out"
  fi
done
no_admin=${d_set//,+sys_admin/}
if [[ $no_admin != "$d_set" ]]; then
  if out=$(as_unit "$no_admin" "$ctl" --dataplane "xdp:$name" dataplane stats 2>&1); then
    bad "stats works without CAP_SYS_ADMIN: sluiced.service need not grant it"
  else
    ok "without CAP_SYS_ADMIN stats fails ($out): the unit's reason holds"
  fi
fi

echo "== sluice-xdp@: ExecStop under its set"
if out=$(as_unit "$xdp_set" "${stop[@]}" 2>&1) && [[ ! -e /sys/fs/bpf/sluice/$name ]]; then
  ok "detached: $out"
else
  bad "ExecStop (${stop[*]}): $out"
fi

[[ $fails -eq 0 ]] && { echo PASS; exit 0; }
echo "FAIL: $fails"
exit 1
