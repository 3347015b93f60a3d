#include "sluice/xdp/pcap_file.h"

#include <cstring>
#include <fstream>

#include "sluice/xdp/error.h"

namespace sluice::xdp {
namespace {

constexpr uint32_t kMagicUsec = 0xa1b2c3d4;
constexpr uint32_t kMagicNsec = 0xa1b23c4d;
constexpr uint32_t kLinkEthernet = 1;
constexpr uint32_t kMaxFrame = 262144;

uint32_t swap32(uint32_t v, bool swap) {
  return swap ? __builtin_bswap32(v) : v;
}

}  // namespace

std::vector<PcapFrame> read_pcap(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open");
  uint32_t hdr[6];
  if (!in.read(reinterpret_cast<char *>(hdr), sizeof(hdr))) throw Error(path + ": no pcap header");
  bool swap = false;
  if (hdr[0] == __builtin_bswap32(kMagicUsec) || hdr[0] == __builtin_bswap32(kMagicNsec))
    swap = true;
  else if (hdr[0] != kMagicUsec && hdr[0] != kMagicNsec)
    throw Error(path + ": not a classic pcap file (pcapng is not supported)");
  if (swap32(hdr[5], swap) != kLinkEthernet) throw Error(path + ": link type is not Ethernet");
  std::vector<PcapFrame> frames;
  for (;;) {
    uint32_t rec[4];
    if (!in.read(reinterpret_cast<char *>(rec), sizeof(rec))) break;
    const uint32_t caplen = swap32(rec[2], swap);
    if (caplen > kMaxFrame)
      throw Error(path + ": frame " + std::to_string(frames.size() + 1) + " is too large");
    PcapFrame f;
    f.ts_sec = swap32(rec[0], swap);
    f.ts_frac = swap32(rec[1], swap);
    f.data.resize(caplen);
    if (!in.read(reinterpret_cast<char *>(f.data.data()), caplen))
      throw Error(path + ": frame " + std::to_string(frames.size() + 1) + " is truncated");
    frames.push_back(std::move(f));
  }
  return frames;
}

void write_pcap(const std::string &path, const std::vector<PcapFrame> &frames) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(path + ": cannot create");
    const uint32_t hdr[6] = {kMagicUsec,   0x00040002u /* version 2.4 */, 0, 0, kMaxFrame,
                             kLinkEthernet};
    out.write(reinterpret_cast<const char *>(hdr), sizeof(hdr));
    for (const auto &f : frames) {
      const uint32_t len = static_cast<uint32_t>(f.data.size());
      const uint32_t rec[4] = {f.ts_sec, f.ts_frac, len, len};
      out.write(reinterpret_cast<const char *>(rec), sizeof(rec));
      out.write(reinterpret_cast<const char *>(f.data.data()), len);
    }
    if (!out) throw Error(path + ": write failed");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw Error(path + ": cannot rename " + tmp);
}

}  // namespace sluice::xdp
