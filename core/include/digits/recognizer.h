// Recognizer: the facade that the CLI, the web bindings, the server and the tests use. It owns the
// loaded network and one backend and takes a drawing (strokes) or an image to an answer:
// preprocess -> forward -> prediction (-> Grad-CAM), per digit; in number mode the strokes are
// first split into digits (segment.h).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "digits/backend.h"
#include "digits/gradcam.h"
#include "digits/network.h"
#include "digits/preprocess.h"
#include "digits/status.h"

namespace digits {

// What `Recognition::text` shows for an input that is not a digit.
constexpr const char* kNotADigitText = "?";

// At most this many alternatives are offered for a doubtful digit: a question a person answers in
// one tap ("1 or 7?") stays short.
constexpr int kMaxAlternatives = 3;

// How far a digit is to be trusted, from the model's calibrated thresholds (never a front end's).
enum class Doubt {
  kSure,       // a digit at or above the model's unsure_threshold
  kUnsure,     // a digit below it: ask which it is
  kNotADigit,  // a letter, a scribble, a shape (or, in a number, a stray mark)
};
const char* DoubtName(Doubt doubt);  // "sure", "unsure", "not_a_digit" (the result's words)

struct Prediction {
  int digit = -1;                    // the most likely digit (never the "not a digit" class)
  std::vector<float> probabilities;  // softmax of the logits, one per class (label)
  std::vector<float> logits;
  // The "not a digit" class's probability reached the model's not_a_digit_threshold (a letter, a
  // scribble, a shape), or, in number mode, a stray mark smaller than a digit both ways. `digit`
  // is still the best digit, for whoever wants a guess.
  bool not_a_digit = false;
  bool unsure = false;  // a digit, but its probability is below the model's unsure_threshold
  // The classes worth offering instead of the answer (the digit, or "not a digit" when
  // not_a_digit), best first; empty for a sure digit. For a doubtful one: the runner-ups until the
  // answer and they together reach the model's unsure_threshold, at least one, at most
  // kMaxAlternatives. Class indices into `probabilities` (the "not a digit" class among them).
  std::vector<int> alternatives;

  Doubt doubt() const {
    return not_a_digit ? Doubt::kNotADigit : unsure ? Doubt::kUnsure : Doubt::kSure;
  }
};

enum class Mode {
  kDigit,   // everything drawn is one digit
  kNumber,  // strokes are split into digits, read left to right
};

struct RecognizeOptions {
  Mode mode = Mode::kDigit;
  bool gradcam = false;
  int gradcam_class = -1;  // -1: each digit's predicted class
  // Another class to explain against ("why 7 and not 1"); -1: none. Where it is the class being
  // explained (e.g. a digit predicted as this class), that digit's map is the class's own.
  int gradcam_versus = -1;
  // Asked before each digit: true stops the recognition with an error (a server's per-request
  // budget spent, or its client gone). Unset: never stops.
  std::function<bool()> should_stop;
};

struct DigitResult {
  Prediction prediction;
  Box box;                   // the digit's ink in canvas (or image) coordinates
  InputMap map;              // canvas (or image) -> model input grid
  std::vector<float> input;  // what the model saw: size x size pixels in [0, 1]
  GradCam gradcam;           // empty unless asked for
  std::vector<int> strokes;  // indices of this digit's strokes (strokes input only)
};

struct Recognition {
  bool empty = true;  // nothing drawn / no ink: `digits` is empty
  std::string text;   // the digits' labels, left to right; "?" for what is not a digit
  std::vector<DigitResult> digits;
};

class Recognizer {
 public:
  // Loads a model file's bytes and creates the backend. On error `out` is unchanged.
  static Status Create(const uint8_t* model, size_t size, BackendKind backend,
                       std::unique_ptr<Recognizer>* out);
  static Status CreateFromFile(const std::string& path, BackendKind backend,
                               std::unique_ptr<Recognizer>* out);

  const Network& network() const { return *network_; }
  BackendKind backend() const { return backend_->kind(); }
  // The model's input geometry for preprocessing (28x28 with a 20x20 box for MNIST models).
  InputGeometry geometry() const;

  // Classifies an input that is already MNIST-like: network().input.size() pixels in [0, 1],
  // row-major, 0 = background. Fails on a wrong size or a non-finite pixel.
  Status Classify(const float* pixels, size_t count, Prediction* out);

  // A drawing: validated (limits, finite coordinates), preprocessed, classified.
  Status RecognizeStrokes(const std::vector<Stroke>& strokes, const RecognizeOptions& options,
                          Recognition* out);
  // An image (one digit).
  Status RecognizeImage(const ImageView& image, const RecognizeOptions& options, Recognition* out);

 private:
  Recognizer() = default;
  Status CheckOptions(const RecognizeOptions& options) const;
  Prediction MakePrediction(const std::vector<float>& logits) const;
  // Fills p->alternatives from its doubt and probabilities (after the doubt is settled).
  void OfferAlternatives(Prediction* p) const;
  std::string TextOf(const Prediction& p) const;
  // Classifies `digit.input` and fills the rest of `digit` (Grad-CAM if asked).
  Status Finish(const RecognizeOptions& options, DigitResult* digit);

  std::unique_ptr<Network> network_;  // heap-allocated: the backend keeps a reference
  std::unique_ptr<Backend> backend_;
  ForwardOutput forward_;  // reused between calls
};

}  // namespace digits
