// libFuzzer: the whole recognize path with Grad-CAM on arbitrary strokes. The bytes are read as
// float coordinates (any bit pattern: NaN, Inf, huge, denormal) and stroke breaks; the first byte
// picks the options.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "digits/recognizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static digits::Recognizer* recognizer = [] {
    std::unique_ptr<digits::Recognizer> r;
    if (!digits::Recognizer::CreateFromFile(DIGITS_FUZZ_MODEL, digits::BackendKind::kBuiltin, &r)
             .ok()) {
      std::abort();
    }
    return r.release();
  }();
  if (size == 0) return 0;
  digits::RecognizeOptions options;
  options.mode = data[0] & 1 ? digits::Mode::kNumber : digits::Mode::kDigit;
  options.gradcam = data[0] & 2;
  options.gradcam_class = static_cast<int>(data[0] >> 2) % 12 - 1;  // -1..10 (10 is invalid)
  std::vector<digits::Stroke> strokes(1);
  for (size_t i = 1; i + 8 <= size; i += 8) {
    float xy[2];
    std::memcpy(xy, data + i, 8);
    if (xy[0] == 0.0f && std::signbit(xy[0])) {  // -0.0 starts a new stroke
      strokes.emplace_back();
      continue;
    }
    strokes.back().push_back({xy[0], xy[1]});
  }
  digits::Recognition result;
  const digits::Status s = recognizer->RecognizeStrokes(strokes, options, &result);
  if (s.ok() && !result.empty) {
    for (const digits::DigitResult& d : result.digits) {
      for (float p : d.prediction.probabilities) {
        if (!(p >= 0.0f && p <= 1.0f)) std::abort();  // a result is always a distribution
      }
    }
  }
  return 0;
}
