// Native benchmarks of the core (Google Benchmark), batch 1, on the shipped model:
//   forward per backend (XNNPACK, built-in), of the float model and of its int8 twin
//   (MODEL_int8.safetensors beside it), and a deliberately naive forward (plain loops,
//   kernels::ReferenceLayer) measured in the same run, so results read as ratios;
//   preprocess (strokes -> 28x28), Grad-CAM, and the whole recognize with and without Grad-CAM.
// Counters: MACs per forward pass and the achieved GFLOP/s (2 FLOP per multiply-add).
//   build/native/bench_core [--benchmark_filter=...] [--model FILE]
#include <benchmark/benchmark.h>

#include <cstring>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "digits/file.h"
#include "digits/gradcam.h"
#include "digits/recognizer.h"
#include "kernels.h"
#include "mnist.h"
#include "segment.h"

#include "../tests/adversarial_drawings.h"

namespace digits {
namespace {

std::string g_model = DIGITS_MODEL_DIR "/digits.safetensors";

// The int8 twin of a model file: digits.safetensors -> digits_int8.safetensors.
std::string Int8Model() {
  return g_model.substr(0, g_model.rfind(".safetensors")) + "_int8.safetensors";
}

struct Fixture {
  std::unique_ptr<Recognizer> xnnpack, builtin;
  std::unique_ptr<Recognizer> xnnpack_int8, builtin_int8;  // null without an int8 twin
  std::vector<float> pixels;                               // MNIST test image 0, in [0, 1]
  std::vector<Stroke> strokes;                             // stroke fixture digit 0
};

Fixture& Get() {
  static Fixture* f = [] {
    auto* fx = new Fixture();
    Status s = Recognizer::CreateFromFile(g_model, BackendKind::kXnnpack, &fx->xnnpack);
    if (s.ok()) s = Recognizer::CreateFromFile(g_model, BackendKind::kBuiltin, &fx->builtin);
    if (s.ok() && std::ifstream(Int8Model()).good()) {
      s = Recognizer::CreateFromFile(Int8Model(), BackendKind::kXnnpack, &fx->xnnpack_int8);
      if (s.ok()) {
        s = Recognizer::CreateFromFile(Int8Model(), BackendKind::kBuiltin, &fx->builtin_int8);
      }
    }
    MnistImages m;
    if (s.ok()) s = ReadMnistImages(DIGITS_MNIST_DIR "/t10k-images-idx3-ubyte.gz", &m);
    if (!s.ok()) {
      std::fprintf(stderr, "bench_core: %s\n", s.message().c_str());
      std::exit(1);
    }
    for (int i = 0; i < 784; ++i) fx->pixels.push_back(m.pixels[i] / 255.0f);
    std::ifstream f(DIGITS_TEST_DATA "/strokes/mnist_test_strokes.json");
    const nlohmann::json j = nlohmann::json::parse(f, nullptr, false);
    for (const auto& stroke : j["digits"][0]["strokes"]) {
      Stroke points;
      for (const auto& p : stroke) points.push_back({p[0].get<float>(), p[1].get<float>()});
      fx->strokes.push_back(points);
    }
    return fx;
  }();
  return *f;
}

void SetFlops(benchmark::State& state, const Network& net) {
  const double macs = static_cast<double>(net.mac_count());
  state.counters["MACs"] = macs;
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * macs * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}

void BM_ForwardXnnpack(benchmark::State& state) {
  Fixture& f = Get();
  Prediction p;
  for (auto _ : state) {
    f.xnnpack->Classify(f.pixels.data(), f.pixels.size(), &p);
    benchmark::DoNotOptimize(p.digit);
  }
  SetFlops(state, f.xnnpack->network());
}

void BM_ForwardBuiltin(benchmark::State& state) {
  Fixture& f = Get();
  Prediction p;
  for (auto _ : state) {
    f.builtin->Classify(f.pixels.data(), f.pixels.size(), &p);
    benchmark::DoNotOptimize(p.digit);
  }
  SetFlops(state, f.builtin->network());
}

void ForwardInt8(benchmark::State& state, Recognizer* r) {
  if (!r) {
    state.SkipWithError(("no int8 model " + Int8Model()).c_str());
    return;
  }
  Fixture& f = Get();
  Prediction p;
  for (auto _ : state) {
    r->Classify(f.pixels.data(), f.pixels.size(), &p);
    benchmark::DoNotOptimize(p.digit);
  }
  SetFlops(state, r->network());
}
void BM_ForwardXnnpackInt8(benchmark::State& s) {
  ForwardInt8(s, Get().xnnpack_int8.get());
}
void BM_ForwardBuiltinInt8(benchmark::State& s) {
  ForwardInt8(s, Get().builtin_int8.get());
}

// The baseline: every layer with plain loops (no im2col, no packing, no vectors by hand).
void BM_ForwardNaive(benchmark::State& state) {
  Fixture& f = Get();
  const Network& net = f.builtin->network();
  std::vector<float> x, y;
  for (auto _ : state) {
    x.resize(f.pixels.size());
    for (size_t i = 0; i < x.size(); ++i) x[i] = (f.pixels[i] - net.input_mean) / net.input_std;
    for (int l = 0; l <= net.logits_layer; ++l) {
      kernels::ReferenceLayer(net.layers[l], x, &y);
      x.swap(y);
    }
    benchmark::DoNotOptimize(x.data());
  }
  SetFlops(state, net);
}

void BM_Preprocess(benchmark::State& state) {
  Fixture& f = Get();
  const InputGeometry g = f.builtin->geometry();
  Preprocessed pre;
  for (auto _ : state) {
    PreprocessStrokes(f.strokes, g, &pre);
    benchmark::DoNotOptimize(pre.pixels.data());
  }
}

void BM_GradCam(benchmark::State& state) {
  Fixture& f = Get();
  const Network& net = f.builtin->network();
  std::unique_ptr<Backend> backend;
  CreateBackend(net, BackendKind::kBuiltin, &backend);
  ForwardOutput out;
  backend->Forward(f.pixels.data(), true, &out);
  GradCam cam;
  for (auto _ : state) {
    ComputeGradCam(net, out.gradcam_activations, 7, &cam);
    benchmark::DoNotOptimize(cam.map.data());
  }
}

// Model load (parse, validate, F16 -> F32, weight packing and Winograd transforms), the core's
// share of a cold start: the F32 file is the baseline, the F16 file is what the site ships.
void LoadModel(benchmark::State& state, const std::string& path, BackendKind backend) {
  std::vector<uint8_t> bytes;
  const Status read = ReadFile(path, kMaxModelBytes, &bytes);
  if (!read.ok()) {
    state.SkipWithError(read.message().c_str());
    return;
  }
  std::unique_ptr<Recognizer> r;
  for (auto _ : state) {
    const Status s = Recognizer::Create(bytes.data(), bytes.size(), backend, &r);
    if (!s.ok()) {
      state.SkipWithError(s.message().c_str());
      break;
    }
    benchmark::DoNotOptimize(r.get());
  }
  state.counters["bytes"] = static_cast<double>(bytes.size());
}
void BM_LoadModelBuiltin(benchmark::State& s) {
  LoadModel(s, g_model, BackendKind::kBuiltin);
}
void BM_LoadModelF16Builtin(benchmark::State& s) {
  const std::string f16 = g_model.substr(0, g_model.rfind(".safetensors")) + "_f16.safetensors";
  LoadModel(s, f16, BackendKind::kBuiltin);
}

void BM_LoadModelInt8Builtin(benchmark::State& s) {
  LoadModel(s, Int8Model(), BackendKind::kBuiltin);
}

void Recognize(benchmark::State& state, Recognizer* r, bool gradcam) {
  Fixture& f = Get();
  RecognizeOptions options;
  options.gradcam = gradcam;
  Recognition result;
  for (auto _ : state) {
    r->RecognizeStrokes(f.strokes, options, &result);
    benchmark::DoNotOptimize(result.digits.data());
  }
}
void BM_RecognizeBuiltin(benchmark::State& s) {
  Recognize(s, Get().builtin.get(), false);
}
void BM_RecognizeBuiltinGradCam(benchmark::State& s) {
  Recognize(s, Get().builtin.get(), true);
}
void BM_RecognizeXnnpack(benchmark::State& s) {
  Recognize(s, Get().xnnpack.get(), false);
}
void BM_RecognizeXnnpackGradCam(benchmark::State& s) {
  Recognize(s, Get().xnnpack.get(), true);
}

// Number mode's split on the drawings built to make it slow (tests/adversarial_drawings.h, one
// per argument): the target is <= 50 ms each; the whole number-mode recognition beside it.
void BM_SplitAdversarial(benchmark::State& state) {
  const test::AdversarialDrawing d = test::AdversarialDrawings()[state.range(0)];
  state.SetLabel(d.name);
  for (auto _ : state) {
    std::vector<std::vector<int>> groups;
    SplitIntoDigits(d.strokes, &groups);
    benchmark::DoNotOptimize(groups.data());
  }
}
// What each costs to read, or to refuse: more separate marks than number mode reads (1,000 far
// apart) are refused after the split, before any is classified.
void BM_RecognizeNumberAdversarial(benchmark::State& state) {
  const test::AdversarialDrawing d = test::AdversarialDrawings()[state.range(0)];
  RecognizeOptions options;
  options.mode = Mode::kNumber;
  Recognition result;
  bool refused = false;
  for (auto _ : state) {
    refused = !Get().xnnpack->RecognizeStrokes(d.strokes, options, &result).ok();
    benchmark::DoNotOptimize(result.digits.data());
  }
  state.SetLabel(d.name + (refused ? " (refused)" : ""));
}

BENCHMARK(BM_ForwardNaive);
BENCHMARK(BM_ForwardBuiltin);
BENCHMARK(BM_ForwardXnnpack);
BENCHMARK(BM_ForwardBuiltinInt8);
BENCHMARK(BM_ForwardXnnpackInt8);
BENCHMARK(BM_Preprocess);
BENCHMARK(BM_GradCam);
BENCHMARK(BM_RecognizeBuiltin);
BENCHMARK(BM_RecognizeBuiltinGradCam);
BENCHMARK(BM_RecognizeXnnpack);
BENCHMARK(BM_RecognizeXnnpackGradCam);
BENCHMARK(BM_LoadModelBuiltin);
BENCHMARK(BM_LoadModelF16Builtin);
BENCHMARK(BM_LoadModelInt8Builtin);
BENCHMARK(BM_SplitAdversarial)->DenseRange(0, 7)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RecognizeNumberAdversarial)->DenseRange(0, 7)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace digits

int main(int argc, char** argv) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--model") == 0) {
      digits::g_model = argv[i + 1];
      for (int j = i; j + 2 < argc + 1; ++j) argv[j] = argv[j + 2];
      argc -= 2;
      break;
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
