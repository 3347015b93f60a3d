#!/usr/bin/env bash
# shellcheck disable=SC2015 # "A && ok ... || bad ...": ok only prints, it never fails
# The Debian package, as an operator receives it:
#   - CPack makes it from this build (its binaries as built; the package's files are the target
#     sluice_packaging_files, built first if needed);
#   - `dpkg -c` lists every program, unit, conffile, man page, the completion, the BPF object
#     and the docs (docs/packaging.md, "What it installs"); Depends was computed (libc6 in it)
#     and names DPDK's ring mempool driver, Recommends its af_packet PMD (plugins);
#   - the conffiles are exactly the files under /etc; the maintainer scripts are executable;
#   - unpacked into a scratch root (dpkg-deb -x), every program answers --version (its name and
#     the tree's version) and --help (exit 0, a usage line) from there;
#   - the example sources.ini builds a table with the unpacked sluicectl, and policy.ini passes
#     `sluicectl policy check`;
#   - the installed bash completion completes command words, options and xdp:/dpdk: specs;
#   - each man page renders without roff warnings and names its program;
#   - the unit files pass `systemd-analyze verify` (their programs found in the scratch root),
#     and name the run-time paths of docs/packaging.md.
# Usage: package_test.sh SOURCE_DIR BUILD_DIR VERSION PROGRAM...  Exit 0 pass, 1 fail.
set -uo pipefail
src=${1:?source dir}
build=${2:?build dir}
version=${3:?version}
shift 3
progs=()
for p in "$@"; do [[ -n $p ]] && progs+=("$p"); done

fails=0
ok() { echo "  ok: $*"; }
bad() {
  echo "  FAIL: $*" >&2
  fails=$((fails + 1))
}

work=$(mktemp -d /tmp/sluice_pkg.XXXXXX)
trap 'rm -rf "$work"' EXIT

echo "== cpack on $build"
if ! cmake --build "$build" --target sluice_packaging_files >"$work/build.log" 2>&1; then
  tail -n 30 "$work/build.log" >&2
  echo "FAIL: cannot build the package's files"
  exit 1
fi
# The package stays in BUILD/packaging/test-deb for packaging.lintian (lintian_test.sh).
out=$build/packaging/test-deb
rm -rf "$out"
if ! cpack --config "$build/CPackConfig.cmake" -B "$out" >"$work/cpack.log" 2>&1; then
  cat "$work/cpack.log" >&2
  echo "FAIL: cpack"
  exit 1
fi
rm -rf "$out/_CPack_Packages"
mapfile -t debs < <(find "$out" -maxdepth 1 -name 'sluice_*.deb')
[[ ${#debs[@]} -eq 1 ]] || { echo "FAIL: expected one sluice_*.deb, got: ${debs[*]}"; exit 1; }
deb=${debs[0]}
ok "built ${deb##*/} ($(du -h "$deb" | cut -f1))"

echo "== dpkg -c"
dpkg -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|; s|/$||' | sort >"$work/list"
expect=(
  /usr/bin/sluicectl /usr/sbin/sluice-dp /usr/sbin/sluice-xdp
  /usr/lib/sluice/bpf/sluice_xdp.bpf.o
  /lib/systemd/system/sluice-dp@.service /lib/systemd/system/sluice-xdp@.service
  /etc/sluice/sources.ini /etc/sluice/local.list /etc/sluice/policy.ini
  /usr/share/doc/sluice/copyright /usr/share/doc/sluice/changelog.Debian.gz
  /usr/share/doc/sluice/README.md /usr/share/doc/sluice/packaging.md
  /usr/share/doc/sluice/examples/sluice-dp-example.conf
  /usr/share/doc/sluice/examples/sluice-xdp-example.conf
  /usr/share/bash-completion/completions/sluicectl
)
for doc in "$src"/docs/*.md; do expect+=("/usr/share/doc/sluice/${doc##*/}"); done
for p in "${progs[@]}"; do
  case $p in
    sluicectl) expect+=(/usr/share/man/man1/sluicectl.1.gz) ;;
    *) expect+=("/usr/share/man/man8/$p.8.gz") ;;
  esac
  [[ $p == sluiced ]] &&
    expect+=(/usr/sbin/sluiced /lib/systemd/system/sluiced.service /etc/sluice/sluiced.ini)
