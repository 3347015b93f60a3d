#include "pcap_io.h"

#include <fcntl.h>
#include <pcap/pcap.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace sluice::pcap {
namespace {

constexpr int kSnapLen = 262144;

std::string errno_text(const std::string &path, const char *what) {
  return path + ": " + what + ": " + std::strerror(errno);
}

}  // namespace

struct Reader::Impl {
  std::string path;
  pcap_t *p = nullptr;
  uint64_t frames = 0;
};

Reader::Reader(const std::string &path) : impl_(std::make_unique<Impl>()) {
  impl_->path = path;
  char err[PCAP_ERRBUF_SIZE] = {};
  impl_->p = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, err);
  if (impl_->p == nullptr) throw PcapError(path + ": " + err);
  if (pcap_datalink(impl_->p) != DLT_EN10MB) {
    const std::string name = pcap_datalink_val_to_name(pcap_datalink(impl_->p))
                                 ? pcap_datalink_val_to_name(pcap_datalink(impl_->p))
                                 : std::to_string(pcap_datalink(impl_->p));
    pcap_close(impl_->p);
    throw PcapError(path + ": link type " + name + " is not Ethernet (EN10MB)");
  }
}

Reader::~Reader() {
  if (impl_ && impl_->p) pcap_close(impl_->p);
}

bool Reader::next(Frame &out) {
  pcap_pkthdr *hdr = nullptr;
  const u_char *bytes = nullptr;
  const int r = pcap_next_ex(impl_->p, &hdr, &bytes);
  if (r == PCAP_ERROR_BREAK) return false;  // end of file
  if (r != 1)
    throw PcapError(impl_->path + ": frame " + std::to_string(impl_->frames + 1) + ": " +
                    pcap_geterr(impl_->p));
  ++impl_->frames;
  // Nanosecond precision was asked for: tv_usec holds nanoseconds, whatever the file held.
  out.ts_ns = uint64_t(hdr->ts.tv_sec) * 1'000'000'000u + uint64_t(hdr->ts.tv_usec);
  out.data.assign(bytes, bytes + hdr->caplen);
  return true;
}

struct Writer::Impl {
  std::string path, tmp;
  pcap_t *dead = nullptr;
  pcap_dumper_t *dump = nullptr;
  bool committed = false;
};

Writer::Writer(const std::string &path) : impl_(std::make_unique<Impl>()) {
  Impl &w = *impl_;
  w.path = path;
  // The temporary lives next to the target (rename() stays within one file system) and is
  // created with O_EXCL by mkstemp: nothing planted at a predictable name is ever opened.
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  if (base.empty()) throw PcapError(path + ": not a file name");
  std::string tmpl = (slash == std::string::npos ? std::string() : dir) + "." + base + ".XXXXXX";
  const int fd = mkstemp(tmpl.data());
  if (fd < 0) throw PcapError(errno_text(path, "cannot create a temporary file next to it"));
  w.tmp = tmpl;
  fchmod(fd, 0644);
  FILE *f = fdopen(fd, "wb");
  if (f == nullptr) {
    const std::string e = errno_text(path, "fdopen");
    close(fd);
    unlink(w.tmp.c_str());
    throw PcapError(e);
  }
  w.dead = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, kSnapLen, PCAP_TSTAMP_PRECISION_NANO);
  w.dump = w.dead ? pcap_dump_fopen(w.dead, f) : nullptr;
  if (w.dump == nullptr) {
    const std::string e = path + ": " + (w.dead ? pcap_geterr(w.dead) : "pcap_open_dead failed");
    fclose(f);
    if (w.dead) pcap_close(w.dead);
    unlink(w.tmp.c_str());
    throw PcapError(e);
  }
}

Writer::~Writer() {
  Impl &w = *impl_;
  if (w.committed) return;
  pcap_dump_close(w.dump);
  pcap_close(w.dead);
  unlink(w.tmp.c_str());
}

void Writer::write(uint64_t ts_ns, const uint8_t *data, size_t len) {
  pcap_pkthdr h{};
  h.ts.tv_sec = static_cast<time_t>(ts_ns / 1'000'000'000u);
  h.ts.tv_usec = static_cast<suseconds_t>(ts_ns % 1'000'000'000u);  // nanoseconds (NANO file)
  h.caplen = h.len = static_cast<bpf_u_int32>(len);
  pcap_dump(reinterpret_cast<u_char *>(impl_->dump), &h, data);
  ++written_;
}

void Writer::commit() {
  Impl &w = *impl_;
  if (w.committed) return;
  FILE *f = pcap_dump_file(w.dump);
  const bool ok = pcap_dump_flush(w.dump) == 0 && !ferror(f) && fsync(fileno(f)) == 0;
  const std::string e = ok ? std::string() : errno_text(w.path, "write failed");
  pcap_dump_close(w.dump);
  pcap_close(w.dead);
  w.committed = true;  // the dumper is closed either way
  if (!ok) {
    unlink(w.tmp.c_str());
    throw PcapError(e);
  }
  // rename() replaces whatever is at the target, a symlink included, without following it.
  if (std::rename(w.tmp.c_str(), w.path.c_str()) != 0) {
    const std::string re = errno_text(w.path, "cannot rename the temporary file over it");
    unlink(w.tmp.c_str());
    throw PcapError(re);
  }
}

std::vector<Frame> read_file(const std::string &path) {
  Reader r(path);
  std::vector<Frame> frames;
  Frame f;
  while (r.next(f)) frames.push_back(std::move(f));
  return frames;
}

void write_file(const std::string &path, const std::vector<Frame> &frames) {
  Writer w(path);
  for (const Frame &f : frames) w.write(f.ts_ns, f.data.data(), f.data.size());
  w.commit();
}

}  // namespace sluice::pcap
