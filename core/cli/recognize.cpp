// digits recognize: one drawing (strokes JSON) or one image (PNG/JPEG) -> the digits, optionally
// with the Grad-CAM heatmap over the drawing as a PNG.
#include <cstdio>
#include <memory>
#include <string>

#include "commands.h"
#include "digits/file.h"
#include "digits/recognizer.h"
#include "image_io.h"
#include "json_io.h"
#include "overlay.h"

namespace digits::cli {
namespace {

constexpr size_t kMaxStrokesFileBytes = 16u << 20;

struct RecognizeArgs {
  std::string model, strokes, image, gradcam_png, backend = BackendName(DefaultBackend());
  bool number = false, json = false;
  int gradcam_class = -1, gradcam_versus = -1;
};

int RunRecognize(const RecognizeArgs& args) {
  auto fail = [](const Status& s) {
    std::fprintf(stderr, "digits recognize: %s\n", s.message().c_str());
    return 1;
  };
  if (args.strokes.empty() == args.image.empty()) {
    return fail(Status::Error("give exactly one of --strokes FILE.json or --image FILE.png"));
  }
  std::unique_ptr<Recognizer> recognizer;
  Status s = OpenRecognizer(args.model, args.backend, &recognizer);
  if (!s.ok()) return fail(s);

  RecognizeOptions options;
  options.mode = args.number ? Mode::kNumber : Mode::kDigit;
  options.gradcam =
      !args.gradcam_png.empty() || args.gradcam_class >= 0 || args.gradcam_versus >= 0;
  options.gradcam_class = args.gradcam_class;
  options.gradcam_versus = args.gradcam_versus;
  Recognition result;
  std::vector<Stroke> strokes;
  Image image;
  if (!args.strokes.empty()) {
    std::vector<uint8_t> bytes;
    if (!(s = ReadFile(args.strokes, kMaxStrokesFileBytes, &bytes)).ok()) return fail(s);
    s = ParseStrokesJson(std::string(bytes.begin(), bytes.end()), &strokes);
    if (!s.ok()) return fail(s.Context(args.strokes + ": "));
    s = recognizer->RecognizeStrokes(strokes, options, &result);
  } else {
    if (!(s = ReadImageFile(args.image, &image)).ok()) return fail(s);
    s = recognizer->RecognizeImage(image.view(), options, &result);
  }
  if (!s.ok()) return fail(s);

  if (!args.gradcam_png.empty()) {
    const Image overlay = args.strokes.empty() ? RenderImageOverlay(image, result)
                                               : RenderStrokesOverlay(strokes, result, 560);
    if (!(s = WritePngFile(args.gradcam_png, overlay)).ok()) return fail(s);
  }
  if (args.json) {
    std::printf("%s\n", RecognitionToJson(result, recognizer->network()).dump().c_str());
  } else if (result.empty) {
    std::printf("nothing drawn\n");
  } else {
    std::printf("%s\n", result.text.c_str());
    for (const DigitResult& d : result.digits) {
      const Prediction& p = d.prediction;
      std::string flag = p.not_a_digit ? "  (not a digit" : p.unsure ? "  (unsure" : "";
      for (size_t i = 0; i < p.alternatives.size(); ++i) {
        const int c = p.alternatives[i];
        char probability[32];
        std::snprintf(probability, sizeof probability, " p=%.3f", p.probabilities[c]);
        flag += (i == 0 ? "; or " : ", ") + recognizer->network().labels[c] + probability;
      }
      if (!flag.empty()) flag += ")";
      std::printf("  %s  p=%.3f%s  box [%.1f, %.1f, %.1f, %.1f]\n",
                  recognizer->network().labels[p.digit].c_str(), p.probabilities[p.digit],
                  flag.c_str(), d.box.x0, d.box.y0, d.box.x1, d.box.y1);
    }
  }
  return 0;
}

}  // namespace

void AddRecognizeCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<RecognizeArgs>();
  CLI::App* cmd = app.add_subcommand("recognize", "Read the digits of a drawing or an image");
  cmd->add_option("--model", args->model, "Model file (.safetensors)")->required();
  cmd->add_option("--strokes", args->strokes, "Strokes JSON: {\"strokes\": [[[x, y], ...], ...]}");
  cmd->add_option("--image", args->image, "PNG or JPEG image of one digit");
  cmd->add_flag("--number", args->number, "Several digits: split the strokes, read left to right");
  cmd->add_option("--gradcam", args->gradcam_png,
                  "Write the Grad-CAM heatmap over the input (PNG)");
  cmd->add_option("--class", args->gradcam_class, "Grad-CAM for this class (default: predicted)");
  cmd->add_option("--versus", args->gradcam_versus,
                  "Grad-CAM of the class against this one: what speaks for it and not for N");
  cmd->add_option("--backend", args->backend,
                  "xnnpack or builtin (default: the best this build has)")
      ->capture_default_str();
  cmd->add_flag("--json", args->json, "Print one JSON object");
  cmd->callback([args, exit_code] { *exit_code = RunRecognize(*args); });
}

}  // namespace digits::cli
