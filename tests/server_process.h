// `digits serve` as a child process for the tests: on a free loopback port (read from its first
// log line), with a small site in the test's temp directory. Or its server in this process
// (Serving), for tests that give it a clock of their own.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "http_server.h"

namespace digits::test {

const std::string kModel = DIGITS_MODEL_DIR "/digits.safetensors";

// Starts `digits serve` on port 0 and reads the port it chose from its first log line.
class ServerProcess {
 public:
  explicit ServerProcess(const std::string& extra_args = "") {
    static int servers = 0;  // one log each: a test may run several servers at once
    log_ = ::testing::TempDir() + "digits_serve_" + std::to_string(getpid()) + "_" +
           std::to_string(servers++) + ".log";
    std::remove(log_.c_str());
    const std::string site = this->site();
    std::system(("mkdir -p " + site).c_str());
    std::ofstream(site + "/index.html") << "<!doctype html><title>digits</title>";
    std::ofstream(site + "/digits.wasm") << std::string("\0asm\1\0\0\0", 8);
    std::ofstream(site + "/app.js") << "export {};";
    pid_ = fork();
    if (pid_ == 0) {
      const std::string command = std::string("exec ") + DIGITS_CLI + " serve --model " + kModel +
                                  " --port 0 --site " + site + " " + extra_args + " 2>" + log_;
      execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 200 && port_ == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
      std::ifstream f(log_);
      std::string line;
      std::getline(f, line);
      const size_t at = line.find("http://127.0.0.1:");
      if (at != std::string::npos) port_ = std::atoi(line.c_str() + at + 17);
    }
  }
  ~ServerProcess() {
    if (pid_ > 0 && !stopped_) Stop();
  }
  // SIGTERM; returns the exit status.
  int Stop() {
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    stopped_ = true;
    return status;
  }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  bool alive() const { return pid_ > 0 && !stopped_ && waitpid(pid_, nullptr, WNOHANG) == 0; }
  // Resident memory of the server process, in KiB (VmRSS), or -1.
  long rss_kib() const {
    std::ifstream f("/proc/" + std::to_string(pid_) + "/status");
    std::string line;
    while (std::getline(f, line)) {
      if (line.compare(0, 6, "VmRSS:") == 0) return std::atol(line.c_str() + 6);
    }
    return -1;
  }
  static std::string site() { return ::testing::TempDir() + "digits_site"; }
  std::string log() const {
    std::ifstream f(log_);
    return std::string(std::istreambuf_iterator<char>(f), {});
  }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  bool stopped_ = false;
  std::string log_;
};

// Runs an HttpServer on its own thread until destroyed (also when an assertion ends a test).
class Serving {
 public:
  explicit Serving(HttpServer* server) : server_(server), thread_([server] { server->Run(); }) {}
  ~Serving() {
    server_->Stop();
    thread_.join();
  }

 private:
  HttpServer* server_;
  std::thread thread_;
};

}  // namespace digits::test
