// digits eval: accuracy of a model on an idx image/label set (e.g. the MNIST test set). Images go
// to the network as they are (MNIST-normalized already) or, with --preprocess, through the image
// path a photo or scan takes (CVL's scans: dark ink on paper, not normalized).
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "digits/recognizer.h"
#include "mnist.h"

namespace digits::cli {
namespace {

struct EvalArgs {
  std::string model, images, labels, backend = BackendName(DefaultBackend());
  bool json = false;
  bool preprocess = false;
  int limit = 0;
};

int RunEval(const EvalArgs& args) {
  auto fail = [](const Status& s) {
    std::fprintf(stderr, "digits eval: %s\n", s.message().c_str());
    return 1;
  };
  std::unique_ptr<Recognizer> recognizer;
  Status s = OpenRecognizer(args.model, args.backend, &recognizer);
  if (!s.ok()) return fail(s);
  MnistImages images;
  std::vector<uint8_t> labels;
  if (!(s = ReadMnistImages(args.images, &images)).ok()) return fail(s);
  if (!(s = ReadMnistLabels(args.labels, &labels)).ok()) return fail(s);
  if (static_cast<size_t>(images.count) != labels.size()) {
    return fail(Status::Errorf("%d images but %zu labels", images.count, labels.size()));
  }
  const Shape& in = recognizer->network().input;
  if (!args.preprocess &&
      (images.height != in.height || images.width != in.width || in.channels != 1)) {
    return fail(Status::Errorf("images are %dx%d, the model needs %dx%dx%d", images.height,
                               images.width, in.height, in.width, in.channels));
  }
  const int count = args.limit > 0 && args.limit < images.count ? args.limit : images.count;
  const size_t n = in.size();
  std::vector<float> pixels(n);
  const size_t image_bytes = static_cast<size_t>(images.height) * images.width;
  std::vector<int> errors;
  int not_a_digit = 0, unsure = 0;
  Prediction p;
  Recognition recognition;
  double seconds = 0.0;
  for (int i = 0; i < count; ++i) {
    const uint8_t* src = &images.pixels[static_cast<size_t>(i) * image_bytes];
    const auto start = std::chrono::steady_clock::now();
    if (args.preprocess) {
      const ImageView view{src, images.width, images.height, 1};
      s = recognizer->RecognizeImage(view, RecognizeOptions(), &recognition);
      p = recognition.empty ? Prediction() : recognition.digits[0].prediction;
    } else {
      for (size_t j = 0; j < n; ++j) pixels[j] = src[j] / 255.0f;
      s = recognizer->Classify(pixels.data(), n, &p);
    }
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!s.ok()) return fail(s);
    if (p.digit != labels[i]) errors.push_back(i);
    not_a_digit += p.not_a_digit;
    unsure += p.unsure;
  }
  const double accuracy = count ? 1.0 - static_cast<double>(errors.size()) / count : 0.0;
  const double ms_per_image = count ? 1000.0 * seconds / count : 0.0;
  if (args.json) {
    nlohmann::json out = {
        {"accuracy", accuracy},         {"count", count},
        {"errors", errors.size()},      {"backend", BackendName(recognizer->backend())},
        {"ms_per_image", ms_per_image}, {"error_indices", errors},
        {"not_a_digit", not_a_digit},   {"unsure", unsure}};
    std::printf("%s\n", out.dump().c_str());
  } else {
    std::printf("backend:      %s\n", BackendName(recognizer->backend()));
    std::printf("images:       %d\n", count);
    std::printf("errors:       %zu\n", errors.size());
    std::printf("accuracy:     %.2f%%\n", 100.0 * accuracy);
    std::printf("not a digit:  %d\n", not_a_digit);
    std::printf("unsure:       %d\n", unsure);
    std::printf("ms per image: %.4f (%s)\n", ms_per_image,
                args.preprocess ? "preprocessing and inference" : "inference only");
  }
  return 0;
}

}  // namespace

void AddEvalCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<EvalArgs>();
  CLI::App* cmd = app.add_subcommand("eval", "Accuracy of a model on an idx image/label set");
  cmd->add_option("--model", args->model, "Model file (.safetensors)")->required();
  cmd->add_option("--images", args->images, "idx image file, plain or .gz")->required();
  cmd->add_option("--labels", args->labels, "idx label file, plain or .gz")->required();
  cmd->add_option("--backend", args->backend,
                  "xnnpack or builtin (default: the best this build has)")
      ->capture_default_str();
  cmd->add_option("--limit", args->limit, "Evaluate only the first N images");
  cmd->add_flag("--preprocess", args->preprocess,
                "Read each image through the image path (any size, either polarity)");
  cmd->add_flag("--json", args->json, "Print one JSON object");
  cmd->callback([args, exit_code] { *exit_code = RunEval(*args); });
}

}  // namespace digits::cli
