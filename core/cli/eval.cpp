// digits eval: accuracy of a model on an idx image/label set (e.g. the MNIST test set).
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "mnist.h"
#include "recognizer.h"

namespace digits::cli {
namespace {

struct EvalArgs {
  std::string model, images, labels, backend = "xnnpack";
  bool json = false;
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
  if (images.height != in.height || images.width != in.width || in.channels != 1) {
    return fail(Status::Errorf("images are %dx%d, the model needs %dx%dx%d", images.height,
                               images.width, in.height, in.width, in.channels));
  }
  const int count = args.limit > 0 && args.limit < images.count ? args.limit : images.count;
  const size_t n = in.size();
  std::vector<float> pixels(n);
  std::vector<int> errors;
  Prediction p;
  double seconds = 0.0;
  for (int i = 0; i < count; ++i) {
    const uint8_t* src = &images.pixels[static_cast<size_t>(i) * n];
    for (size_t j = 0; j < n; ++j) pixels[j] = src[j] / 255.0f;
    const auto start = std::chrono::steady_clock::now();
    s = recognizer->Classify(pixels.data(), n, &p);
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!s.ok()) return fail(s);
    if (p.digit != labels[i]) errors.push_back(i);
  }
  const double accuracy = count ? 1.0 - static_cast<double>(errors.size()) / count : 0.0;
  const double ms_per_image = count ? 1000.0 * seconds / count : 0.0;
  if (args.json) {
    nlohmann::json out = {
        {"accuracy", accuracy},         {"count", count},
        {"errors", errors.size()},      {"backend", BackendName(recognizer->backend())},
        {"ms_per_image", ms_per_image}, {"error_indices", errors}};
    std::printf("%s\n", out.dump().c_str());
  } else {
    std::printf("backend:      %s\n", BackendName(recognizer->backend()));
    std::printf("images:       %d\n", count);
    std::printf("errors:       %zu\n", errors.size());
    std::printf("accuracy:     %.2f%%\n", 100.0 * accuracy);
    std::printf("ms per image: %.4f (inference only)\n", ms_per_image);
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
  cmd->add_option("--backend", args->backend, "xnnpack or builtin")->capture_default_str();
  cmd->add_option("--limit", args->limit, "Evaluate only the first N images");
  cmd->add_flag("--json", args->json, "Print one JSON object");
  cmd->callback([args, exit_code] { *exit_code = RunEval(*args); });
}

}  // namespace digits::cli
