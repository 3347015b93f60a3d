# shellcheck shell=bash
# Postfix's tools for the demo, the tests and the benchmarks, WITHOUT installing Postfix as the
# machine's mail system. Installing the `postfix` package would replace the operator's MTA (it
# conflicts with exim4 and every other mail-transport-agent) and enable postfix.service; sluice
# is a tool for mail operators and must never do that. Instead the Debian package is downloaded
# (apt-get download, as apt's own unprivileged user) and unpacked (dpkg -x) into a folder that
# belongs to this project; its programs are patched to load Postfix's libraries from that folder
# (RUNPATH), and are called there by their full paths. Nothing under /etc, /usr or /var/spool is
# read or written, and no service is started.
#
#   . scripts/lib/postfix-tools.sh
#   pft_fetch            (root) download and unpack once; idempotent, no network when present
#   pft_find             set PFT_* to the unpacked copy's programs; fails with a hint if missing
#   pft_instance_init D  a private Postfix instance in folder D (its own main.cf, master.cf,
#                        queue), run with "$PFT_MASTER" -c D/etc -d (foreground)
#
# After pft_find:
#   PFT_ROOT          the unpacked package (PFT_ROOT/usr/sbin, PFT_ROOT/usr/lib/postfix, ...)
#   PFT_SMTP_SINK     smtp-sink       PFT_SMTP_SOURCE  smtp-source
#   PFT_POSTCONF      postconf        PFT_MASTER       master (the daemons are in PFT_DAEMON_DIR)
#   PFT_DAEMON_DIR    smtpd, cleanup, qmgr, ...   PFT_LIB_DIR  libpostfix-*.so
#   SLUICE_SMTP_SOURCE (exported) smtp-source, for bench/smtp/smtp_measure.py --client smtp-source
#
# SLUICE_TOOLS_DIR (default /var/cache/sluice-tools) is where the copy lives; every clone and
# work tree on the machine shares it. Removing that folder removes everything pft_fetch made.

# shellcheck source-path=SCRIPTDIR source=debian-tools.sh
. "$(dirname "${BASH_SOURCE[0]}")/debian-tools.sh"

pft_log() { echo "postfix-tools: $*" >&2; }

# pft_find: locate the unpacked copy (made by pft_fetch, i.e. scripts/install-deps).
pft_find() {
  local root=$SLUICE_TOOLS_DIR/postfix
  if [[ ! -f $root/.complete ]]; then
    pft_log "no unpacked Postfix in $root: run scripts/install-deps (it unpacks Postfix's" \
      "tools there without installing Postfix as the mail system)"
    return 1
  fi
  PFT_ROOT=$(cd "$root" && pwd -P)
  PFT_SMTP_SINK=$PFT_ROOT/usr/sbin/smtp-sink
  PFT_SMTP_SOURCE=$PFT_ROOT/usr/sbin/smtp-source
  PFT_POSTCONF=$PFT_ROOT/usr/sbin/postconf
  PFT_DAEMON_DIR=$PFT_ROOT/usr/lib/postfix/sbin
  PFT_MASTER=$PFT_DAEMON_DIR/master
  PFT_LIB_DIR=$PFT_ROOT/usr/lib/postfix
  SLUICE_SMTP_SOURCE=$PFT_SMTP_SOURCE
  export PFT_ROOT PFT_SMTP_SINK PFT_SMTP_SOURCE PFT_POSTCONF PFT_DAEMON_DIR PFT_MASTER PFT_LIB_DIR \
    SLUICE_SMTP_SOURCE
}

# pft_patch_runpath DIR: every ELF file of the unpacked package that looks for its libraries in
# /usr/lib/postfix looks in DIR/usr/lib/postfix instead ($ORIGIN-relative, so the copy can move).
pft_patch_runpath() {
  local dir=$1 f rp rel
  while IFS= read -r -d '' f; do
    rp=$(patchelf --print-rpath "$f" 2>/dev/null) || continue
    [[ $rp == *"/usr/lib/postfix"* ]] || continue
    rel=$(realpath --relative-to="$(dirname "$f")" "$dir/usr/lib/postfix")
    patchelf --set-rpath "\$ORIGIN/$rel" "$f" || return 1
  done < <(find "$dir/usr" -type f \( -perm -u+x -o -name '*.so*' \) -print0)
}

