// Plain-text tables for sluicectl's human output: columns padded to their widest cell,
// numbers right-aligned.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace sluicectl {

class TextTable {
 public:
  explicit TextTable(std::vector<std::string> header) : header_(std::move(header)) {}
  void row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  bool empty() const { return rows_.empty(); }
  void print(std::ostream &os, const std::string &indent = "") const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace sluicectl
