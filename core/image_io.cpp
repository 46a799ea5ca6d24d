#include "image_io.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include <stb_image.h>
#include <stb_image_write.h>

#include "network.h"

namespace digits {
namespace {

constexpr size_t kMaxImageFileBytes = 32u << 20;

bool IsPng(const uint8_t* d, size_t n) {
  return n >= 8 && std::memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0;
}
bool IsJpeg(const uint8_t* d, size_t n) {
  return n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF;
}

// stb's reason for a failure, when it gives a readable one (it can leave none, or a stale one).
std::string DecoderReason() {
  const char* reason = stbi_failure_reason();
  if (reason == nullptr) return "cannot decode it";
  std::string text;
  for (const char* c = reason; *c && text.size() < 64; ++c) {
    if (*c < 0x20 || *c > 0x7e) return "cannot decode it";
    text += *c;
  }
  return text.empty() ? "cannot decode it" : text;
}

}  // namespace

Status DecodeImage(const uint8_t* data, size_t size, Image* out) {
  if (size == 0) return Status::Error("image is empty (0 bytes)");
  if (size > kMaxImageFileBytes) {
    return Status::Errorf("image file is %zu bytes, more than the %zu-byte limit", size,
                          kMaxImageFileBytes);
  }
  if (!IsPng(data, size) && !IsJpeg(data, size)) {
    return Status::Error("not a PNG or JPEG image");
  }
  const char* kind = IsPng(data, size) ? "PNG" : "JPEG";
  int w = 0, h = 0, c = 0;
  // Dimensions from the header first, so an empty or oversized image is named as such rather
  // than as a decoder failure (and never allocated).
  if (!PeekImageSize(data, size, &w, &h)) {
    return Status::Errorf("corrupt %s image: %s", kind, DecoderReason().c_str());
  }
  if (w < 1 || h < 1) return Status::Errorf("%s image is %dx%d: it has no pixels", kind, w, h);
  if (w > kMaxImageSide || h > kMaxImageSide || static_cast<int64_t>(w) * h > kMaxImagePixels) {
    return Status::Errorf("%s image is %dx%d, beyond the limit (%d per side, %d pixels)", kind, w,
                          h, kMaxImageSide, kMaxImagePixels);
  }
  stbi_uc* pixels = stbi_load_from_memory(data, static_cast<int>(size), &w, &h, &c, 0);
  if (!pixels) return Status::Errorf("corrupt %s image: %s", kind, DecoderReason().c_str());
  Image image;
  image.width = w;
  image.height = h;
  image.channels = c;
  image.pixels.assign(pixels, pixels + static_cast<size_t>(w) * h * c);
  stbi_image_free(pixels);
  *out = std::move(image);
  return Status::Ok();
}

bool PeekImageSize(const uint8_t* data, size_t size, int* width, int* height) {
  if (IsPng(data, size) && size >= 24 && std::memcmp(data + 12, "IHDR", 4) == 0) {
    const uint32_t w = (uint32_t{data[16]} << 24) | (data[17] << 16) | (data[18] << 8) | data[19];
    const uint32_t h = (uint32_t{data[20]} << 24) | (data[21] << 16) | (data[22] << 8) | data[23];
    *width = static_cast<int>(std::min<uint32_t>(w, 1u << 30));
    *height = static_cast<int>(std::min<uint32_t>(h, 1u << 30));
    return true;
  }
  if (size > static_cast<size_t>(INT32_MAX)) return false;
  int c = 0;
  return stbi_info_from_memory(data, static_cast<int>(size), width, height, &c) != 0;
}

Status ReadImageFile(const std::string& path, Image* out) {
  std::vector<uint8_t> bytes;
  DIGITS_RETURN_IF_ERROR(ReadFile(path, kMaxImageFileBytes, &bytes));
  return DecodeImage(bytes.data(), bytes.size(), out).Context(path + ": ");
}

Status EncodePng(const Image& image, std::vector<uint8_t>* out) {
  std::vector<uint8_t> bytes;
  auto append = [](void* context, void* data, int size) {
    auto* v = static_cast<std::vector<uint8_t>*>(context);
    v->insert(v->end(), static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + size);
  };
  if (!stbi_write_png_to_func(append, &bytes, image.width, image.height, image.channels,
                              image.pixels.data(), image.width * image.channels)) {
    return Status::Error("cannot encode the PNG");
  }
  *out = std::move(bytes);
  return Status::Ok();
}

Status WritePngFile(const std::string& path, const Image& image) {
  std::vector<uint8_t> bytes;
  DIGITS_RETURN_IF_ERROR(EncodePng(image, &bytes));
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return Status::Errorf("cannot write '%s'", path.c_str());
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  if (std::fclose(f) != 0 || !ok) return Status::Errorf("error writing '%s'", path.c_str());
  return Status::Ok();
}

}  // namespace digits
