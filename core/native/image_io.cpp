#include "image_io.h"

#include <algorithm>
#include <csetjmp>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include <jpeglib.h>
#include <stb_image.h>
#include <stb_image_write.h>
#include <zlib.h>

#include "digits/file.h"
#include "digits/limits.h"

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

uint32_t BigEndian32(const uint8_t* d) {
  return (uint32_t{d[0]} << 24) | (uint32_t{d[1]} << 16) | (uint32_t{d[2]} << 8) | d[3];
}

// Bytes of a PNG's filtered image data, from IHDR: one filter byte per row plus the packed row,
// for each of the 7 Adam7 passes when interlaced. 0 for an unknown color type or bit depth.
uint64_t PngRawBytes(uint32_t w, uint32_t h, int depth, int color, bool interlaced) {
  const int channels = color == 0 ? 1 : color == 2 ? 3 : color == 3 ? 1 : color == 4 ? 2 : 4;
  if (color == 1 || color == 5 || color > 6 ||
      (depth != 1 && depth != 2 && depth != 4 && depth != 8 && depth != 16)) {
    return 0;
  }
  const uint64_t bits = static_cast<uint64_t>(channels) * depth;
  auto pass = [bits](uint64_t pw, uint64_t ph) {
    return pw == 0 || ph == 0 ? 0 : ph * (1 + (pw * bits + 7) / 8);
  };
  if (!interlaced) return pass(w, h);
  static const int kStart[7][2] = {{0, 0}, {4, 0}, {0, 4}, {2, 0}, {0, 2}, {1, 0}, {0, 1}};
  static const int kStep[7][2] = {{8, 8}, {8, 8}, {4, 8}, {4, 4}, {2, 4}, {2, 2}, {1, 2}};
  uint64_t total = 0;
  for (int p = 0; p < 7; ++p) {
    const uint64_t pw = w > static_cast<uint32_t>(kStart[p][0])
                            ? (w - kStart[p][0] + kStep[p][0] - 1) / kStep[p][0]
                            : 0;
    const uint64_t ph = h > static_cast<uint32_t>(kStart[p][1])
                            ? (h - kStart[p][1] + kStep[p][1] - 1) / kStep[p][1]
                            : 0;
    total += pass(pw, ph);
  }
  return total;
}

// A PNG's zlib stream must inflate to no more than its header says (a 64x64 PNG that inflated
// to 1 GB took the server to 1.3 GB of memory: stb grows its buffer as long as the stream
// goes on). Inflated here first into a small scratch buffer, counted, and stopped at the size.
Status CheckPngInflatedSize(const uint8_t* data, size_t size) {
  if (size < 33 || std::memcmp(data + 12, "IHDR", 4) != 0) return Status::Ok();  // stb says why
  const uint64_t expected =
      PngRawBytes(BigEndian32(data + 16), BigEndian32(data + 20), data[24], data[25], data[28]);
  if (expected == 0) return Status::Ok();
  z_stream z{};
  if (inflateInit(&z) != Z_OK) return Status::Error("cannot check the PNG: out of memory");
  uint8_t scratch[1 << 15];
  uint64_t inflated = 0;
  int ret = Z_OK;
  for (size_t at = 8; at + 12 <= size && ret == Z_OK;) {
    const uint32_t length = BigEndian32(data + at);
    if (length > size - at - 12) break;  // truncated: stb reports it
    if (std::memcmp(data + at + 4, "IDAT", 4) == 0) {
      z.next_in = const_cast<uint8_t*>(data + at + 8);
      z.avail_in = length;
      while (z.avail_in > 0 && ret == Z_OK) {
        z.next_out = scratch;
        z.avail_out = sizeof(scratch);
        ret = inflate(&z, Z_NO_FLUSH);
        inflated += sizeof(scratch) - z.avail_out;
        if (inflated > expected) break;
        if (ret == Z_BUF_ERROR) ret = Z_OK;  // needs more input: the next IDAT
      }
      if (inflated > expected) break;
    } else if (std::memcmp(data + at + 4, "IEND", 4) == 0) {
      break;
    }
    at += 12 + static_cast<size_t>(length);
  }
  inflateEnd(&z);
  if (inflated > expected) {
    return Status::Errorf("PNG image data inflates beyond the %llu bytes its %ux%u header allows",
                          static_cast<unsigned long long>(expected), BigEndian32(data + 16),
                          BigEndian32(data + 20));
  }
  if (ret != Z_OK && ret != Z_STREAM_END) return Status::Error("corrupt PNG image: bad zlib data");
  return Status::Ok();
}

