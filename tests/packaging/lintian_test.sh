#!/usr/bin/env bash
# lintian on the package packaging.deb made (BUILD/packaging/test-deb): no error and no warning
# beyond the overrides the package ships, each with its reason
# (scripts/packaging/debian/lintian-overrides); every override still matches something, so none
# outlives its reason.
# Usage: lintian_test.sh BUILD_DIR. Exit 0 pass, 1 fail, 77 skip (no lintian).
set -uo pipefail
build=${1:?build dir}
command -v lintian >/dev/null || { echo "skip: no lintian (scripts/install-deps installs it)"; exit 77; }
mapfile -t debs < <(find "$build/packaging/test-deb" -maxdepth 1 -name 'sluice_*.deb' 2>/dev/null)
[[ ${#debs[@]} -eq 1 ]] || { echo "FAIL: no package from packaging.deb in $build/packaging/test-deb"; exit 1; }
# lintian leaves a cache file in its TMPDIR (mldbm-elf-*): a scratch one, removed at exit.
scratch=$(mktemp -d /tmp/sluice-lintian.XXXXXX) || { echo "FAIL: no scratch directory"; exit 1; }
trap 'rm -rf "$scratch"' EXIT
# (--show-overrides would make lintian 2.116 exit 2 on overridden errors: the overrides are
# counted from the package's file instead.)
out=$(TMPDIR=$scratch lintian --no-cfg --display-info --fail-on error,warning "${debs[0]}" 2>&1)
rc=$?
echo "$out"
[[ $rc == 0 ]] || { echo "FAIL: lintian exit $rc"; exit 1; }
unused=$(grep -E "^[A-Z]: sluice: (unused|mismatched)-override" <<<"$out")
[[ -z $unused ]] || { echo "FAIL: overrides that match nothing: $unused"; exit 1; }
n=$(dpkg-deb --fsys-tarfile "${debs[0]}" | tar -xO ./usr/share/lintian/overrides/sluice |
  grep -c '^sluice: ')
echo "PASS: lintian: no error or warning; $n overridden, each with its reason"