done
missing=0
for f in "${expect[@]}"; do
  grep -qxF "$f" "$work/list" || { bad "dpkg -c lacks $f"; missing=1; }
done
[[ $missing == 0 ]] && ok "dpkg -c lists all ${#expect[@]} expected files"
depends=$(dpkg-deb -f "$deb" Depends)
if [[ $depends == *libc6* ]]; then ok "Depends computed: $depends"; else bad "Depends: '$depends'"; fi
# DPDK's drivers are plugins that dpkg-shlibdeps cannot see: the package that ships this
# machine's ring mempool driver must be a dependency (sluice-dp cannot start without it), the
# one with the af_packet PMD a recommendation (the rig's and the unit's example ports).
recommends=$(dpkg-deb -f "$deb" Recommends)
plugin_pkg() { dpkg -S "$1" 2>/dev/null | head -n 1 | cut -d: -f1; }
ring_pkg=$(plugin_pkg 'librte_mempool_ring.so.*')
afp_pkg=$(plugin_pkg 'librte_net_af_packet.so.*')
if [[ -z $ring_pkg || -z $afp_pkg ]]; then
  bad "no package on this machine ships librte_mempool_ring / librte_net_af_packet"
else
  grep -qE "(^|, )$ring_pkg(\$| |,)" <<<"$depends" && ok "Depends names $ring_pkg" ||
    bad "Depends lacks $ring_pkg (DPDK's ring mempool driver): '$depends'"
  grep -qE "(^|, )$afp_pkg(\$| |,)" <<<"$recommends" && ok "Recommends names $afp_pkg" ||
    bad "Recommends lacks $afp_pkg: '$recommends'"
fi

echo "== control files"
dpkg-deb -e "$deb" "$work/ctrl"
root=$work/root
dpkg-deb -x "$deb" "$root"
diff <(sort "$work/ctrl/conffiles") <(cd "$root" && find etc -type f | sed 's|^|/|' | sort) \
  >"$work/conf.diff" && ok "conffiles are the files under /etc" ||
  bad "conffiles differ from /etc: $(cat "$work/conf.diff")"
for s in postinst postrm; do
  [[ -x $work/ctrl/$s ]] && sh -n "$work/ctrl/$s" && ok "$s executable, valid sh" || bad "$s"
done

echo "== programs from the scratch root"
for p in "${progs[@]}"; do
  bin=$root/usr/sbin/$p
  [[ $p == sluicectl ]] && bin=$root/usr/bin/$p
  if [[ ! -x $bin ]]; then
    bad "$p is not in the package"
    continue
  fi
  out=$("$bin" --version 2>&1)
  rc=$?
  [[ $rc == 0 && $out == "$p $version"* ]] && ok "$p --version: $out" ||
    bad "$p --version: exit $rc, '$out'"
  out=$("$bin" --help 2>&1)
  rc=$?
  [[ $rc == 0 && $out == *"Usage: $p"* ]] && ok "$p --help (exit 0, usage line)" ||
    bad "$p --help: exit $rc, '${out:0:200}'"
done
ctl=$root/usr/bin/sluicectl
if "$ctl" table build --sources "$root/etc/sluice/sources.ini" --output "$work/t.snap" \
  >"$work/build.out" 2>&1 && "$ctl" table lookup --table "$work/t.snap" 192.0.2.1 |
  grep -q '192.0.2.1 .* 3 '; then
  ok "the example sources.ini builds a table (192.0.2.1 scores 3)"
else
  bad "example sources.ini: $(cat "$work/build.out")"
fi
"$ctl" policy check "$root/etc/sluice/policy.ini" >"$work/policy.out" 2>&1 &&
  ok "the example policy.ini passes policy check" ||
  bad "example policy.ini: $(cat "$work/policy.out")"