// A progressive JPEG is decoded once per scan over the whole image: thousands of tiny scans in
// a small file cost seconds. Real encoders write at most a few dozen (libjpeg's default: 10).
constexpr int kMaxJpegScans = 100;
int CountJpegScans(const uint8_t* data, size_t size) {
  int scans = 0;
  for (size_t i = 0; i + 1 < size; ++i) scans += data[i] == 0xFF && data[i + 1] == 0xDA;
  return scans;
}

// JPEG through libjpeg-turbo, not stb: stb_image 2.27 (Debian's) trusts a corrupt JPEG's Huffman
// tables and code stream (tests/fuzz/fuzz_image found an assert that aborted the process, a write
// past a 257-byte table and a SEGV in its block decoder), while libjpeg-turbo is the decoder
// browsers use, hardened by years of fuzzing. Errors come back through error_exit -> longjmp, so
// nothing with a destructor may be created between the setjmp and the decoder's last call.
struct JpegError {
  jpeg_error_mgr manager;
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void JpegErrorExit(j_common_ptr info) {
  JpegError* error = reinterpret_cast<JpegError*>(info->err);
  (*info->err->format_message)(info, error->message);
  longjmp(error->jump, 1);
}

void JpegSilence(j_common_ptr) {}  // warnings (a corrupt but decodable file) are not printed

// Reads the header (decode == false) or the whole image as gray or RGB into *out.
Status DecodeJpeg(const uint8_t* data, size_t size, bool decode, Image* out) {
  jpeg_decompress_struct info;
  JpegError error;
  info.err = jpeg_std_error(&error.manager);
  error.manager.error_exit = JpegErrorExit;
  error.manager.output_message = JpegSilence;
  error.message[0] = '\0';
  std::vector<uint8_t>& pixels = out->pixels;
  if (setjmp(error.jump)) {
    jpeg_destroy_decompress(&info);
    return Status::Errorf("corrupt JPEG image: %s", error.message);
  }
  jpeg_create_decompress(&info);
  info.mem->max_memory_to_use = 256u << 20;
  jpeg_mem_src(&info, data, static_cast<unsigned long>(size));
  jpeg_read_header(&info, TRUE);
  out->width = static_cast<int>(info.image_width);
  out->height = static_cast<int>(info.image_height);
  const bool gray = info.num_components == 1;
  out->channels = gray ? 1 : 3;
  if (decode) {
    info.out_color_space = gray ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_start_decompress(&info);
    const size_t stride = static_cast<size_t>(info.output_width) * info.output_components;
    pixels.resize(stride * info.output_height);
    while (info.output_scanline < info.output_height) {
      JSAMPROW row = pixels.data() + stride * info.output_scanline;
      jpeg_read_scanlines(&info, &row, 1);
    }
    jpeg_finish_decompress(&info);
  }
  jpeg_destroy_decompress(&info);
  return Status::Ok();
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
  if (IsJpeg(data, size)) {
    Image header;
    DIGITS_RETURN_IF_ERROR(DecodeJpeg(data, size, /*decode=*/false, &header));
    w = header.width;
    h = header.height;
  } else if (!PeekImageSize(data, size, &w, &h)) {
    return Status::Errorf("corrupt %s image: %s", kind, DecoderReason().c_str());
  }
  DIGITS_RETURN_IF_ERROR(CheckImageSize(w, h).Context(std::string(kind) + " "));
  if (IsPng(data, size)) DIGITS_RETURN_IF_ERROR(CheckPngInflatedSize(data, size));
  if (IsJpeg(data, size) && CountJpegScans(data, size) > kMaxJpegScans) {
    return Status::Errorf("JPEG image has more than %d scans", kMaxJpegScans);
  }
  if (IsJpeg(data, size)) {
    Image image;
    DIGITS_RETURN_IF_ERROR(DecodeJpeg(data, size, /*decode=*/true, &image));
    *out = std::move(image);
    return Status::Ok();
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
  if (IsJpeg(data, size)) {
    Image header;
    if (!DecodeJpeg(data, size, /*decode=*/false, &header).ok()) return false;
    *width = header.width;
    *height = header.height;
    return true;
  }
  return false;
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
