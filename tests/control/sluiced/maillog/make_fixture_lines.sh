#!/usr/bin/env bash
# Makes real Postfix log lines for the maillog parser's fixture (postfix_lines.txt):
#   make_fixture_lines.sh OUT_FILE
# A private Postfix instance (the unpacked copy, scripts/lib/postfix-tools.sh, never the
# machine's mail system) in a network namespace of its own, with postscreen (DNSBL, pregreet and
# the deep protocol tests) on 198.18.3.25:25, a plain smtpd on 198.18.3.26:25 and [2001:2::26]:25
# (virtual recipients, reject_rbl_client, a low error limit), and rbldnsd serving the DNSBL zone
# bl.sluice.test on 198.18.3.53 (the namespace's resolver, /etc/netns/NS/resolv.conf). Python
# clients on listed addresses make each event; the instance's maillog_file is copied to OUT_FILE.
# Not part of the test suite (the lines it made are kept in the fixture); root only. Everything
# is named with the pid and removed on exit; every wait is bounded.
set -uo pipefail
out=$1
root=$(cd "$(dirname "$0")/../../../.." && pwd)
[[ $(id -u) -eq 0 ]] || { echo "needs root" >&2; exit 1; }
. "$root/scripts/lib/postfix-tools.sh"
pft_find || exit 1
rbldnsd=${SLUICE_TOOLS_DIR:-/var/cache/sluice-tools}/rbldnsd/usr/sbin/rbldnsd
work=$(mktemp -d /tmp/sluice_mlfix.XXXXXX)
chmod 755 "$work"
ns=slmlfix$$
master_pid='' dns_pid=''
cleanup() {
  [[ -n $master_pid ]] && kill -TERM "$master_pid" 2>/dev/null && wait "$master_pid" 2>/dev/null
  [[ -n $dns_pid ]] && kill -TERM "$dns_pid" 2>/dev/null
  ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
  ip netns del "$ns" 2>/dev/null
  rm -rf "/etc/netns/$ns" "$work"
}
trap cleanup EXIT
in_ns() { nsenter --net="/run/netns/$ns" -- "$@"; }

ip netns add "$ns" || exit 1
ip -n "$ns" link set lo up
pft_netns_prepare "$ns"
for a in 198.18.3.25 198.18.3.26 198.18.3.53 198.18.0.{60..79}; do
  ip -n "$ns" addr add "$a/32" dev lo
done
for a in 2001:2::25 2001:2::26 2001:2::5 2001:2::66 2001:2::64; do ip -n "$ns" addr add "$a/128" dev lo nodad; done
mkdir -p "/etc/netns/$ns"
echo "nameserver 198.18.3.53" >"/etc/netns/$ns/resolv.conf"

mkdir -p "$work/dns"
printf '198.18.0.66\n198.18.0.67\n198.18.0.77\n' >"$work/dns/bl4"
printf '2001:2::66\n' >"$work/dns/bl6"
chmod -R a+rX "$work/dns"
in_ns "$rbldnsd" -n -u nobody -b 198.18.3.53/53 -w "$work/dns" \
  bl.sluice.test:ip4set:bl4 bl.sluice.test:ip6trie:bl6 >"$work/dns.out" 2>&1 &
dns_pid=$!

pft_instance_init "$work/pf" "198.18.3.26:25" \
  "virtual_mailbox_domains = sluice.test" \
  "virtual_mailbox_maps = inline:{ known@sluice.test=x }" \
  "virtual_transport = discard:sluice test instance" \
  "smtpd_recipient_restrictions = reject_unlisted_recipient, reject_rbl_client bl.sluice.test, permit_auth_destination, reject" \
  "smtpd_hard_error_limit = 3" "smtpd_soft_error_limit = 2" "smtpd_error_sleep_time = 0" \
  "postscreen_access_list = " "postscreen_dnsbl_sites = bl.sluice.test*2" \
  "postscreen_dnsbl_threshold = 2" "postscreen_dnsbl_action = enforce" \
  "postscreen_greet_action = enforce" "postscreen_greet_wait = 2s" \
  "postscreen_pipelining_enable = yes" "postscreen_non_smtp_command_enable = yes" \
  "postscreen_bare_newline_enable = yes" "postscreen_cache_map = " || exit 1
cat >>"$work/pf/etc/master.cf" <<EOT
198.18.3.25:25 inet n - n - 1 postscreen
[2001:2::26]:25 inet n - n - - smtpd -o syslog_name=postfix-out
[2001:2::25]:25 inet n - n - 1 postscreen
smtpd     pass  -       -       n       -       -       smtpd
dnsblog   unix  -       -       n       -       0       dnsblog
tlsproxy  unix  -       -       n       -       0       tlsproxy
EOT
setsid ip netns exec "$ns" "$PFT_MASTER" -c "$work/pf/etc" -d >"$work/master.out" 2>&1 </dev/null &
master_pid=$!
for ((i = 0; i < 100; i++)); do
  in_ns ss -Hltn "sport = :25" | grep -q 198.18.3.25 && in_ns ss -Hltn "sport = :25" | grep -q 198.18.3.26 && break
  sleep 0.1
