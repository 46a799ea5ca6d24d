// Embind bindings: the library's Recognizer as a JS class. Inputs arrive as whole typed arrays (all
// points of a drawing in one Float32Array) and results leave as plain JS objects holding
// typed-array copies: no per-point calls across the boundary. Nothing throws across it either: a
// failure comes back as {error: "..."} (or from error() after construction) and web/digits.js
// turns it into a JS exception.
//
//   new Recognizer(modelBytes: Uint8Array)
//   .error(): string                       "" when the model loaded
//   .info(): {parameters, macs, inputSize, classes, labels, unsureThreshold, notADigitClass,
//             notADigitThreshold, backend, limits: {strokes, pointsPerStroke, points, coordinate,
//             imageSide, imagePixels, numberMarks}}   (limits: digits/limits.h)
//   .recognize(points: Float32Array [x0, y0, x1, y1, ...], strokeLengths: Uint32Array,
//              options: {mode: "digit" | "number", gradcam: bool, gradcamClass: int,
//                        gradcamVersus: int})
//   .recognizeImage(pixels: Uint8Array, width, height, channels, options)
//   .classify(pixels: Float32Array)        an already MNIST-like input
//   .classifyBuffer(): number              the lean classify entry, for digits.js: the byte address
//   .classifyInPlace(): 1 | 0              of one float32 region per recognizer, [input
//                                          (inputSize^2) | logits | probabilities (classes each) |
//                                          digit, not_a_digit, unsure]; JS writes the input there,
//                                          classifyInPlace() fills the rest and returns 1, or 0
//                                          when the input is refused (classify() says why). No
//                                          Embind value is made per call.
// recognize/recognizeImage return the result object of core/RESULT_FORMAT.md, written by the
// library's WriteRecognition (digits/result.h), as every front end's is.
#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "digits/limits.h"
#include "digits/recognizer.h"
#include "digits/result.h"

namespace digits {
namespace {

using emscripten::val;

template <typename T>
val TypedCopy(const char* type, const std::vector<T>& v) {
  // A view into wasm memory, copied by slice() before any allocation can move it.
  return val::global(type)
      .new_(emscripten::typed_memory_view(v.size(), v.data()))
      .template call<val>("slice");
}

val ErrorObject(const Status& s) {
  val out = val::object();
  out.set("error", s.message());
  return out;
}

// An optional class index option: null/undefined keep the default; the recognizer checks the
// upper bound against the model.
Status ReadClass(const val& options, const char* name, int* out) {
  const val cls = options[name];
  if (cls.isUndefined() || cls.isNull()) return Status::Ok();
  if (!cls.isNumber()) return Status::Errorf("options.%s must be a number", name);
  const double c = cls.as<double>();
  if (!(c >= -1 && c <= 1e6)) return Status::Errorf("options.%s is out of range", name);
  if (c != std::floor(c)) return Status::Errorf("options.%s must be a whole number", name);
  *out = static_cast<int>(c);
  return Status::Ok();
}

// Reads {mode, gradcam, gradcamClass, gradcamVersus} from a JS object; missing fields keep their
// defaults.
Status ParseOptions(const val& options, RecognizeOptions* out) {
  RecognizeOptions o;
  if (options.isUndefined() || options.isNull()) {
    *out = o;
    return Status::Ok();
  }
  const val mode = options["mode"];
  if (!mode.isUndefined()) {
    const std::string m = mode.isString() ? mode.as<std::string>() : "";
    if (m == "digit") {
      o.mode = Mode::kDigit;
    } else if (m == "number") {
      o.mode = Mode::kNumber;
    } else {
      return Status::Error("options.mode must be \"digit\" or \"number\"");
    }
  }
  const val gradcam = options["gradcam"];
  if (!gradcam.isUndefined()) o.gradcam = gradcam.as<bool>();
  Status s;
  if (!(s = ReadClass(options, "gradcamClass", &o.gradcam_class)).ok() ||
      !(s = ReadClass(options, "gradcamVersus", &o.gradcam_versus)).ok()) {
    return s;
  }
  *out = o;
  return Status::Ok();
}

// Builds the JS object WriteRecognition describes; arrays of numbers become typed arrays.
class JsResultWriter : public ResultWriter {
 public:
  val document() const { return document_; }

