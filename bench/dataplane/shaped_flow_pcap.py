#!/usr/bin/env python3
"""Writes the two captures of one shaped SMTP connection for testpmd_shaped_compare.sh.

  shaped_flow_pcap.py OUTSIDE.pcap INSIDE.pcap [--client A] [--server A] [--segments N]

OUTSIDE.pcap holds what arrives from the senders' side: the client's SYN to port 25 (with MSS
and window-scale options), then N-1 client->server segments (SMTP commands, 64-byte payload).
INSIDE.pcap holds what arrives from the MTA's side: the server's SYN-ACK (MSS 1460, window
65160), then N-1 server->client segments (SMTP replies, 32-byte payload, window 65160).

Replayed with net_pcap's infinite_rx, the SYN comes round once every N packets (it re-opens the
same flow); every other packet belongs to the established flow. With a policy whose level clamps
the window below 65160 and the MSS below 1460, every server->client packet is rewritten; the
client->server packets are looked up and passed unchanged (the core never rewrites them).
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
    a = ap.parse_args()
    c, s = ipaddress.IPv4Address(a.client), ipaddress.IPv4Address(a.server)
    cport, win = 40000, 65160
    psh_ack, syn = 0x18, 0x02
    mss_ws = struct.pack("!BBH", 2, 4, 1460) + struct.pack("!BBBB", 1, 3, 3, 7)  # MSS, NOP, WS 7
    cseq, sseq = 1000, 5000
    outside = [frame(c, s, cport, 25, cseq, 0, syn, win, mss_ws)]
    inside = [frame(s, c, 25, cport, sseq, cseq + 1, syn | 0x10, win, mss_ws)]
    cseq, sseq = cseq + 1, sseq + 1
    for _ in range(a.segments - 1):
        outside.append(frame(c, s, cport, 25, cseq, sseq, psh_ack, win, payload=b"D" * 64))
        inside.append(frame(s, c, 25, cport, sseq, cseq + 64, psh_ack, win, payload=b"2" * 32))
        cseq, sseq = cseq + 64, sseq + 32
    write_pcap(a.outside, outside)
    write_pcap(a.inside, inside)


if __name__ == "__main__":
    main()
