// The frames of SMTP connections that do and do not talk before the server's greeting
// (core/sl_greet.h), for the tests of every runner: the server's SYN-ACK (from inside), then the
// client's first segment with payload (from outside), acknowledging the SYN-ACK alone
// (pregreet) or the greeting too.
#pragma once

#include <cstdint>
#include <string>

#include "common/packet_builder.h"
#include "core/sl_shared.h"
#include "core/sl_wire.h"

namespace sluice::testing {

struct PregreetConn {
  std::string client = "198.18.0.7";
  std::string server = "198.19.0.25";
  uint16_t client_port = 40000;
  uint32_t client_isn = 1000;
  uint32_t server_isn = 0x7fff0000u;
  bool v6 = false;  // client and server then 2001:2::7 and 2001:2::25 unless set

  PacketBuilder base(bool from_server) const {
    PacketBuilder b;
    const std::string c = v6 && client.find(':') == std::string::npos ? "2001:2::7" : client;
    const std::string s = v6 && server.find(':') == std::string::npos ? "2001:2::25" : server;
    if (v6)
      from_server ? b.ipv6(s, c) : b.ipv6(c, s);
    else
      from_server ? b.ipv4(s, c) : b.ipv4(c, s);
    from_server ? b.tcp(25, client_port) : b.tcp(client_port, 25);
    return b;
  }
  Bytes syn_ack() const {
    return base(true)
        .flags(SL_TCP_SYN | SL_TCP_ACK)
        .seq(server_isn)
        .ack(client_isn + 1)
        .window(65535)
        .build();
  }
  // The server's greeting ("220 ...", `greeting` bytes after the SYN-ACK).
  Bytes greeting(uint32_t len = 24) const {
    return base(true)
        .flags(SL_TCP_ACK | SL_TCP_PSH)
        .seq(server_isn + 1)
        .ack(client_isn + 1)
        .payload(std::string(len - 2, 'x') + "\r\n")
        .build();
  }
  // The client's first data: "EHLO ..." acknowledging `acked` bytes of the server's data.
  Bytes client_data(uint32_t acked) const {
    return base(false)
        .flags(SL_TCP_ACK | SL_TCP_PSH)
        .seq(client_isn + 1)
        .ack(server_isn + 1 + acked)
        .payload("EHLO pregreet.example\r\n")
        .build();
  }
  // The handshake's last ACK, no payload.
  Bytes client_ack() const {
    return base(false).flags(SL_TCP_ACK).seq(client_isn + 1).ack(server_isn + 1).build();
  }
};

}  // namespace sluice::testing
