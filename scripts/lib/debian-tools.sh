# shellcheck shell=bash
# Programs from Debian packages that ship a system service (postfix, nats-server, rbldnsd), for
# the demo, the tests and the benchmarks, WITHOUT installing the package: installing it would
# create accounts, enable a service or (postfix) replace the machine's mail system. The package
# is downloaded (apt-get download, as apt's own unprivileged user _apt) and unpacked (dpkg-deb -x)
# into $SLUICE_TOOLS_DIR/PKG-VERSION, with $SLUICE_TOOLS_DIR/PKG a link to it; callers run the
# programs there by their full paths. Nothing is given to dpkg -i, no maintainer script runs, no
# service is started, nothing under /etc, /usr or /var outside SLUICE_TOOLS_DIR is written.
#
#   . scripts/lib/debian-tools.sh
#   dt_present PKG                  true when the unpacked copy of PKG is complete
#   dt_fetch PKG [PREPARE [VERIFY]] (root) download and unpack PKG once; idempotent, no network
#                                   when present. PREPARE DIR runs on the unpacked tree before it
#                                   is published (e.g. patch RUNPATHs), VERIFY DIR after (default
#                                   dt_verify_libs); either failing leaves no copy published.
#   dt_verify_libs DIR              every ELF program under DIR/usr/{bin,sbin} finds its libraries
#   dt_find PKG                     print the unpacked copy's root; fails with a hint if missing
#   dt_fetch_service_tools          (root) nats-server and rbldnsd, see below
#
# The service programs the tests use, at fixed paths (their packages' own layout):
#   $SLUICE_TOOLS_DIR/nats-server/usr/bin/nats-server  (the feed tests; Debian ships it in
#                                                       usr/sbin, usr/bin/nats-server links there)
#   $SLUICE_TOOLS_DIR/rbldnsd/usr/sbin/rbldnsd          (the rbldnsd parser-equivalence tests)
#
# SLUICE_TOOLS_DIR (default /var/cache/sluice-tools) is shared by every clone and work tree on
# the machine. Removing that folder removes everything dt_fetch made.

SLUICE_TOOLS_DIR=${SLUICE_TOOLS_DIR:-/var/cache/sluice-tools}

dt_log() { echo "debian-tools: $*" >&2; }

dt_present() { [[ -f $SLUICE_TOOLS_DIR/$1/.complete ]]; }

# dt_verify_libs DIR: each ELF program in DIR/usr/bin and DIR/usr/sbin loads (ldd finds every
# library it needs). The packages' library dependencies are in scripts/install-deps.
dt_verify_libs() {
  local dir=$1 f out bad=0
  for f in "$dir"/usr/bin/* "$dir"/usr/sbin/*; do
    [[ -f $f && ! -L $f ]] || continue
    head -c 4 "$f" | grep -q ELF || continue
    # A static program (nats-server is Go) has nothing to resolve; ldd then exits non-zero.
    out=$(env -u LD_LIBRARY_PATH ldd "$f" 2>&1) || {
      grep -q 'not a dynamic executable' <<<"$out" && continue
      dt_log "ldd $f failed: $out"
      bad=1
      continue
    }
    if grep -q 'not found' <<<"$out"; then
      dt_log "$f: missing libraries: $(grep 'not found' <<<"$out" | tr -s ' \t\n' ' ')"
      bad=1
    fi
  done
  return $bad
}

# dt_find PKG: the unpacked copy of PKG (made by scripts/install-deps), printed.
dt_find() {
  if ! dt_present "$1"; then
    dt_log "no unpacked $1 in $SLUICE_TOOLS_DIR/$1: run scripts/install-deps (it unpacks the" \
      "package there without installing it)"
    return 1
  fi
  (cd "$SLUICE_TOOLS_DIR/$1" && pwd -P)
}

# dt_fetch PKG [PREPARE [VERIFY]]: see the header. Root only (apt's download sandbox runs as
# _apt and the copy is shared by the machine's users).
dt_fetch() {
  local pkg=$1 prepare=${2:-} verify=${3:-dt_verify_libs}
  if dt_present "$pkg"; then
    dt_log "$pkg present in $SLUICE_TOOLS_DIR/$pkg"
    return 0
  fi
  if [[ $(id -u) -ne 0 ]]; then
    dt_log "unpacking $pkg needs root (run scripts/install-deps)"
    return 1
  fi
  local dl ver dir deb
  mkdir -p "$SLUICE_TOOLS_DIR/debs" || return 1
  # apt downloads as its unprivileged user _apt: give it a folder of its own to write into.
  dl=$(mktemp -d "$SLUICE_TOOLS_DIR/download.XXXXXX") || return 1
  chown _apt: "$dl" 2>/dev/null || true
  dt_log "downloading the $pkg package (apt-get download; it is unpacked, not installed)"
  if ! (cd "$dl" && apt-get download -q "$pkg") && ! { apt-get update -qq &&
    (cd "$dl" && apt-get download -q "$pkg"); }; then
    dt_log "apt-get download $pkg failed"
    rm -rf "$dl"
    return 1
  fi
  deb=$(find "$dl" -name "${pkg}_*.deb" | head -n 1)
  ver=$(dpkg-deb -f "$deb" Version 2>/dev/null) || ver=""
  if [[ -z $ver ]]; then
    dt_log "not a Debian package: $deb"
    rm -rf "$dl"
    return 1
  fi
  mv "$deb" "$SLUICE_TOOLS_DIR/debs/" && rm -rf "$dl"
  deb=$SLUICE_TOOLS_DIR/debs/${deb##*/}
  dir=$SLUICE_TOOLS_DIR/$pkg-${ver//[^A-Za-z0-9.+~-]/_}
  rm -rf "$dir" "$dir.tmp"
  dt_log "unpacking $pkg $ver into $dir"
  dpkg-deb -x "$deb" "$dir.tmp" || return 1
  if [[ -n $prepare ]] && ! "$prepare" "$dir.tmp"; then
    dt_log "$prepare failed on $dir.tmp"
    return 1
  fi
  mv "$dir.tmp" "$dir" || return 1
  if ! "$verify" "$dir"; then
    dt_log "the unpacked $pkg cannot run (see above); its library packages are in" \
      "scripts/install-deps"
    return 1
  fi
  echo "$ver" >"$dir/.complete"
  ln -sfn "${dir##*/}" "$SLUICE_TOOLS_DIR/$pkg"
  dt_log "$pkg $ver ready in $SLUICE_TOOLS_DIR/$pkg"
}

# Debian's nats-server is /usr/sbin/nats-server; the tests look for usr/bin/nats-server.
dt_nats_prepare() {
  [[ -e $1/usr/bin/nats-server ]] && return 0
  [[ -x $1/usr/sbin/nats-server ]] || {
    dt_log "nats-server package has no usr/sbin/nats-server"
    return 1
  }
  mkdir -p "$1/usr/bin" && ln -s ../sbin/nats-server "$1/usr/bin/nats-server"
}

dt_fetch_service_tools() {
  dt_fetch nats-server dt_nats_prepare && dt_fetch rbldnsd
}