  void BeginObject(const char* key) override { Open(key, val::object()); }
  void EndObject() override { open_.pop_back(); }
  void BeginArray(const char* key) override { Open(key, val::array()); }
  void EndArray() override { open_.pop_back(); }
  void Null(const char* key) override { Put(key, val::null()); }
  void Bool(const char* key, bool value) override { Put(key, val(value)); }
  void Int(const char* key, int value) override { Put(key, val(value)); }
  void Float(const char* key, float value) override { Put(key, val(value)); }
  void String(const char* key, const std::string& value) override { Put(key, val(value)); }
  void Floats(const char* key, const std::vector<float>& values) override {
    Put(key, TypedCopy("Float32Array", values));
  }
  void Ints(const char* key, const std::vector<int>& values) override {
    Put(key, TypedCopy("Int32Array", values));
  }

 private:
  void Put(const char* key, const val& value) {
    if (open_.empty()) {
      document_ = value;
    } else if (key == nullptr) {
      open_.back().call<void>("push", value);
    } else {
      open_.back().set(key, value);
    }
  }
  void Open(const char* key, const val& empty) {
    Put(key, empty);
    open_.push_back(empty);
  }

  val document_ = val::null();
  std::vector<val> open_;  // the objects and arrays being filled, innermost last
};

class WasmRecognizer {
 public:
  explicit WasmRecognizer(const val& model) {
    const std::vector<uint8_t> bytes = emscripten::convertJSArrayToNumberVector<uint8_t>(model);
    status_ = Recognizer::Create(bytes.data(), bytes.size(), BackendKind::kBuiltin, &recognizer_);
  }

  std::string error() const { return status_.message(); }

  val info() const {
    if (!recognizer_) return ErrorObject(status_);
    const Network& net = recognizer_->network();
    val out = val::object();
    out.set("parameters", static_cast<double>(net.parameter_count()));
    out.set("macs", static_cast<double>(net.mac_count()));
    out.set("inputSize", net.input.height);
    out.set("classes", net.num_classes());
    val labels = val::array();
    for (const std::string& label : net.labels) labels.call<void>("push", label);
    out.set("labels", labels);
    out.set("unsureThreshold", net.unsure_threshold);
    out.set("notADigitClass", net.not_a_digit_class);
    out.set("notADigitThreshold", net.not_a_digit_threshold);
    out.set("backend", std::string(BackendName(recognizer_->backend())));
    val limits = val::object();
    limits.set("strokes", kMaxStrokes);
    limits.set("pointsPerStroke", kMaxPointsPerStroke);
    limits.set("points", kMaxPoints);
    limits.set("coordinate", kMaxCoordinate);
    limits.set("imageSide", kMaxImageSide);
    limits.set("imagePixels", kMaxImagePixels);
    limits.set("numberMarks", kMaxNumberMarks);
    out.set("limits", limits);
    return out;
  }

  val recognize(const val& points, const val& stroke_lengths, const val& options) {
    if (!recognizer_) return ErrorObject(status_);
    RecognizeOptions o;
    Status s = ParseOptions(options, &o);
    if (!s.ok()) return ErrorObject(s);
    const size_t n_points = points["length"].as<size_t>();
    const size_t n_strokes = stroke_lengths["length"].as<size_t>();
    // Limits first, so an absurd drawing is refused before it is copied.
    s = CheckDrawingSize(n_strokes, n_points / 2);
    if (!s.ok()) return ErrorObject(s);
    const std::vector<float> xy = emscripten::convertJSArrayToNumberVector<float>(points);
    const std::vector<uint32_t> lengths =
        emscripten::convertJSArrayToNumberVector<uint32_t>(stroke_lengths);
    size_t total = 0;
    for (uint32_t len : lengths) total += len;
    if (2 * total != xy.size()) {
      return ErrorObject(Status::Errorf(
          "stroke lengths add up to %zu points but %zu coordinates were given", total, xy.size()));
    }
    std::vector<Stroke> strokes(lengths.size());
    size_t k = 0;
    for (size_t s_i = 0; s_i < lengths.size(); ++s_i) {
      strokes[s_i].resize(lengths[s_i]);
      for (Point& p : strokes[s_i]) {
        p = {xy[k], xy[k + 1]};
        k += 2;
      }
    }
    Recognition result;
    s = recognizer_->RecognizeStrokes(strokes, o, &result);
    if (!s.ok()) return ErrorObject(s);
    return ToJs(result);
  }

