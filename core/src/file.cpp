#include "digits/file.h"

#include <cstdio>

namespace digits {

Status ReadFile(const std::string& path, size_t max_bytes, std::vector<uint8_t>* out) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return Status::Errorf("cannot open '%s'", path.c_str());
  std::vector<uint8_t> bytes;
  uint8_t buffer[1 << 16];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), f)) > 0) {
    if (bytes.size() + n > max_bytes) {
      std::fclose(f);
      return Status::Errorf("'%s' is larger than the %zu-byte limit", path.c_str(), max_bytes);
    }
    bytes.insert(bytes.end(), buffer, buffer + n);
  }
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) return Status::Errorf("error reading '%s'", path.c_str());
  *out = std::move(bytes);
  return Status::Ok();
}

}  // namespace digits
