// The model's targets as its card states them (model/README.md, "Against the model issue's
// targets"): every accuracy floor of the suite is one of these, held by the float files the CLI
// and the server load and by the int8 file the site ships alike. A model that misses one fails
// the suite. The exact error lists (model/test_errors.json) do not protect against a worse model:
// export.py rewrites them with every model; these floors do.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace digits::test {

// Fractions in basis points (1/100 of a percent), compared with integers: 98.5% of 1,200 is
// exactly 1,182, which floating point could put on either side.
constexpr int kMnistAccuracy = 9960;   // MNIST test, as it is
constexpr int kCvlAccuracy = 9850;     // CVL test: 176 unseen writers' scans, image path
constexpr int kUjiAccuracy = 9850;     // UJI: 10 unseen pen writers, stroke path
constexpr int kTracedAccuracy = 9850;  // the traced MNIST test strokes (tests/data/strokes)
constexpr int kNumbersExact = 9500;    // numbers of 2-6 traced digits read exactly
constexpr int kLettersFlagged = 9700;  // letters of unseen writers flagged (below)
// The doubt (model/README.md, "Doubt"): a digit is flagged when it is "not a digit" (refused) or
// "unsure"; the page asks the person to check a flagged digit.
constexpr int kDigitsRefusedMost = 50;   // digits called "not a digit", on every held-out digit set
constexpr int kDigitsFlaggedMost = 500;  // digits flagged, on every held-out digit set
// Pen writers never seen (CROHME's test writers, tests/data/handwriting/crohme*_test.json)
// Their digits read right: the model issue's target is 99.3%, not met yet (the card: 99.01% of all
// 2,329 test digits); this floor is what the shipped files read on the fixture's 600 (F32 99.33%,
// F16 99.17%, int8 99.00%), so a worse model fails. Raise it to 9930 when the target is met.
constexpr int kPenAccuracy = 9900;
constexpr int kNotFlaggedRight = 9970;  // their digits not flagged that are right
constexpr int kErrorsFlagged = 6000;    // their wrong answers flagged
constexpr int kSymbolsFlagged = 9700;   // their letters and symbols flagged
constexpr int kPenNumbersExact = 9500;  // their numbers of 2-6 digits read exactly
constexpr int kMisreadFlagged = 8000;   // their misread numbers with a flagged digit

// Whether `part` of `count` is at least `basis_points` of it.
inline bool AtLeast(int part, int count, int basis_points) {
  return int64_t{part} * 10000 >= int64_t{count} * basis_points;
}
// Whether `part` of `count` is at most `basis_points` of it.
inline bool AtMost(int part, int count, int basis_points) {
  return int64_t{part} * 10000 <= int64_t{count} * basis_points;
}

// "digits_int8.safetensors" of a model path, for the messages.
inline std::string FileName(const std::string& path) {
  return path.substr(path.find_last_of('/') + 1);
}

// The shipped model files the targets hold for: F32, F16 (CLI and server) and int8 (the site).
inline std::vector<std::string> ShippedModels() {
  return {DIGITS_MODEL_DIR "/digits.safetensors", DIGITS_MODEL_DIR "/digits_f16.safetensors",
          DIGITS_MODEL_DIR "/digits_int8.safetensors"};
}

}  // namespace digits::test
