// JSON at the native front ends (CLI, server): the strokes format in and the result document out.
//   strokes:  {"strokes": [[[x, y], [x, y], ...], ...]}, a point as [x, y] or {"x": x, "y": y}
//             (the widget's form); extra fields and extra per-point values such as pressure or
//             time are ignored
//   result:   the document of digits/result.h, described in core/RESULT_FORMAT.md
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "digits/preprocess.h"
#include "digits/recognizer.h"
#include "digits/status.h"

namespace digits {

// Parses and validates (ValidateStrokes) a strokes document. `object` is the parsed document
// when the caller already has it (the server reads "mode" and "gradcam" from the same object).
Status StrokesFromJson(const nlohmann::json& object, std::vector<Stroke>* out);
Status ParseStrokesJson(const std::string& text, std::vector<Stroke>* out);

// The result document (digits/result.h).
nlohmann::json RecognitionToJson(const Recognition& result, const Network& network);

}  // namespace digits