done

run() { # SRC DST SCRIPT: a raw SMTP conversation; SCRIPT is python
  local src=$1 dst=$2 body=$3
  in_ns timeout 30 python3 -c "
import socket, time, sys
fam = socket.AF_INET6 if ':' in '$dst' else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.settimeout(15)
s.bind(('$src', 0))
s.connect(('$dst', 25))
def reply():
    data = b''
    while True:
        try:
            b = s.recv(4096)
        except socket.timeout:
            return data
        if not b:
            return data
        data += b
        lines = data.split(b'\r\n')
        if len(lines) >= 2 and len(lines[-2]) >= 4 and lines[-2][3:4] == b' ':
            return data
def send(b):
    s.sendall(b)
$body
s.close()
" || echo "client $src -> $dst: exit $?" >&2
}

# smtpd: unknown recipient, RBL reject, improper pipelining, too many errors (v4 and v6)
run 198.18.0.60 198.18.3.26 "reply(); send(b'EHLO client60.example\r\n'); reply(); send(b'MAIL FROM:<a@client.example>\r\n'); reply(); send(b'RCPT TO:<nobody@sluice.test>\r\n'); reply(); send(b'QUIT\r\n'); reply()"
run 2001:2::5 2001:2::26 "reply(); send(b'EHLO client6.example\r\n'); reply(); send(b'MAIL FROM:<a@client.example>\r\n'); reply(); send(b'RCPT TO:<nobody6@sluice.test>\r\n'); reply(); send(b'QUIT\r\n'); reply()"
run 198.18.0.67 198.18.3.26 "reply(); send(b'EHLO listed.example\r\n'); reply(); send(b'MAIL FROM:<a@listed.example>\r\n'); reply(); send(b'RCPT TO:<known@sluice.test>\r\n'); reply(); send(b'QUIT\r\n'); reply()"
run 2001:2::66 2001:2::26 "reply(); send(b'EHLO listed6.example\r\n'); reply(); send(b'MAIL FROM:<a@listed.example>\r\n'); reply(); send(b'RCPT TO:<known@sluice.test>\r\n'); reply(); send(b'QUIT\r\n'); reply()"
run 198.18.0.61 198.18.3.26 "reply(); send(b'HELO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<known@sluice.test>\r\n'); reply(); time.sleep(0.5); send(b'QUIT\r\n'); reply()"
run 198.18.0.62 198.18.3.26 "reply(); send(b'EHLO client62.example\r\n'); reply();
for i in range(3):
    send(b'BOGUS\r\n'); reply()"
# a client whose HELO carries a bracketed address (helo=<...> in the reject line)
run 198.18.0.63 198.18.3.26 "reply(); send(b'HELO evil[198.18.0.9]\r\n'); reply(); send(b'MAIL FROM:<a@x.example>\r\n'); reply(); send(b'RCPT TO:<nobody@sluice.test>\r\n'); reply(); send(b'QUIT\r\n'); reply()"
# a queue id in the reject line (a recipient accepted first), then too many errors after RCPT
run 198.18.0.65 198.18.3.26 "reply(); send(b'EHLO client65.example\r\n'); reply(); send(b'MAIL FROM:<a@client.example>\r\n'); reply(); send(b'RCPT TO:<known@sluice.test>\r\n'); reply(); send(b'RCPT TO:<nobody65@sluice.test>\r\n'); reply(); send(b'QUIT\r\n'); reply()"
run 198.18.0.72 198.18.3.26 "reply(); send(b'EHLO client72.example\r\n'); reply(); send(b'MAIL FROM:<a@client.example>\r\n'); reply()
for i in range(4):
    send(b'RCPT TO:<nobody%d@sluice.test>\r\n' % i); reply()"
run 2001:2::64 2001:2::25 "send(b'EHLO pregreet6.example\r\n'); reply()"
# postscreen: pregreet, DNSBL, pipelining, non-SMTP command, bare newline
run 198.18.0.64 198.18.3.25 "send(b'EHLO pregreet.example\r\n'); reply()"
run 198.18.0.66 198.18.3.25 "reply()"
run 198.18.0.68 198.18.3.25 "reply(); send(b'EHLO pipe.example\r\nMAIL FROM:<a@pipe.example>\r\n'); reply(); reply()"
run 198.18.0.69 198.18.3.25 "reply(); send(b'GET / HTTP/1.0\r\n'); reply()"
run 198.18.0.70 198.18.3.25 "reply(); send(b'EHLO bare.example\n'); reply(); send(b'QUIT\r\n'); reply()"
# a client that goes away at once (lines without a usable address)
run 198.18.0.71 198.18.3.26 "pass"
sleep 2
cp "$work/pf/maillog" "$out"
echo "dns:"; cat "$work/dns.out"; echo "master:"; tail -5 "$work/master.out"
wc -l "$out"
