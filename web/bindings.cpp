// Embind bindings: the core's Recognizer as a JS class. Inputs arrive as whole typed arrays and
// results leave as plain JS objects with typed-array copies: no per-pixel or per-point calls
// across the boundary. Nothing throws across it either: a failure comes back as {error: "..."}
// (or from error() after construction) and web/digits.js turns it into a JS exception.
#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <memory>
#include <string>
#include <vector>

#include "recognizer.h"

namespace digits {
namespace {

using emscripten::val;

val Float32Copy(const std::vector<float>& v) {
  return val::global("Float32Array")
      .new_(emscripten::typed_memory_view(v.size(), v.data()))
      .call<val>("slice");
}

val ErrorObject(const Status& s) {
  val out = val::object();
  out.set("error", s.message());
  return out;
}

class WasmRecognizer {
 public:
  // `model`: the model file's bytes (Uint8Array).
  explicit WasmRecognizer(const val& model) {
    const std::vector<uint8_t> bytes = emscripten::convertJSArrayToNumberVector<uint8_t>(model);
    status_ = Recognizer::Create(bytes.data(), bytes.size(), BackendKind::kBuiltin, &recognizer_);
  }

  // Empty when the model loaded; otherwise what is wrong with it.
  std::string error() const { return status_.message(); }

  val info() const {
    if (!recognizer_) return ErrorObject(status_);
    const Network& net = recognizer_->network();
    val out = val::object();
    out.set("parameters", static_cast<double>(net.parameter_count()));
    out.set("macs", static_cast<double>(net.mac_count()));
    out.set("inputHeight", net.input.height);
    out.set("inputWidth", net.input.width);
    out.set("classes", net.num_classes());
    out.set("backend", std::string(BackendName(recognizer_->backend())));
    return out;
  }

  // `pixels`: Float32Array of height*width values in [0, 1], 0 = background.
  val classify(const val& pixels) {
    if (!recognizer_) return ErrorObject(status_);
    input_ = emscripten::convertJSArrayToNumberVector<float>(pixels);
    Prediction p;
    const Status s = recognizer_->Classify(input_.data(), input_.size(), &p);
    if (!s.ok()) return ErrorObject(s);
    val out = val::object();
    out.set("digit", p.digit);
    out.set("unsure", p.unsure);
    out.set("probabilities", Float32Copy(p.probabilities));
    out.set("logits", Float32Copy(p.logits));
    return out;
  }

 private:
  Status status_;
  std::unique_ptr<Recognizer> recognizer_;
  std::vector<float> input_;
};

EMSCRIPTEN_BINDINGS(digits) {
  emscripten::class_<WasmRecognizer>("Recognizer")
      .constructor<const val&>()
      .function("error", &WasmRecognizer::error)
      .function("info", &WasmRecognizer::info)
      .function("classify", &WasmRecognizer::classify);
}

}  // namespace
}  // namespace digits
