#!/usr/bin/env bash
# shellcheck disable=SC2016 # the single-quoted scripts expand in the shells they are given to
# scripts/install-deps on a Debian 12 system that runs exim4, without touching this machine: a
# minimal Debian 12 in a chroot under build/ (debootstrap, itself only unpacked from its package),
# exim4 installed in it, then the project's install-deps run in it. Passes when afterwards exim4
# is still installed and enabled exactly as before, postfix is not installed, /etc/postfix does
# not exist, and the unpacked Postfix's smtp-sink accepts a message from its smtp-source inside
# the chroot (in a network namespace of its own).
#
#   tests/setup/exim_chroot_check.sh [--dry-run] [DIR]     (default DIR: build/exim-check)
#
#   --dry-run   run install-deps --dry-run in the chroot (what apt would do; minutes less)
#
# Not a ctest: it downloads a few hundred MB and takes many minutes. Root only. Every command in
# the chroot runs in a private mount namespace (unshare -m) with its own /proc, so no mount is
# left on the machine; services in the chroot are never started (policy-rc.d). Remove DIR to undo.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
dry=""
[[ ${1:-} == --dry-run ]] && { dry=--dry-run; shift; }
dir=$(realpath -m "${1:-$root/build/exim-check}")
[[ $(id -u) -eq 0 ]] || { echo "exim_chroot_check: needs root" >&2; exit 77; }
mkdir -p "$dir"
r=$dir/root
# in_chroot CMD...: CMD inside the chroot, in a private mount namespace with /proc mounted.
in_chroot() {
  unshare -m -- sh -c 'mount -t proc proc "$0/proc" && exec chroot "$0" "$@"' "$r" \
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}

if [[ ! -e $r/etc/debian_version ]]; then
  echo "== a minimal Debian 12 in $r (debootstrap, unpacked from its package, not installed)"
  mkdir -p "$dir/dl"
  chown _apt: "$dir/dl" 2>/dev/null || true
  (cd "$dir/dl" && apt-get download -q debootstrap)
  dpkg-deb -x "$dir"/dl/debootstrap_*.deb "$dir/dbs"
  DEBOOTSTRAP_DIR=$dir/dbs/usr/share/debootstrap "$dir/dbs/usr/sbin/debootstrap" \
    --variant=minbase bookworm "$r" http://deb.debian.org/debian >"$dir/debootstrap.log" 2>&1
fi
# Never start a service inside the chroot (they would run on this machine).
printf '#!/bin/sh\nexit 101\n' >"$r/usr/sbin/policy-rc.d"
chmod +x "$r/usr/sbin/policy-rc.d"
cp /etc/resolv.conf "$r/etc/resolv.conf"

echo "== exim4 as the chroot's MTA"
in_chroot apt-get update -qq
in_chroot apt-get install -y -qq --no-install-recommends exim4-daemon-light >"$dir/exim4.log" 2>&1
state() {
  in_chroot dpkg-query -W -f='${Package} ${Status}\n' 'exim4*' postfix 2>/dev/null |
    grep -v 'not-installed' | sort
  find "$r/etc/rc"?.d "$r/etc/systemd/system" -name '*exim4*' -o -name '*postfix*' 2>/dev/null |
    sed "s|^$r||" | sort
}
before=$(state)
echo "$before"

echo "== the project's install-deps $dry in the chroot"
rm -rf "$r/root/sluice"
mkdir -p "$r/root/sluice"
git -C "$root" archive HEAD | tar -x -C "$r/root/sluice"
set +e
in_chroot /root/sluice/scripts/install-deps $dry >"$dir/install-deps.log" 2>&1
rc=$?
set -e
tail -n 5 "$dir/install-deps.log"

fails=0
check() {
  local d=$1
  shift
  if "$@"; then echo "  ok: $d"; else
    echo "  FAIL: $d" >&2
    fails=$((fails + 1))
  fi
}
after=$(state)
check "install-deps $dry succeeded (exit $rc)" test "$rc" = 0
check "no REFUSING line" bash -c "! grep -q REFUSING '$dir/install-deps.log'"
check "exim4 packages and their rc/systemd links unchanged" test "$before" = "$after"
check "exim4-daemon-light still installed" grep -q '^exim4-daemon-light install ok installed' <<<"$after"
check "postfix not installed" bash -c "! grep -q '^postfix ' <<<'$after'"
check "no /etc/postfix in the chroot" test ! -e "$r/etc/postfix"
if [[ -z $dry ]]; then
  check "the unpacked Postfix is in the chroot's /var/cache/sluice-tools" \
    test -f "$r/var/cache/sluice-tools/postfix/.complete"
  # smtp-sink and smtp-source from the copy, in network and mount namespaces of their own.
  out=$(unshare -n -m -- sh -c 'mount -t proc proc "$0/proc" 2>/dev/null; exec chroot "$0" sh -c "
      ip link set lo up
      P=/var/cache/sluice-tools/postfix/usr/sbin
      \$P/smtp-sink -u nobody 127.0.0.1:25 10 & s=\$!
      sleep 1
      \$P/smtp-source -m 1 127.0.0.1:25 && echo DELIVERED
      kill \$s"' "$r" 2>&1 || true)
  check "smtp-source -> smtp-sink from the copy inside the chroot" grep -q DELIVERED <<<"$out"
fi
[[ $fails == 0 ]] && echo PASS || echo "FAILED: $fails"
[[ $fails == 0 ]]
