// Image files for the native front ends (CLI, server): PNG decoding and encoding through Debian's
// stb (stb_image, stb_image_write), JPEG decoding through libjpeg-turbo. Not part of the wasm
// build: the browser decodes images itself and hands the core RGBA pixels.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "digits/preprocess.h"
#include "digits/status.h"

namespace digits {

struct Image {
  int width = 0, height = 0, channels = 0;  // channels: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA
  std::vector<uint8_t> pixels;
  ImageView view() const { return {pixels.data(), width, height, channels}; }
};

// Decodes a PNG or JPEG held in memory. Anything else, a corrupt file, or dimensions beyond the
// preprocess limits (checked from the header, before decoding) is an error naming the problem.
Status DecodeImage(const uint8_t* data, size_t size, Image* out);
// Reads a PNG's or JPEG's dimensions from its header without decoding; false if it cannot.
bool PeekImageSize(const uint8_t* data, size_t size, int* width, int* height);
Status ReadImageFile(const std::string& path, Image* out);

Status EncodePng(const Image& image, std::vector<uint8_t>* out);
Status WritePngFile(const std::string& path, const Image& image);

}  // namespace digits