  val recognizeImage(const val& pixels, int width, int height, int channels, const val& options) {
    if (!recognizer_) return ErrorObject(status_);
    RecognizeOptions o;
    Status s = ParseOptions(options, &o);
    if (!s.ok()) return ErrorObject(s);
    s = CheckImageSize(width, height);
    if (!s.ok()) return ErrorObject(s);
    if (channels < 1 || channels > 4) {
      return ErrorObject(Status::Errorf("image has %d channels (1 to 4 expected)", channels));
    }
    const size_t expected = static_cast<size_t>(width) * height * channels;
    if (pixels["length"].as<size_t>() != expected) {
      return ErrorObject(Status::Errorf("image data has %zu bytes, %dx%dx%d needs %zu",
                                        pixels["length"].as<size_t>(), width, height, channels,
                                        expected));
    }
    const std::vector<uint8_t> data = emscripten::convertJSArrayToNumberVector<uint8_t>(pixels);
    Recognition result;
    s = recognizer_->RecognizeImage({data.data(), width, height, channels}, o, &result);
    if (!s.ok()) return ErrorObject(s);
    return ToJs(result);
  }

  size_t classifyBuffer() {
    if (!recognizer_) return 0;
    if (io_.empty()) {
      const Network& net = recognizer_->network();
      io_.resize(static_cast<size_t>(net.input.size()) + 2 * net.num_classes() + 3);
    }
    return reinterpret_cast<size_t>(io_.data());
  }

  int classifyInPlace() {
    if (!recognizer_ || io_.empty()) return 0;
    const Network& net = recognizer_->network();
    const size_t n = static_cast<size_t>(net.input.size()), k = net.num_classes();
    Prediction p;
    if (!recognizer_->Classify(io_.data(), n, &p).ok()) return 0;
    float* out = io_.data() + n;
    std::copy(p.logits.begin(), p.logits.end(), out);
    std::copy(p.probabilities.begin(), p.probabilities.end(), out + k);
    out[2 * k] = static_cast<float>(p.digit);
    out[2 * k + 1] = p.not_a_digit ? 1.0f : 0.0f;
    out[2 * k + 2] = p.unsure ? 1.0f : 0.0f;
    return 1;
  }

  val classify(const val& pixels) {
    if (!recognizer_) return ErrorObject(status_);
    const std::vector<float> input = emscripten::convertJSArrayToNumberVector<float>(pixels);
    Prediction p;
    const Status s = recognizer_->Classify(input.data(), input.size(), &p);
    if (!s.ok()) return ErrorObject(s);
    val out = val::object();
    out.set("digit", p.digit);
    out.set("not_a_digit", p.not_a_digit);
    out.set("unsure", p.unsure);
    out.set("probabilities", TypedCopy("Float32Array", p.probabilities));
    out.set("logits", TypedCopy("Float32Array", p.logits));
    return out;
  }

 private:
  val ToJs(const Recognition& result) const {
    JsResultWriter writer;
    WriteRecognition(result, recognizer_->network(), &writer);
    return writer.document();
  }

  Status status_;
  std::unique_ptr<Recognizer> recognizer_;
  std::vector<float> io_;  // classifyBuffer()'s region, allocated on first use
};

EMSCRIPTEN_BINDINGS(digits) {
  emscripten::class_<WasmRecognizer>("Recognizer")
      .constructor<const val&>()
      .function("error", &WasmRecognizer::error)
      .function("info", &WasmRecognizer::info)
      .function("recognize", &WasmRecognizer::recognize)
      .function("recognizeImage", &WasmRecognizer::recognizeImage)
      .function("classify", &WasmRecognizer::classify)
      .function("classifyBuffer", &WasmRecognizer::classifyBuffer)
      .function("classifyInPlace", &WasmRecognizer::classifyInPlace);
}

}  // namespace
}  // namespace digits
