// libFuzzer: PNG/JPEG decoding (Debian's stb) and image preprocessing on arbitrary bytes.
#include <cstddef>
#include <cstdint>

#include "digits/preprocess.h"
#include "image_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  digits::Image image;
  if (!digits::DecodeImage(data, size, &image).ok()) return 0;
  digits::Preprocessed pre;
  digits::PreprocessImage(image.view(), digits::InputGeometry{}, &pre);
  return 0;
}
