#include "seen_reports.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

namespace sluice::sluiced::arf {

bool SeenReports::insert(const Key &key) {
  if (capacity_ == 0) return true;
  if (!keys_.insert(key).second) return false;
  order_.push_back(key);
  while (order_.size() > capacity_) {
    keys_.erase(order_.front());
    order_.pop_front();
    ++evicted_;
  }
  return true;
}

bool SeenReports::save(const std::string &path) const {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return false;
    for (const Key &k : order_) out.write(reinterpret_cast<const char *>(k.data()), k.size());
    out.flush();
    if (!out) return false;
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  return !ec;
}

bool SeenReports::load(const std::string &path) {
  keys_.clear();
  order_.clear();
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec || size % sizeof(Key) != 0 || size > sizeof(Key) * (size_t{1} << 24)) return false;
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::vector<char> bytes(size);
  if (!in.read(bytes.data(), static_cast<std::streamsize>(size))) return false;
  for (size_t off = 0; off < size; off += sizeof(Key)) {
    Key k;
    std::copy_n(bytes.begin() + static_cast<std::ptrdiff_t>(off), k.size(), k.begin());
    insert(k);
  }
  evicted_ = 0;
  return true;
}

}  // namespace sluice::sluiced::arf
