#include "digits/recognizer.h"

#include "digits/file.h"
#include "digits/limits.h"

#include <algorithm>
#include <cmath>

#include "segment.h"

namespace digits {

Status Recognizer::Create(const uint8_t* model, size_t size, BackendKind backend,
                          std::unique_ptr<Recognizer>* out) {
  std::unique_ptr<Recognizer> r(new Recognizer());
  r->network_ = std::make_unique<Network>();
  DIGITS_RETURN_IF_ERROR(LoadNetwork(model, size, r->network_.get()));
  const Shape& in = r->network_->input;
  if (in.channels != 1 || in.height != in.width) {
    return Status::Errorf(
        "the model's input is %dx%dx%d; a recognizer needs a square, one-channel "
        "image input",
        in.height, in.width, in.channels);
  }
  DIGITS_RETURN_IF_ERROR(CreateBackend(*r->network_, backend, &r->backend_));
  *out = std::move(r);
  return Status::Ok();
}

Status Recognizer::CreateFromFile(const std::string& path, BackendKind backend,
                                  std::unique_ptr<Recognizer>* out) {
  std::vector<uint8_t> bytes;
  DIGITS_RETURN_IF_ERROR(ReadFile(path, kMaxModelBytes, &bytes));
  return Create(bytes.data(), bytes.size(), backend, out).Context(path + ": ");
}

InputGeometry Recognizer::geometry() const {
  InputGeometry g;
  // MNIST's proportions (a 20-pixel box in a 28-pixel field) at the model's input size.
  g.size = network_->input.height;
  g.box = 20.0f * g.size / 28.0f;
  g.pen_width *= g.size / 28.0f;
  return g;
}

Prediction Recognizer::MakePrediction(const std::vector<float>& logits) const {
  Prediction p;
  p.logits = logits;
  p.probabilities = Softmax(logits);
  const int reject = network_->not_a_digit_class;
  for (int c = 0; c < static_cast<int>(p.probabilities.size()); ++c) {
    if (c != reject && (p.digit < 0 || p.probabilities[c] > p.probabilities[p.digit])) p.digit = c;
  }
  p.not_a_digit = reject >= 0 && p.probabilities[reject] >= network_->not_a_digit_threshold;
  p.unsure = !p.not_a_digit && p.probabilities[p.digit] < network_->unsure_threshold;
  OfferAlternatives(&p);
  return p;
}

void Recognizer::OfferAlternatives(Prediction* p) const {
  p->alternatives.clear();
  if (p->doubt() == Doubt::kSure) return;
  const std::vector<float>& prob = p->probabilities;
  const int classes = static_cast<int>(prob.size());
  // The answer being doubted: "not a digit" (when the model has that class) or the digit.
  const int answer = p->not_a_digit ? network_->not_a_digit_class : p->digit;
  // The smallest set that, with the answer, is as likely as a sure digit: the same calibrated
  // operating point that made the answer doubtful decides what is worth offering. Picked best
  // first (ties to the lower class, so every backend offers the same list); a few picks among a
  // few classes need no sort.
  std::vector<int>& offered = p->alternatives;
  float covered = answer >= 0 ? prob[answer] : 0.0f;
  while (static_cast<int>(offered.size()) < kMaxAlternatives &&
         (offered.empty() || covered < network_->unsure_threshold)) {
    int best = -1;
    for (int c = 0; c < classes; ++c) {
      const bool taken =
          c == answer || std::find(offered.begin(), offered.end(), c) != offered.end();
      if (!taken && (best < 0 || prob[c] > prob[best])) best = c;
    }
    if (best < 0) break;  // no class left
    offered.push_back(best);
    covered += prob[best];
  }
}

const char* DoubtName(Doubt doubt) {
  switch (doubt) {
    case Doubt::kSure:
      return "sure";
    case Doubt::kUnsure:
      return "unsure";
    case Doubt::kNotADigit:
      return "not_a_digit";
  }
  return "sure";
}

std::string Recognizer::TextOf(const Prediction& p) const {
  return p.not_a_digit ? std::string(kNotADigitText) : network_->labels[p.digit];
}

Status Recognizer::Classify(const float* pixels, size_t count, Prediction* out) {
  const Shape& in = network_->input;
  if (count != static_cast<size_t>(in.size())) {
    return Status::Errorf("input has %zu values, the model needs %dx%dx%d = %d", count, in.height,
                          in.width, in.channels, in.size());
  }
  for (size_t i = 0; i < count; ++i) {
    if (!std::isfinite(pixels[i])) {
      return Status::Errorf("input pixel %zu is not a finite number", i);
    }
  }
  DIGITS_RETURN_IF_ERROR(backend_->Forward(pixels, /*keep_gradcam_activations=*/false, &forward_));
  *out = MakePrediction(forward_.logits);
  return Status::Ok();
}

Status Recognizer::CheckOptions(const RecognizeOptions& options) const {
  if (options.gradcam_class < -1 || options.gradcam_class >= network_->num_classes()) {
    return Status::Errorf("Grad-CAM class %d is out of range (0..%d, or -1 for the prediction)",
                          options.gradcam_class, network_->num_classes() - 1);
  }
  if (options.gradcam_versus < -1 || options.gradcam_versus >= network_->num_classes()) {
    return Status::Errorf("Grad-CAM versus class %d is out of range (0..%d, or -1 for none)",
                          options.gradcam_versus, network_->num_classes() - 1);
  }
  if (options.gradcam_versus >= 0 && options.gradcam_versus == options.gradcam_class) {
    return Status::Errorf("Grad-CAM: class %d cannot be compared with itself",
                          options.gradcam_class);
  }
  return Status::Ok();
}

Status Recognizer::Finish(const RecognizeOptions& options, DigitResult* digit) {
  DIGITS_RETURN_IF_ERROR(backend_->Forward(digit->input.data(), options.gradcam, &forward_));
  digit->prediction = MakePrediction(forward_.logits);
  if (options.gradcam) {
    const int target = options.gradcam_class >= 0 ? options.gradcam_class : digit->prediction.digit;
    const int versus = options.gradcam_versus != target ? options.gradcam_versus : -1;
    DIGITS_RETURN_IF_ERROR(
        ComputeGradCam(*network_, forward_.gradcam_activations, target, versus, &digit->gradcam));
    ApplyToInput(digit->input, network_->input.height, &digit->gradcam);
  }
  return Status::Ok();
}

Status Recognizer::RecognizeStrokes(const std::vector<Stroke>& strokes,
                                    const RecognizeOptions& options, Recognition* out) {
  DIGITS_RETURN_IF_ERROR(CheckOptions(options));
  std::vector<std::vector<int>> groups;
  if (options.mode == Mode::kNumber) {
    DIGITS_RETURN_IF_ERROR(SplitIntoDigits(strokes, &groups));  // validates the drawing first
    DIGITS_RETURN_IF_ERROR(CheckNumberMarks(groups.size()));
  } else {
    DIGITS_RETURN_IF_ERROR(ValidateStrokes(strokes));
    groups.emplace_back();
    for (size_t s = 0; s < strokes.size(); ++s) {
      if (!strokes[s].empty()) groups[0].push_back(static_cast<int>(s));
    }
  }
  const InputGeometry geometry = this->geometry();
  // In a number, a group smaller than a digit both ways is a stray mark (the split leaves marks
  // apart that are far from every digit): not a digit, whatever the network would make of it
  // once it is scaled up to a digit's size. (One group, as in digit mode, has nothing to compare.)
  float small = 0.0f;
  if (groups.size() > 1) {
    const Box all = StrokesBox(strokes);
    small = kSmallPiece * (all.y1 - all.y0);
  }
  Recognition result;
  std::vector<Stroke> group_strokes;
  for (const std::vector<int>& group : groups) {
    if (options.should_stop && options.should_stop()) return Status::Error("recognition stopped");
    group_strokes.clear();
    for (int s : group) group_strokes.push_back(strokes[s]);
    Preprocessed pre;
    DIGITS_RETURN_IF_ERROR(PreprocessStrokes(group_strokes, geometry, &pre));
    if (pre.empty) continue;  // e.g. a lone dot
    DigitResult digit;
    digit.box = pre.box;
    digit.map = pre.map;
    digit.input = std::move(pre.pixels);
    digit.strokes = group;
    DIGITS_RETURN_IF_ERROR(Finish(options, &digit));
    if (pre.box.y1 - pre.box.y0 < small && pre.box.x1 - pre.box.x0 < small) {
      digit.prediction.not_a_digit = true;
      digit.prediction.unsure = false;
      OfferAlternatives(&digit.prediction);
    }
    result.text += TextOf(digit.prediction);
    result.digits.push_back(std::move(digit));
  }
  result.empty = result.digits.empty();
  *out = std::move(result);
  return Status::Ok();
}

Status Recognizer::RecognizeImage(const ImageView& image, const RecognizeOptions& options,
                                  Recognition* out) {
  DIGITS_RETURN_IF_ERROR(CheckOptions(options));
  if (options.mode == Mode::kNumber) {
    return Status::Error("number mode needs strokes; an image is read as one digit");
  }
  Preprocessed pre;
  DIGITS_RETURN_IF_ERROR(PreprocessImage(image, geometry(), &pre));
  Recognition result;
  if (!pre.empty) {
    DigitResult digit;
    digit.box = pre.box;
    digit.map = pre.map;
    digit.input = std::move(pre.pixels);
    DIGITS_RETURN_IF_ERROR(Finish(options, &digit));
    result.text = TextOf(digit.prediction);
    result.digits.push_back(std::move(digit));
  }
  result.empty = result.digits.empty();
  *out = std::move(result);
  return Status::Ok();
}

}  // namespace digits
