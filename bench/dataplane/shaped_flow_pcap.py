#!/usr/bin/env python3
"""Writes the two captures of one shaped SMTP connection for testpmd_shaped_compare.sh.

  shaped_flow_pcap.py OUTSIDE.pcap INSIDE.pcap [--client A] [--server A] [--segments N]
                      [--flows F] [--server-port P] [--no-timestamps]

OUTSIDE.pcap holds what arrives from the senders' side: the client's SYN to port 25 (with
Linux's options: MSS, SACK-permitted, timestamps, NOP, window scale), then N-1 client->server
segments (SMTP commands, 64-byte payload; NOP, NOP, timestamps, as Linux sends every segment).
INSIDE.pcap holds what arrives from the MTA's side: the server's SYN-ACK (MSS 1460, window
65160), then N-1 server->client segments (SMTP replies, 32-byte payload, window 65160).

Replayed with net_pcap's infinite_rx, the SYN comes round once every N packets (it re-opens the
same flow); every other packet belongs to the established flow. With a policy whose level clamps
the window below 65160 and the MSS below 1460, every server->client packet is rewritten; the
client->server packets are looked up and passed unchanged (the core never rewrites them).
With --flows F (default 1) the captures hold F such connections from the same client (source
ports 40000 and up): first every SYN (SYN-ACK), then their segments round-robin, so consecutive
packets belong to different flows and the flow table's working set is F entries. Each flow then
has N-1 segments per direction.
--server-port P (default 25) moves the connections to another port: with P = 443 and a policy
watching only 25 they are non-SMTP TCP traffic, parsed to the port and passed.
--no-timestamps leaves the timestamps out (SYNs with MSS and window scale only, segments
without options), as the captures were before 2026-11-24.
TCP and IP checksums are valid. Addresses come from 198.18.0.0/15.
"""
import argparse
import ipaddress
import struct


def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame(src, dst, sport, dport, seq, ack, flags, window, options=b"", payload=b""):
    tcp_len = 20 + len(options)
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, (tcp_len // 4) << 4, flags, window, 0,
                      0) + options + payload
    pseudo = src.packed + dst.packed + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0x4000, 64, 6, 0, src.packed,
                     dst.packed)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    eth = bytes.fromhex("020000000002" "020000000001" "0800")
    f = eth + ip + tcp
    return f + b"\0" * max(0, 60 - len(f))  # Ethernet minimum


def write_pcap(path, frames):
    with open(path, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, f in enumerate(frames):
            out.write(struct.pack("<IIII", 0, i, len(f), len(f)) + f)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outside")
    ap.add_argument("inside")
    ap.add_argument("--client", default="198.18.1.20")  # throttled in scripts/demo-data
    ap.add_argument("--server", default="198.19.0.25")
    ap.add_argument("--segments", type=int, default=512)
    ap.add_argument("--flows", type=int, default=1)
    ap.add_argument("--server-port", type=int, default=25)
    ap.add_argument("--no-timestamps", action="store_true")
    a = ap.parse_args()
    if not 1 <= a.flows <= 25000:
        ap.error("--flows must be 1..25000 (source ports 40000 and up)")
    c, s = ipaddress.IPv4Address(a.client), ipaddress.IPv4Address(a.server)
    win = 65160
    psh_ack, syn = 0x18, 0x02
    mss = struct.pack("!BBH", 2, 4, 1460)
    nop_ws = struct.pack("!BBBB", 1, 3, 3, 7)  # NOP, window scale 7

    def ts(val, ecr):  # NOP, NOP, timestamps
        return b"" if a.no_timestamps else struct.pack("!BBBBII", 1, 1, 8, 10, val, ecr)

    sack_ts = b"" if a.no_timestamps else struct.pack("!BB", 4, 2) + ts(1, 0)[2:]
    syn_opts = mss + sack_ts + nop_ws
    ports = [40000 + i for i in range(a.flows)]
    cseq = {p: 1000 for p in ports}
    sseq = {p: 5000 for p in ports}
    sp = a.server_port
    outside = [frame(c, s, p, sp, cseq[p], 0, syn, win, syn_opts) for p in ports]
    inside = [frame(s, c, sp, p, sseq[p], cseq[p] + 1, syn | 0x10, win, syn_opts) for p in ports]
    for p in ports:
        cseq[p], sseq[p] = cseq[p] + 1, sseq[p] + 1
    for _ in range(a.segments - 1):
        for p in ports:
            outside.append(frame(c, s, p, sp, cseq[p], sseq[p], psh_ack, win, ts(cseq[p], 2),
                                 payload=b"D" * 64))
            inside.append(frame(s, c, sp, p, sseq[p], cseq[p] + 64, psh_ack, win, ts(sseq[p], 1),
                                payload=b"2" * 32))
            cseq[p], sseq[p] = cseq[p] + 64, sseq[p] + 32
    write_pcap(a.outside, outside)
    write_pcap(a.inside, inside)


if __name__ == "__main__":
    main()
