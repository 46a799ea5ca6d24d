// `digits eval` on the MNIST test set (10,000 images, read from the .gz files): both backends give
// the same accuracy and the very same misclassified images.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

namespace {

using nlohmann::json;

// Runs a command, returns its stdout and exit status.
std::string RunCommand(const std::string& command, int* status) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (!p) {
    *status = -1;
    return out;
  }
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), p)) > 0) out.append(buffer, n);
  *status = pclose(p);
  return out;
}

json Eval(const std::string& model, const std::string& backend) {
  const std::string mnist = DIGITS_MNIST_DIR;
  const std::string command = std::string(DIGITS_CLI) + " eval --model " + model + " --images " +
                              mnist + "/t10k-images-idx3-ubyte.gz --labels " + mnist +
                              "/t10k-labels-idx1-ubyte.gz --backend " + backend + " --json";
  int status = 0;
  const std::string out = RunCommand(command, &status);
  EXPECT_EQ(status, 0) << command;
  return json::parse(out, nullptr, false);
}

TEST(CliEval, BothBackendsAgreeOnMnistTestSet) {
  const std::string model = DIGITS_TEST_DATA "/tiny.safetensors";
  const json xnnpack = Eval(model, "xnnpack");
  const json builtin = Eval(model, "builtin");
  ASSERT_TRUE(xnnpack.is_object());
  ASSERT_TRUE(builtin.is_object());
  EXPECT_EQ(xnnpack["backend"], "xnnpack");
  EXPECT_EQ(builtin["backend"], "builtin");
  EXPECT_EQ(xnnpack["count"], 10000);
  EXPECT_EQ(builtin["count"], 10000);
  EXPECT_EQ(xnnpack["accuracy"], builtin["accuracy"]);
  EXPECT_EQ(xnnpack["errors"], builtin["errors"]);
  EXPECT_EQ(xnnpack["error_indices"], builtin["error_indices"]);
  EXPECT_GT(xnnpack["ms_per_image"].get<double>(), 0.0);
  const double accuracy = xnnpack["accuracy"].get<double>();
  EXPECT_NEAR(accuracy, 1.0 - xnnpack["errors"].get<double>() / 10000.0, 1e-12);
}

TEST(CliEval, ReportsBadInputs) {
  int status = 0;
  const std::string cli = DIGITS_CLI;
  RunCommand(cli + " eval --model /nonexistent.safetensors --images x --labels y 2>/dev/null",
             &status);
  EXPECT_NE(status, 0);
  RunCommand(cli + " eval --model " DIGITS_TEST_DATA "/tiny.safetensors --images " DIGITS_TEST_DATA
                   "/tiny.safetensors --labels y 2>/dev/null",
             &status);
  EXPECT_NE(status, 0);
  RunCommand(cli + " eval --model " DIGITS_TEST_DATA
                   "/tiny.safetensors --images x --labels y "
                   "--backend gpu 2>/dev/null",
             &status);
  EXPECT_NE(status, 0);
}

}  // namespace
