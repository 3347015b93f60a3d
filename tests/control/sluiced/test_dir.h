// A scratch directory for one test, removed after it; files written whole.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace sluice::sluiced::testing {

class TestDir {
 public:
  TestDir() {
    std::string t = (std::filesystem::temp_directory_path() / "sluiced_test.XXXXXX").string();
    if (!::mkdtemp(t.data())) throw std::runtime_error("mkdtemp");
    path_ = t;
  }
  ~TestDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string &path() const { return path_; }
  std::string operator/(const std::string &name) const { return path_ + "/" + name; }
  // Writes through a temporary file and a rename, as a downloader would.
  std::string write(const std::string &name, const std::string &text) const {
    const std::string p = *this / name;
    {
      std::ofstream out(p + ".part", std::ios::trunc | std::ios::binary);
      out << text;
    }
    std::filesystem::rename(p + ".part", p);
    return p;
  }

 private:
  std::string path_;
};

// "198.18.0.1\n198.18.0.2\n..." : n distinct addresses of 198.18.0.0/15 (n <= 131072).
inline std::string addresses(size_t n, size_t first = 0) {
  std::string s;
  for (size_t i = first; i < first + n; ++i)
    s += "198." + std::to_string(18 + (i >> 16)) + "." + std::to_string((i >> 8) & 255) + "." +
         std::to_string(i & 255) + "\n";
  return s;
}

}  // namespace sluice::sluiced::testing
