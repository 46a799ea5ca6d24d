// JSON at the native front ends (CLI, server): the strokes format in and the result format out.
//   strokes:  {"strokes": [[[x, y], [x, y], ...], ...]}   (extra fields and extra per-point
//             values such as pressure or time are ignored)
//   result:   {"text": "42", "empty": false, "digits": [{"digit": 4, "label": "4",
//              "probabilities": [one per class], "box": [x0, y0, x1, y1],
//              "not_a_digit": false, "unsure": false,
//              "gradcam": {"class": 4, "size": 28, "map": [[28 numbers] x 28]}}, ...]}
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "preprocess.h"
#include "recognizer.h"
#include "status.h"

namespace digits {

// Parses and validates (ValidateStrokes) a strokes document. `object` is the parsed document
// when the caller already has it (the server reads "mode" and "gradcam" from the same object).
Status StrokesFromJson(const nlohmann::json& object, std::vector<Stroke>* out);
Status ParseStrokesJson(const std::string& text, std::vector<Stroke>* out);

// The result document; `gradcam_size` > 0 adds each digit's Grad-CAM map upsampled to that size.
nlohmann::json RecognitionToJson(const Recognition& result, const Network& network,
                                 int gradcam_size);

}  // namespace digits
