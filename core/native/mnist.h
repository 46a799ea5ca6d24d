// Reader for MNIST's idx files (images: magic 0x803, labels: 0x801), plain or gzip-compressed
// (read through zlib, never unpacked to disk).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "digits/status.h"

namespace digits {

struct MnistImages {
  int count = 0, height = 0, width = 0;
  std::vector<uint8_t> pixels;  // count * height * width, 0 = background, 255 = ink
};

Status ReadMnistImages(const std::string& path, MnistImages* out);
Status ReadMnistLabels(const std::string& path, std::vector<uint8_t>* out);

}  // namespace digits