# pft_verify DIR: every program and library of the copy finds all its libraries, and those of
# Postfix only inside DIR (never the system's /usr/lib/postfix).
pft_verify() {
  local dir=$1 f out bad=0
  for f in "$dir"/usr/sbin/* "$dir"/usr/lib/postfix/sbin/* "$dir"/usr/lib/postfix/*.so; do
    [[ -f $f ]] || continue
    head -c 4 "$f" | grep -q ELF || continue
    out=$(env -u LD_LIBRARY_PATH ldd "$f" 2>&1) || {
      pft_log "ldd $f failed: $out"
      bad=1
      continue
    }
    if grep -q 'not found' <<<"$out"; then
      pft_log "$f: missing libraries: $(grep 'not found' <<<"$out" | tr -s ' \t\n' ' ')"
      bad=1
    fi
    if grep 'libpostfix-' <<<"$out" | grep -qv "=> $dir/"; then
      pft_log "$f: loads Postfix libraries from outside $dir"
      bad=1
    fi
  done
  return $bad
}

# pft_fetch: download Postfix's Debian package and unpack it into $SLUICE_TOOLS_DIR/postfix
# (a link to postfix-VERSION), its programs patched to load Postfix's libraries from there and
# checked with ldd. Root only. Nothing is installed: the package is never given to dpkg -i.
pft_fetch() {
  dt_fetch postfix pft_patch_runpath pft_verify
}

# pft_netns_prepare NS: readies network namespace NS (made by the caller) for an instance: a
# deeper queue for unix datagram sockets there (net.unix.max_dgram_qlen is per namespace and 10 by
# default; the machine's own value is untouched). The daemons log through postlogd's datagram
# socket, and postlogd's own lines go the same way: a burst of start-up lines that filled the
# queue before postlogd read it left postlogd and smtpd blocked in sendto for good (both seen in
# unix_wait_for_peer under a loaded test run). Call it before the master starts.
pft_netns_prepare() {
  nsenter --net="/run/netns/$1" -- sysctl -qw net.unix.max_dgram_qlen=1024
}

# pft_instance_init DIR LISTEN [PARAM=VALUE...]: a private Postfix instance in DIR: DIR/etc
# (main.cf, master.cf), DIR/queue, DIR/data, its log in DIR/maillog. smtpd listens on LISTEN
# (ADDR:PORT, e.g. 198.18.2.25:25); mail from anywhere is accepted and discarded. Extra main.cf
# settings (e.g. "smtpd_recipient_restrictions = check_policy_service inet:...") are appended. Run it with: "$PFT_MASTER" -c DIR/etc -d  (foreground; TERM stops it).
# Accounts: the queue belongs to PFT_MAIL_OWNER (default nobody), daemons without their own
# user run as PFT_DEFAULT_PRIVS (default daemon); both exist on every Debian system, so no
# account is created. The setgid group (only postdrop/postqueue use it) is PFT_SETGID_GROUP
# (default mail). Root only (master binds port 25-style ports and changes users).
pft_instance_init() {
  local d=$1 listen=$2 q sub owner=${PFT_MAIL_OWNER:-nobody} group=${PFT_SETGID_GROUP:-mail}
  shift 2
  [[ -n ${PFT_ROOT:-} ]] || pft_find || return 1
  mkdir -p "$d/etc" "$d/queue" "$d/data" || return 1
  d=$(cd "$d" && pwd -P)
  q=$d/queue
  # The daemons run as the mail owner and must reach their queue and data folders.
  chmod 755 "$d" || return 1
  cat >"$d/etc/main.cf" <<EOF
# A private instance for sluice's tests (scripts/lib/postfix-tools.sh); not the system's Postfix.
compatibility_level = 3.6
config_directory = $d/etc
queue_directory = $q
data_directory = $d/data
daemon_directory = $PFT_DAEMON_DIR
command_directory = $PFT_ROOT/usr/sbin
shlib_directory = $PFT_LIB_DIR
meta_directory = $d/etc
mail_owner = $owner
default_privs = ${PFT_DEFAULT_PRIVS:-daemon}
setgid_group = $group
maillog_file = $d/maillog
maillog_file_prefixes = $d
myhostname = mta.sluice.test
mydomain = sluice.test
mydestination =
inet_interfaces = all
inet_protocols = all
mynetworks = 0.0.0.0/0 [::]/0
smtpd_recipient_restrictions = permit_mynetworks, reject
relay_domains =
default_transport = discard:sluice test instance
local_transport = discard:sluice test instance
relay_transport = discard:sluice test instance
alias_maps =
alias_database =
biff = no
smtputf8_enable = no
import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C POSTLOG_SERVICE POSTLOG_HOSTNAME
EOF
  local arg
  for arg in "$@"; do echo "$arg" >>"$d/etc/main.cf"; done
  cat >"$d/etc/master.cf" <<EOF
# service type  private unpriv  chroot  wakeup  maxproc command
$listen inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
  # The queue's folders and their owners, as postfix-script's set-permissions would make them.
  for sub in active bounce corrupt defer deferred flush hold incoming private saved trace; do
    mkdir -p "$q/$sub" && chmod 700 "$q/$sub"
  done
  mkdir -p "$q/maildrop" "$q/public" "$q/pid" && chmod 730 "$q/maildrop" && chmod 710 "$q/public"
  chown -R "$owner" "$q" "$d/data" && chgrp "$group" "$q/maildrop" "$q/public" &&
    chown root:root "$q" "$q/pid" || return 1
  touch "$d/maillog"
}