if [[ -x $root/usr/sbin/sluiced ]]; then
  # The example names /etc/sluice paths; check it with those pointing into the scratch root.
  sed "s|/etc/sluice/|$root/etc/sluice/|; s|^state_dir = .*|state_dir = $work/state|; s|^socket = .*|socket = $work/d.sock|" \
    "$root/etc/sluice/sluiced.ini" >"$work/sluiced.ini"
  "$root/usr/sbin/sluiced" --check --config "$work/sluiced.ini" >"$work/check.out" 2>&1 &&
    ok "the example sluiced.ini passes sluiced --check" ||
    bad "example sluiced.ini: $(cat "$work/check.out")"
fi

echo "== bash completion"
complete_words() { # WORDS... (the last is the word being completed) -> COMPREPLY, one a line
  bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"
    COMP_POINT=${#COMP_LINE}; _sluicectl; printf "%s\n" "${COMPREPLY[@]}"' \
    _ "$root/usr/share/bash-completion/completions/sluicectl" "$@" 2>&1
}
check_completion() { # EXPECTED WORDS...
  local want=$1 got
  shift
  got=$(complete_words "$@" | tr '\n' ' ' | sed 's/ $//')
  [[ $got == "$want" ]] && ok "complete '$*' -> $got" || bad "complete '$*': '$got', not '$want'"
}
check_completion "dataplane" sluicectl da
check_completion "build" sluicectl table b
check_completion "delta load" sluicectl --dataplane xdp:x dataplane table ""
check_completion "--sources" sluicectl table build --so
check_completion "--dataplane" sluicectl --datap
check_completion "xdp:" sluicectl --dataplane xd

echo "== man pages"
for page in "$root"/usr/share/man/man*/*.gz; do
  name=${page##*/}
  warn=$(LC_ALL=C.UTF-8 MANROFFSEQ='' man --warnings -E UTF-8 -l -Tutf8 "$page" 2>&1 >"$work/man.txt")
  if [[ -n $warn ]]; then
    bad "$name: roff warnings: ${warn:0:300}"
  elif grep -q "${name%%.*}" "$work/man.txt"; then
    ok "$name renders cleanly"
  else
    bad "$name does not name its program"
  fi
done

echo "== units"
units=("$root"/lib/systemd/system/*.service)
if command -v systemd-analyze >/dev/null; then
  # verify checks that each ExecStart/ExecStop program exists: in copies of the units, the
  # package's programs are named by their place in the scratch root (--root would also look
  # for systemd's own units there). --man=no: the scratch root's man pages are not where man
  # looks.
  mkdir -p "$work/units"
  for f in "${units[@]}"; do sed "s|/usr/sbin/|$root/usr/sbin/|g" "$f" >"$work/units/${f##*/}"; done
  if systemd-analyze verify --man=no "$work"/units/*.service >"$work/verify.out" 2>&1; then
    ok "systemd-analyze verify: ${units[*]##*/}"
  else
    bad "systemd-analyze verify: $(cat "$work/verify.out")"
  fi
else
  echo "  skip: no systemd-analyze"
fi
u=$root/lib/systemd/system
if [[ -x $root/usr/sbin/sluiced ]]; then
  grep -q '^ExecStart=/usr/sbin/sluiced --config /etc/sluice/sluiced.ini$' "$u/sluiced.service" &&
    grep -q '^Type=notify$' "$u/sluiced.service" && ok "sluiced.service: ExecStart, Type=notify" ||
    bad "sluiced.service ExecStart/Type"
elif [[ -e $u/sluiced.service ]]; then
  bad "sluiced.service without sluiced"
fi
grep -q -- '--control /run/sluice/sluice-dp-%i.sock' "$u/sluice-dp@.service" &&
  grep -q '^Restart=always$' "$u/sluice-dp@.service" &&
  ok "sluice-dp@.service: its socket under /run/sluice, Restart=always" ||
  bad "sluice-dp@.service socket/Restart"
grep -q '^ExecStop=/usr/sbin/sluice-xdp detach --name %i$' "$u/sluice-xdp@.service" &&
  ok "sluice-xdp@.service detaches on stop" || bad "sluice-xdp@.service ExecStop"
for f in "${units[@]}"; do
  grep -q '^RuntimeDirectoryPreserve=yes$' "$f" || bad "${f##*/}: RuntimeDirectoryPreserve"
done

[[ $fails -eq 0 ]] && { echo PASS; exit 0; }
echo "FAIL: $fails"
exit 1
