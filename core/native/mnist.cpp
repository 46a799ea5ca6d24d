#include "mnist.h"

#include <zlib.h>

namespace digits {
namespace {

// The largest idx file we accept uncompressed (MNIST's training images are 47 MB).
constexpr size_t kMaxIdxBytes = 256u << 20;

// gzread reads both gzip and plain files.
Status ReadAll(const std::string& path, std::vector<uint8_t>* out) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) return Status::Errorf("cannot open '%s'", path.c_str());
  std::vector<uint8_t> bytes;
  uint8_t buffer[1 << 16];
  int n;
  while ((n = gzread(f, buffer, sizeof(buffer))) > 0) {
    if (bytes.size() + n > kMaxIdxBytes) {
      gzclose(f);
      return Status::Errorf("'%s' is larger than %zu bytes", path.c_str(), kMaxIdxBytes);
    }
    bytes.insert(bytes.end(), buffer, buffer + n);
  }
  int error = Z_OK;
  const char* message = n < 0 ? gzerror(f, &error) : nullptr;
  std::string text = message ? message : "";
  gzclose(f);
  if (n < 0) return Status::Errorf("'%s' is corrupt: %s", path.c_str(), text.c_str());
  *out = std::move(bytes);
  return Status::Ok();
}

uint32_t BigEndian32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

}  // namespace

Status ReadMnistImages(const std::string& path, MnistImages* out) {
  std::vector<uint8_t> bytes;
  DIGITS_RETURN_IF_ERROR(ReadAll(path, &bytes));
  if (bytes.size() < 16 || BigEndian32(bytes.data()) != 0x803) {
    return Status::Errorf("'%s' is not an idx image file (magic 0x00000803)", path.c_str());
  }
  const uint64_t count = BigEndian32(&bytes[4]), h = BigEndian32(&bytes[8]),
                 w = BigEndian32(&bytes[12]);
  if (h == 0 || w == 0 || h > 4096 || w > 4096 || bytes.size() - 16 != count * h * w) {
    return Status::Errorf("'%s': header says %llu images of %llux%llu but holds %zu pixel bytes",
                          path.c_str(), static_cast<unsigned long long>(count),
                          static_cast<unsigned long long>(h), static_cast<unsigned long long>(w),
                          bytes.size() - 16);
  }
  out->count = static_cast<int>(count);
  out->height = static_cast<int>(h);
  out->width = static_cast<int>(w);
  out->pixels.assign(bytes.begin() + 16, bytes.end());
  return Status::Ok();
}

Status ReadMnistLabels(const std::string& path, std::vector<uint8_t>* out) {
  std::vector<uint8_t> bytes;
  DIGITS_RETURN_IF_ERROR(ReadAll(path, &bytes));
  if (bytes.size() < 8 || BigEndian32(bytes.data()) != 0x801) {
    return Status::Errorf("'%s' is not an idx label file (magic 0x00000801)", path.c_str());
  }
  const uint64_t count = BigEndian32(&bytes[4]);
  if (bytes.size() - 8 != count) {
    return Status::Errorf("'%s': header says %llu labels but holds %zu", path.c_str(),
                          static_cast<unsigned long long>(count), bytes.size() - 8);
  }
  out->assign(bytes.begin() + 8, bytes.end());
  return Status::Ok();
}

}  // namespace digits
