// libFuzzer: the strokes JSON parser and stroke preprocessing on arbitrary text.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "digits/preprocess.h"
#include "json_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<digits::Stroke> strokes;
  if (!digits::ParseStrokesJson(std::string(reinterpret_cast<const char*>(data), size), &strokes)
           .ok()) {
    return 0;
  }
  digits::Preprocessed pre;
  digits::PreprocessStrokes(strokes, digits::InputGeometry{}, &pre);
  return 0;
}
