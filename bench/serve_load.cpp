// Bounded load on a running `digits serve` (loopback only): N clients send M requests in total,
// alternating a strokes JSON and a PNG, and report throughput and latency percentiles as JSON.
// It stops by itself after M requests; every non-200 answer or transport failure is an error.
//   serve_load --port P [--clients 8] [--requests 5000] --strokes FILE.json --png FILE.png
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

int main(int argc, char** argv) {
  CLI::App app{"Bounded load test of digits serve on 127.0.0.1"};
  int port = 0, clients = 8, requests = 5000;
  std::string strokes_path, png_path;
  app.add_option("--port", port, "Server port on 127.0.0.1")->required();
  app.add_option("--clients", clients, "Concurrent clients")->capture_default_str();
  app.add_option("--requests", requests, "Requests in total")->capture_default_str();
  app.add_option("--strokes", strokes_path, "Strokes JSON body")->required();
  app.add_option("--png", png_path, "PNG body")->required();
  CLI11_PARSE(app, argc, argv);
  if (clients < 1 || clients > 64 || requests < 1 || requests > 1000000) {
    std::fprintf(stderr, "serve_load: clients must be 1..64, requests 1..1000000\n");
    return 2;
  }
  auto slurp = [](const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
  };
  const std::string strokes = slurp(strokes_path), png = slurp(png_path);

  std::atomic<int> next{0}, errors{0};
  std::mutex mutex;
  std::vector<double> latencies_ms;
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&] {
      httplib::Client client("127.0.0.1", port);  // loopback only, keep-alive
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);
      std::vector<double> mine;
      for (int i; (i = next++) < requests;) {
        const auto t0 = std::chrono::steady_clock::now();
        auto res = i % 2 ? client.Post("/predict", png, "image/png")
                         : client.Post("/predict", strokes, "application/json");
        mine.push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                .count());
        if (!res || res->status != 200) ++errors;
      }
      std::lock_guard<std::mutex> lock(mutex);
      latencies_ms.insert(latencies_ms.end(), mine.begin(), mine.end());
    });
  }
  for (std::thread& t : threads) t.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::sort(latencies_ms.begin(), latencies_ms.end());
  auto percentile = [&](double p) {
    return latencies_ms[std::min(latencies_ms.size() - 1,
                                 static_cast<size_t>(p * latencies_ms.size()))];
  };
  const nlohmann::json out = {{"clients", clients},
                              {"requests", requests},
                              {"errors", errors.load()},
                              {"seconds", seconds},
                              {"requests_per_second", requests / seconds},
                              {"p50_ms", percentile(0.50)},
                              {"p99_ms", percentile(0.99)},
                              {"max_ms", latencies_ms.back()}};
  std::printf("%s\n", out.dump().c_str());
  return errors.load() == 0 ? 0 : 1;
}
