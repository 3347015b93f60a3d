// Incremental checksum updates (RFC 1624) against checksums computed from scratch by the
// packet builder, never against the core's own code.
#include <gtest/gtest.h>

#include <random>

#include "common/packet_builder.h"
#include "core/fixtures.h"
#include "core/test_util.h"

namespace sluice::testing {
namespace {

uint16_t checksum_field(const Bytes &frame, size_t tcp_off) {
  return static_cast<uint16_t>(frame[tcp_off + 16] << 8 | frame[tcp_off + 17]);
}

TEST(Checksum, FoldAddsCarriesBack) {
  EXPECT_EQ(sl_csum_fold(0x0001ffffu), 0x0001u);
  EXPECT_EQ(sl_csum_fold(0x0000ffffu), 0xffffu);
  EXPECT_EQ(sl_csum_fold(0x1234u), 0x1234u);
  EXPECT_EQ(sl_csum_fold(0xffffffffu), 0xffffu);
  EXPECT_EQ(sl_csum_fold(0x00020003u), 0x0005u);
}

// Random segments, random window values: the field after sl_csum_replace16 equals the one the
// builder computes for the rewritten segment, bit for bit.
TEST(Checksum, Replace16MatchesFromScratchForRandomWindows) {
  std::mt19937 rng(1);
  for (int i = 0; i < 2000; i++) {
    const uint16_t w0 = static_cast<uint16_t>(rng());
    const uint16_t w1 = static_cast<uint16_t>(rng());
    const uint32_t seq = rng();
    Bytes payload(rng() % 7);
    for (auto &b : payload) b = static_cast<uint8_t>(rng());
    auto make = [&](uint16_t w) {
      return PacketBuilder()
          .ipv4(kServer4, kClient4)
          .tcp(25, kClientPort)
          .flags(kAck)
          .seq(seq)
          .window(w)
          .payload(payload)
          .build();
    };
    Bytes frame = make(w0);
    const Bytes expected = make(w1);
    const size_t tcp = 34;
    uint8_t *t = frame.data() + tcp;
    const __be16 old_word = static_cast<__be16>(sl_load16(t + 14));
    const __be16 new_word = static_cast<__be16>(sl_htons(w1));
    sl_store16(t + 14, new_word);
    sl_csum_replace16(reinterpret_cast<__be16 *>(t + 16), old_word, new_word);
    ASSERT_EQ(checksum_field(frame, tcp), checksum_field(expected, tcp)) << i;
    ASSERT_TRUE(tcp_checksum_ok(frame));
  }
}

// RFC 1624's corner: a segment whose from-scratch checksum is 0x0000 (its other words sum to
// 0xffff). Updating into and out of it must give the same bits as recomputing.
TEST(Checksum, Replace16MatchesFromScratchAroundAZeroChecksum) {
  auto make = [](uint16_t w) {
    return PacketBuilder()
        .ipv4(kServer4, kClient4)
        .tcp(25, kClientPort)
        .flags(kAck)
        .seq(77)
        .window(w)
        .build();
  };
  const size_t tcp = 34;
  // With window 0 the checksum is ~fold(S); the window that makes the sum 0xffff is ~fold(S)'s
  // complement distance: 0xffff - fold(S).
  const uint16_t sum_rest = static_cast<uint16_t>(~checksum_field(make(0), tcp));
  const uint16_t zero_window = static_cast<uint16_t>(0xffff - sum_rest);
  ASSERT_EQ(checksum_field(make(zero_window), tcp), 0x0000);
  for (uint16_t other : {0, 1, 1000, 0xfffe, 0xffff}) {
    for (bool into_zero : {true, false}) {
      const uint16_t from = into_zero ? other : zero_window;
      const uint16_t to = into_zero ? zero_window : other;
      Bytes frame = make(from);
      uint8_t *t = frame.data() + tcp;
      const __be16 old_word = static_cast<__be16>(sl_load16(t + 14));
      const __be16 new_word = static_cast<__be16>(sl_htons(to));
      sl_store16(t + 14, new_word);
      sl_csum_replace16(reinterpret_cast<__be16 *>(t + 16), old_word, new_word);
      EXPECT_EQ(frame, make(to)) << from << " -> " << to;
    }
  }
}

TEST(Checksum, Replace32MatchesFromScratchForRandomSequenceNumbers) {
  std::mt19937 rng(2);
  for (int i = 0; i < 2000; i++) {
    const uint32_t s0 = rng();
    const uint32_t s1 = rng();
    auto make = [&](uint32_t s) {
      return PacketBuilder()
          .ipv6(kServer6, kClient6)
          .tcp(25, kClientPort)
          .flags(kAck)
          .seq(s)
          .window(1000)
          .build();
    };
    Bytes frame = make(s0);
    const Bytes expected = make(s1);
    const size_t tcp = 54;
    uint8_t *t = frame.data() + tcp;
    const __be32 old_word = static_cast<__be32>(sl_load32(t + 4));
    const __be32 new_word = static_cast<__be32>(sl_htonl(s1));
    sl_store32(t + 4, new_word);
    sl_csum_replace32(reinterpret_cast<__be16 *>(t + 16), old_word, new_word);
    ASSERT_EQ(checksum_field(frame, tcp), checksum_field(expected, tcp)) << i;
  }
}

// Single bytes at odd and even offsets (option bytes): the byte-wise update matches a rebuild.
TEST(Checksum, ReplaceByteAtOddAndEvenOffsetsMatchesFromScratch) {
  std::mt19937 rng(3);
  for (int i = 0; i < 4000; i++) {
    Bytes opts(8);
    for (auto &b : opts) b = static_cast<uint8_t>(rng());
    const size_t at = rng() % opts.size();  // option byte index: TCP offset 20 + at
    const uint8_t new_byte = static_cast<uint8_t>(rng());
    auto make = [&](const Bytes &o) {
      return PacketBuilder()
          .ipv4(kClient4, kServer4)
          .tcp(kClientPort, 25)
          .flags(kSyn)
          .tcp_options(o)
          .payload(Bytes{1, 2, 3})
          .build();
    };
    Bytes frame = make(opts);
    Bytes changed = opts;
    changed[at] = new_byte;
    const Bytes expected = make(changed);
    const size_t tcp = 34;
    uint8_t *t = frame.data() + tcp;
    const uint32_t off = static_cast<uint32_t>(20 + at);
    sl_csum_replace_byte(reinterpret_cast<__be16 *>(t + 16), off, t[off], new_byte);
    t[off] = new_byte;
    ASSERT_EQ(frame, expected) << "byte " << off << " iteration " << i;
  }
}

// The rewrite functions on random SYN-ACKs: MSS at every offset parity, random values.
TEST(Checksum, ClampMssAndNopOptionMatchFromScratchAtEveryOffset) {
  std::mt19937 rng(4);
  for (int lead = 0; lead < 12; lead++) {
    for (int i = 0; i < 100; i++) {
      const uint16_t mss = static_cast<uint16_t>(rng());
      const uint16_t clamp = static_cast<uint16_t>(rng() % 2000);
      auto make = [&](uint16_t m, bool ws) {
        return PacketBuilder()
            .ipv4(kServer4, kClient4)
            .tcp(25, kClientPort)
            .flags(kSyn | kAck)
            .window(static_cast<uint16_t>(mss ^ 0x5555))
            .tcp_options(tcpopt::cat({tcpopt::nop(static_cast<size_t>(lead)), tcpopt::mss(m),
                                      ws ? tcpopt::wscale(7) : tcpopt::nop(3)}))
            .build();
      };
      ExactBuffer buf(make(mss, true));
      sl_pkt pkt;
      ASSERT_EQ(sl_parse(buf.begin(), buf.end(), &pkt), SL_PARSE_OK);
      ASSERT_EQ(sl_parse_tcp_options(&pkt, buf.end()), 0);
      ASSERT_EQ(pkt.opt_mss, 20 + lead);
      ASSERT_EQ(pkt.opt_wscale, 24 + lead);
      EXPECT_EQ(sl_tcp_clamp_mss(&pkt, buf.end(), clamp), mss > clamp ? 1 : 0);
      EXPECT_EQ(sl_tcp_nop_option(&pkt, buf.end(), pkt.opt_wscale), 1);
      EXPECT_EQ(buf.bytes(), make(mss > clamp ? clamp : mss, false)) << "lead " << lead;
    }
  }
}

TEST(Checksum, RstReplyChecksumsAreValid) {
  for (bool v6 : {false, true}) {
    PacketBuilder b;
    if (v6)
      b.ipv6(kClient6, kServer6);
    else
      b.ipv4(kClient4, kServer4).ipv4_options({1, 1, 1, 1, 0x94, 4, 0, 0});
    ExactBuffer buf(
        b.tcp(kClientPort, 25).flags(kSyn).seq(7).tcp_options(tcpopt::mss(1460)).build());
    sl_pkt pkt;
    ASSERT_EQ(sl_parse(buf.begin(), buf.end(), &pkt), SL_PARSE_OK);
    uint32_t len = 0;
    ASSERT_EQ(sl_build_rst(buf.begin(), buf.end(), &pkt, &len), 1);
    const Bytes reply = buf.bytes(len);
    EXPECT_TRUE(tcp_checksum_ok(reply));
    if (!v6) {
      EXPECT_TRUE(ipv4_checksum_ok(reply));
    }
    EXPECT_EQ(len, v6 ? 14u + 40 + 20 : 14u + 20 + 20);
  }
}

}  // namespace
}  // namespace sluice::testing
