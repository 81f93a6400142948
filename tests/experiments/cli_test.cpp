#include <gmock/gmock.h>

#include <sqlite3.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "sim/core/file_lock.h"
#include "sim/core/npy.h"
#include "sim/core/policy.h"
#include "sim/core/workload.h"
#include "sim/store/sweep_store.h"
#include "tests/test_support.h"

namespace qxbar {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using qxbar::testing::TempDir;
using qxbar::testing::read_text;
using qxbar::testing::source_path;

struct ProcessResult {
  int exit_code;
  std::string out;
  std::string err;
};

// Each test process gets its own cost cache, so no run sees another's entries, and removes it when it ends.
const std::filesystem::path& cache_home() {
  struct CacheHome {
    std::filesystem::path path = std::filesystem::temp_directory_path() / ("qxbar-cli-cache-" + std::to_string(::getpid()));
    ~CacheHome() { std::filesystem::remove_all(path); }
  };
  static const CacheHome home;
  return home.path;
}

// Runs the qxbar binary as a user would, capturing both streams.
ProcessResult qxbar(const std::string& arguments) {
  const std::string err_file = std::filesystem::temp_directory_path() / ("qxbar-cli-err-" + std::to_string(::getpid()));
  const std::string command =
      "XDG_CACHE_HOME=" + cache_home().string() + " " + std::string(QXBAR_BINARY) + " " + arguments + " 2>" + err_file;
  std::FILE* pipe = ::popen(command.c_str(), "r");
  std::string out;
  char buffer[4096];
  while (std::size_t read = std::fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, read);
  const int status = ::pclose(pipe);
  ProcessResult run{WIFEXITED(status) ? WEXITSTATUS(status) : -1, out, read_text(err_file)};
  std::filesystem::remove(err_file);
  return run;
}

void expect_one_line_error(const ProcessResult& run, const std::string& message) {
  EXPECT_EQ(run.exit_code, 2) << run.err;
  EXPECT_EQ(run.err, "qxbar: error: " + message + "\n");
}

TEST(Cli, HelpDescribesCommandsAndOptions) {
  const ProcessResult top = qxbar("--help");
  EXPECT_EQ(top.exit_code, 0);
  EXPECT_THAT(top.out, HasSubstr("sim"));
  EXPECT_THAT(top.out, HasSubstr("check-hw"));
  const ProcessResult sim = qxbar("sim --help");
  EXPECT_EQ(sim.exit_code, 0);
  for (const char* option : {"--hw", "--set", "--net", "--engine", "--bits", "--policy", "--table", "--max-bit",
                             "--csv", "--json", "--npy", "--pipeline", "--trace"}) {
    EXPECT_THAT(sim.out, HasSubstr(option));
  }
  EXPECT_EQ(qxbar("check-hw --help").exit_code, 0);
}

TEST(Cli, UsageMistakesExitWithTwo) {
  EXPECT_EQ(qxbar("").exit_code, 2);
  expect_one_line_error(qxbar("simulate"), "unknown command 'simulate' (see qxbar --help)");
  const ProcessResult unknown_option = qxbar("sim --colour");
  EXPECT_EQ(unknown_option.exit_code, 2);
  EXPECT_THAT(unknown_option.err, HasSubstr("unrecognised option '--colour'"));
  expect_one_line_error(qxbar("sim --npy t.npy"), "--npy t.npy: the lookup table needs --table");
  expect_one_line_error(qxbar("sim --bits 4,4 --table"), "sim: give at most one of --bits, --policy and --table");
  expect_one_line_error(qxbar("sim --bits 4"), "--bits: expected W,A such as 4,8, got '4'");
  expect_one_line_error(qxbar("sim --engine spice"), "--engine: unknown cost engine 'spice' (choose analytical or systemc)");
  expect_one_line_error(qxbar("sim --table --pipeline"),
                        "--pipeline and --trace price one policy with --engine systemc, not a --table");
}

TEST(Cli, BadChipInputNamesFileLineAndKey) {
  TempDir dir;
  const std::string chip = dir.write("chip.yaml", "crossbar:\n  rows: 128\n  colums: 64\n");
  expect_one_line_error(qxbar("sim --hw " + chip), chip + ":3:3: crossbar.colums: unknown key (did you mean crossbar.cols?)");
  expect_one_line_error(qxbar("check-hw " + chip), chip + ":3:3: crossbar.colums: unknown key (did you mean crossbar.cols?)");
  expect_one_line_error(qxbar("sim --set adc.bits=99"), "--set adc.bits=99: adc.bits: must be 1 to 16, got 99");
  expect_one_line_error(qxbar("sim --net " + dir.file("net.yaml")), "--net " + dir.file("net.yaml") + ": no such layer-dimension file");
  expect_one_line_error(qxbar("sim --net bogus"), "--net bogus: expected <network>-<dataset>, e.g. resnet18-imagenet or lenet5-fmnist");
}

TEST(Cli, CheckHwPrintsResolvedValuesWithUnitsAndOrigins) {
  const ProcessResult run = qxbar("check-hw cimaq_default --set crossbar.cell_bits=2");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("crossbar.cell_bits"));
  EXPECT_THAT(run.out, HasSubstr("--set crossbar.cell_bits=2"));
  EXPECT_THAT(run.out, HasSubstr("crossbar.read_time_ns                      1392                   ns"));
  EXPECT_THAT(run.out, HasSubstr("fingerprint"));
}

TEST(Cli, TableWritesCimaqLookupTableCsvAndJson) {
  TempDir dir;
  const ProcessResult run = qxbar("sim --hw cimaq_default --net resnet18-imagenet --table --npy " + dir.file("lut.npy") +
                        " --csv " + dir.file("lut.csv") + " --json " + dir.file("lut.json"));
  ASSERT_EQ(run.exit_code, 0) << run.err;

  const NpyArray lut = read_npy(dir.file("lut.npy"));
  ASSERT_EQ(lut.shape, (std::vector<std::size_t>{21, 8, 8}));
  EXPECT_DOUBLE_EQ(lut.values[7 * 8 + 7], 140548.8);  // conv1, w = a = 8, in us
  EXPECT_LT(lut.values[0], lut.values[7 * 8 + 7]);

  const std::string csv = read_text(dir.file("lut.csv"));
  EXPECT_THAT(csv, StartsWith("layer,name,w_bits,a_bits,latency_ns,energy_pj,"));
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 1 + 21 * 64);
  EXPECT_THAT(csv, HasSubstr("\n0,conv1,8,8,140548800,"));

  const auto json = nlohmann::json::parse(read_text(dir.file("lut.json")));
  EXPECT_EQ(json["layers"].size(), 21u * 64u);
  EXPECT_EQ(json["chip"]["crossbars_on_chip"], 1);
}

TEST(Cli, PolicyFilesInBothFormatsGiveTheSameTotals) {
  TempDir dir;
  const ProcessResult uniform = qxbar("sim --net lenet5-fmnist --bits 4,6 --json " + dir.file("uniform.json"));
  ASSERT_EQ(uniform.exit_code, 0) << uniform.err;
  dir.write("p.yaml", "layers:\n  conv1: {w_bits: 4, a_bits: 6}\n  conv2: {w_bits: 4, a_bits: 6}\n"
                      "  fc1: {w_bits: 4, a_bits: 6}\n  fc2: {w_bits: 4, a_bits: 6}\n  fc3: {w_bits: 4, a_bits: 6}\n");
  dir.write("p.npy", policy_npy_bytes(Policy{std::vector<Bits>(5, Bits{4, 6})}));
  const double expected = nlohmann::json::parse(read_text(dir.file("uniform.json")))["total"]["latency_ns"];
  for (const char* file : {"p.yaml", "p.npy"}) {
    const std::string json_path = dir.file(std::string(file) + ".json");
    const ProcessResult run = qxbar("sim --net lenet5-fmnist --policy " + dir.file(file) + " --json " + json_path);
    ASSERT_EQ(run.exit_code, 0) << run.err;
    const auto json = nlohmann::json::parse(read_text(json_path));
    EXPECT_DOUBLE_EQ(json["total"]["latency_ns"].get<double>(), expected) << file;
    EXPECT_EQ(json["policy"], "4/6;4/6;4/6;4/6;4/6");
  }
  dir.write("short.npy", policy_npy_bytes(Policy{std::vector<Bits>(3, Bits{4, 6})}));
  expect_one_line_error(qxbar("sim --net lenet5-fmnist --policy " + dir.file("short.npy")),
                        dir.file("short.npy") + ": policy has 3 layers, lenet5-fmnist has 5");
}

TEST(Cli, SecondRunIsServedFromTheCostCache) {
  TempDir dir;
  const std::string base = "-v sim --hw isaac --net lenet5-fmnist --bits 4,4 --cache " + dir.file("costs.sqlite");
  const ProcessResult first = qxbar(base + " --json " + dir.file("first.json"));
  const ProcessResult second = qxbar(base + " --json " + dir.file("second.json"));
  ASSERT_EQ(first.exit_code, 0) << first.err;
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_THAT(first.err, HasSubstr("0 hits, 5 layers priced"));
  EXPECT_THAT(second.err, HasSubstr("5 hits, 0 layers priced"));
  EXPECT_EQ(read_text(dir.file("first.json")), read_text(dir.file("second.json")));
}

TEST(Cli, PipelineReportsWholeNetworkLatency) {
  TempDir dir;
  const ProcessResult run = qxbar("sim --hw isaac --net resnet18-imagenet --bits 4,4 --pipeline --json " + dir.file("p.json"));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto total = nlohmann::json::parse(read_text(dir.file("p.json")))["total"];
  EXPECT_LT(total["pipelined_latency_ns"].get<double>(), total["latency_ns"].get<double>());
  expect_one_line_error(qxbar("sim --hw cimaq_default --net lenet5-fmnist --pipeline"),
                        "pipelined simulation needs weights.residency: stationary (the chip cimaq-default reprograms "
                        "every layer)");
}

TEST(Cli, TrainWritesCheckpointMetricsAndPolicyAndEvalAgrees) {
  TempDir dir;
  const std::string run = dir.file("run");
  const ProcessResult trained = qxbar("train --net lenet5 --data synthetic --epochs 1 --val-size 200 --bits 6,6 --threads 1 --out " + run);
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  const auto metrics = nlohmann::json::parse(read_text(run + "/metrics.json"));
  EXPECT_EQ(metrics["epochs"], 1);
  EXPECT_EQ(metrics["policy"], "6/6;6/6;6/6;6/6;6/6");
  const double accuracy = metrics["test_accuracy"];
  EXPECT_GE(accuracy, 0.0);
  EXPECT_LE(accuracy, 1.0);
  EXPECT_THAT(read_text(run + "/policy.yaml"), HasSubstr("conv2: {w_bits: 6, a_bits: 6}"));
  EXPECT_EQ(read_npy(run + "/policy.npy").values, std::vector<double>(10, 6.0));

  const ProcessResult evaluated = qxbar("eval --ckpt " + run + "/model.pt --data synthetic --threads 1");
  ASSERT_EQ(evaluated.exit_code, 0) << evaluated.err;
  EXPECT_DOUBLE_EQ(nlohmann::json::parse(read_text(run + "/eval.json"))["test_accuracy"].get<double>(), accuracy);
  // An output naming the command's input is refused before it can replace it.
  const std::string checkpoint = read_text(run + "/model.pt");
  expect_one_line_error(qxbar("eval --ckpt " + run + "/model.pt --data synthetic --threads 1 --json " + run + "/./model.pt"),
                        run + "/./model.pt: is one of this command's inputs; choose another output");
  EXPECT_EQ(read_text(run + "/model.pt"), checkpoint);

  // As the chip computes: converters wide enough for every sum reproduce integer evaluation.
  const ProcessResult exact = qxbar("eval --ckpt " + run + "/model.pt --data synthetic --threads 1 --integer --analog --set "
                                    "adc.bits=16 --set crossbar.rows_per_read=16 --json " + dir.file("chip.json"));
  ASSERT_EQ(exact.exit_code, 0) << exact.err;
  const auto on_chip = nlohmann::json::parse(read_text(dir.file("chip.json")));
  EXPECT_EQ(on_chip["test_accuracy"], on_chip["integer_test_accuracy"]);
  EXPECT_DOUBLE_EQ(on_chip["ideal_test_accuracy"].get<double>(), accuracy);
  EXPECT_EQ(on_chip["chip"]["name"], "cimaq-default");
  EXPECT_EQ(on_chip["chip"]["fingerprint"].get<std::string>().size(), 16U);
  EXPECT_EQ(on_chip["noise_seeds"], 1);  // a chip without noise computes the same on every programming
  EXPECT_EQ(on_chip["test_accuracy_std"], 0.0);
  // A noisy chip: repeated programmings, their mean and spread, the same on every run.
  const std::string noisy = "eval --ckpt " + run + "/model.pt --data synthetic --threads 1 --analog --hw pcm --set "
                            "noise.programming=0.2 --noise-seeds 3 --json ";
  ASSERT_EQ(qxbar(noisy + dir.file("noisy.json")).exit_code, 0);
  ASSERT_EQ(qxbar(noisy + dir.file("noisy_again.json")).exit_code, 0);
  const auto noisy_result = nlohmann::json::parse(read_text(dir.file("noisy.json")));
  EXPECT_EQ(noisy_result["noise_seeds"], 3);
  EXPECT_GT(noisy_result["test_accuracy_std"].get<double>(), 0.0);
  EXPECT_EQ(noisy_result["test_accuracy"], nlohmann::json::parse(read_text(dir.file("noisy_again.json")))["test_accuracy"]);
  expect_one_line_error(qxbar("eval --ckpt " + run + "/model.pt --data synthetic --noise-seeds 2"),
                        "eval: --noise-seeds needs --analog");
  // A bad chip key stops the command before anything is evaluated or written.
  expect_one_line_error(qxbar("eval --ckpt " + run + "/model.pt --data synthetic --analog --set adc.range=widest --json " +
                              dir.file("bad.json")),
                        "--set adc.range=widest: adc.range: must be one of full, calibrated, dynamic, got 'widest'");
  EXPECT_FALSE(std::filesystem::exists(dir.file("bad.json")));

  expect_one_line_error(qxbar("-q train --net lenet5 --data synthetic --epochs 1 --val-size 200 --bits 4,4 --out " + run),
                        run + "/model.pt: holds a different run (other network, data or settings); choose another --out or "
                              "remove it");
}

TEST(Cli, ChipAwareTrainingTestsAsTheChipComputes) {
  TempDir dir;
  const std::string run = dir.file("run");
  const std::string chip = " --analog --hw isaac --set adc.bits=5 --set crossbar.rows_per_read=32";
  const ProcessResult trained =
      qxbar("train --net lenet5 --data synthetic --epochs 1 --val-size 200 --train-size 400 --bits 6,6 --threads 1 --out " + run +
            chip);
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  const double accuracy = nlohmann::json::parse(read_text(run + "/metrics.json"))["test_accuracy"];
  const ProcessResult evaluated = qxbar("eval --ckpt " + run + "/model.pt --data synthetic --threads 1 --json " +
                                        dir.file("eval.json") + chip);
  ASSERT_EQ(evaluated.exit_code, 0) << evaluated.err;
  EXPECT_DOUBLE_EQ(nlohmann::json::parse(read_text(dir.file("eval.json")))["test_accuracy"].get<double>(), accuracy);
  // The chip is part of the run: the same folder on another chip is another run.
  expect_one_line_error(qxbar("-q train --net lenet5 --data synthetic --epochs 1 --val-size 200 --train-size 400 --bits 6,6 "
                              "--threads 1 --out " + run + " --analog --hw isaac"),
                        run + "/model.pt: holds a different run (other network, data or settings); choose another --out or "
                              "remove it");
}

TEST(Cli, TraceWritesAWholeWaveformOrAOneLineError) {
  TempDir dir;
  const std::string trace = dir.file("new/folder/layer.vcd");
  const ProcessResult run = qxbar("sim --no-cache --hw isaac --net lenet5-fmnist --engine systemc --trace " + trace);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string waveform = read_text(trace);
  EXPECT_EQ(waveform.rfind("$date", 0), 0u);
  EXPECT_NE(waveform.find("$enddefinitions"), std::string::npos);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.file("new/folder")), {}), 1);
  expect_one_line_error(qxbar("sim --no-cache --hw isaac --net lenet5-fmnist --engine systemc --trace " + dir.file("new")),
                        dir.file("new") + ": cannot write: is a directory");
}

TEST(Cli, TrainRejectsBadInputWithOneLine) {
  TempDir dir;
  expect_one_line_error(qxbar("train --net lenet6 --data synthetic --out " + dir.file("a")),
                        "--net: unknown value 'lenet6' (choose lenet5, vgg-small, resnet20, resnet18, vgg16 or mobilenetv2)");
  expect_one_line_error(qxbar("train --net lenet5 --data synthetic --threads 0 --out " + dir.file("a")),
                        "--threads 0: must be in [1, 1024]");
  expect_one_line_error(qxbar("train --net lenet5 --data synthetic --threads 100000 --out " + dir.file("a")),
                        "--threads 100000: must be in [1, 1024]");
  expect_one_line_error(qxbar("train --net lenet5 --data imagenet --out " + dir.file("a")),
                        "--data imagenet: give the folder holding its files with --data-dir");
  dir.write("p.yaml", "layers:\n  conv1: {w_bits: 4, a_bits: 4}\n");
  expect_one_line_error(qxbar("train --net lenet5 --data synthetic --policy " + dir.file("p.yaml") + " --out " + dir.file("a")),
                        dir.file("p.yaml") + ":2:3: layers.conv2: no bits for this layer of lenet5");
  expect_one_line_error(qxbar("eval --ckpt " + dir.file("none.pt")), dir.file("none.pt") + ": no such checkpoint");
  // A file where the run folder should be, and a folder another training holds, are found before any work.
  dir.write("file", "x");
  expect_one_line_error(qxbar("train --net lenet5 --data synthetic --out " + dir.file("file")),
                        dir.file("file") + ": cannot be made a folder: Not a directory");
  const FileLock held(dir.file("busy/train"), "busy");
  expect_one_line_error(qxbar("train --net lenet5 --data synthetic --out " + dir.file("busy")),
                        dir.file("busy") + ": another qxbar process is writing to it; wait for it or choose another");
}

TEST(Cli, WorkloadFileFeedsSimLikeTheBuiltInName) {
  TempDir dir;
  ASSERT_EQ(qxbar("workload --net resnet18-imagenet --out " + dir.file("r18.yaml")).exit_code, 0);
  const ProcessResult from_file = qxbar("sim --no-cache --net " + dir.file("r18.yaml") + " --json " + dir.file("a.json"));
  const ProcessResult from_name = qxbar("sim --no-cache --net resnet18-imagenet --json " + dir.file("b.json"));
  ASSERT_EQ(from_file.exit_code, 0) << from_file.err;
  ASSERT_EQ(from_name.exit_code, 0) << from_name.err;
  EXPECT_EQ(nlohmann::json::parse(read_text(dir.file("a.json")))["total"],
            nlohmann::json::parse(read_text(dir.file("b.json")))["total"]);
  const std::string layers = read_text(dir.file("r18.yaml"));
  expect_one_line_error(qxbar("sim --no-cache --net " + dir.file("r18.yaml") + " --csv " + dir.file("r18.yaml")),
                        dir.file("r18.yaml") + ": is one of this command's inputs; choose another output");
  EXPECT_EQ(read_text(dir.file("r18.yaml")), layers);
  ASSERT_EQ(qxbar("workload --net resnet18-imagenet --input-size 112 --out " + dir.file("r18-112.yaml")).exit_code, 0);
  // Half the input side: a quarter of the output pixels of the first convolution.
  EXPECT_EQ(load_cimaq_layer_file(dir.file("r18-112.yaml")).layers[0].mvm_invocations, 56 * 56);
}

TEST(Cli, FailedRunLeavesNoOutputBehind) {
  TempDir dir;
  EXPECT_EQ(qxbar("sim --set crossbar.rows=0 --csv " + dir.file("out.csv")).exit_code, 2);
  EXPECT_FALSE(std::filesystem::exists(dir.file("out.csv")));
}

}  // namespace
}  // namespace qxbar

namespace qxbar {
namespace {

// Number of lines of a file, 0 when it does not exist yet.
std::size_t line_count(const std::string& path) {
  const std::string text = read_text(path);
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

// Starts qxbar with `arguments` and kills it with SIGKILL as soon as `ready` holds (polled every 5 ms).
// Returns false when the process ended by itself first.
bool kill_when(const std::string& arguments, const std::function<bool()>& ready) {
  const pid_t child = ::fork();
  if (child < 0) return false;
  if (child == 0) {
    const std::string command = "exec " + std::string(QXBAR_BINARY) + " " + arguments + " >/dev/null 2>&1";
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(child, &status, WNOHANG) == 0) {
    if (ready()) {
      ::kill(child, SIGKILL);
      ::waitpid(child, &status, 0);
      return true;
    }
    ::usleep(5000);
  }
  return false;
}

TEST(Cli, TrainingKilledWithinAnEpochResumesThereToTheSameResult) {
  TempDir dir;
  const std::string arguments = "train --net lenet5 --data synthetic --epochs 1 --batch-size 2 --train-size 400 --val-size 200 "
                                "--bits 4,4 --threads 1 --out ";
  ASSERT_EQ(qxbar("-q " + arguments + dir.file("whole")).exit_code, 0);
  // A checkpoint after every batch; killed once the first is written, long before the epoch's 200 batches.
  const std::string killed = dir.file("killed");
  const std::string killed_arguments = arguments + killed + " --checkpoint-minutes 0";
  ASSERT_TRUE(kill_when(killed_arguments, [&] { return std::filesystem::exists(killed + "/model.pt"); }))
      << "the training ended before it could be killed";
  EXPECT_FALSE(std::filesystem::exists(killed + "/metrics.json"));
  const ProcessResult resumed = qxbar(killed_arguments);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_THAT(resumed.err, ::testing::ContainsRegex("resumed from .* in epoch 1 after batch [1-9]"));
  const auto expected = nlohmann::json::parse(read_text(dir.file("whole/metrics.json")));
  const auto actual = nlohmann::json::parse(read_text(killed + "/metrics.json"));
  EXPECT_EQ(actual["test_accuracy"], expected["test_accuracy"]);
  EXPECT_EQ(actual["history"][0]["loss"], expected["history"][0]["loss"]);
  EXPECT_EQ(actual["history"][0]["train_accuracy"], expected["history"][0]["train_accuracy"]);
}

// A W8A8 LeNet-5 trained one epoch on synthetic images into `out`; the command's exit code.
int train_synthetic_w8a8(const std::string& out) {
  return qxbar("-q train --net lenet5 --data synthetic --epochs 1 --val-size 200 --bits 8,8 --threads 1 --out " + out).exit_code;
}

TEST(Cli, SearchWritesHistoryAndBestPolicyAndSurvivesSigkill) {
  TempDir dir;
  const std::string int8 = dir.file("int8");
  ASSERT_EQ(train_synthetic_w8a8(int8), 0);
  const std::string search = "-q search --from " + int8 +
                             "/model.pt --train-size 300 --val-size 200 --episodes 6 --warmup 2 --hidden 16 "
                             "--engine analytical --no-cache --threads 1 --out ";
  const ProcessResult whole = qxbar(search + dir.file("whole"));
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  EXPECT_THAT(whole.out, HasSubstr("best policy "));
  // A header, twelve uniform baselines (seven, and five with weights rounded up to 4-bit cells), six episodes.
  EXPECT_EQ(line_count(dir.file("whole/history.csv")), 1u + 12u + 6u);
  const std::vector<double> best = read_npy(dir.file("whole/best_policy.npy")).values;
  EXPECT_EQ(best.size(), 10u);
  const auto summary = nlohmann::json::parse(read_text(dir.file("whole/search.json")));
  EXPECT_THAT(read_text(dir.file("whole/history.csv")), HasSubstr(summary["best"]["policy"].get<std::string>()));

  expect_one_line_error(qxbar(search + dir.file("whole")),
                        dir.file("whole") + ": holds a search already; pass --resume to continue it, or choose another --out");

  // Killed without warning once the baselines and an episode are stored, then resumed.
  const std::string killed = dir.file("killed");
  const std::string history = killed + "/history.csv";
  const std::string script = std::string(QXBAR_BINARY) + " " + search + killed + " 2>/dev/null & pid=$!; while kill -0 $pid 2>/dev/null && [ $(cat " +
                             history + " 2>/dev/null | wc -l) -lt 14 ]; do sleep 0.02; done; kill -9 $pid; wait $pid";
  const int interrupted = std::system(("sh -c '" + script + "'").c_str());
  EXPECT_NE(interrupted, 0);
  ASSERT_LT(line_count(history), 1u + 12u + 6u);
  const ProcessResult resumed = qxbar(search + killed + " --resume");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(read_text(history), read_text(dir.file("whole/history.csv")));
  EXPECT_EQ(read_text(killed + "/best_policy.yaml"), read_text(dir.file("whole/best_policy.yaml")));
}

TEST(Cli, LearnedBitWidthsSearchMeetsItsTargetsAndResumesWithoutLearningAgain) {
  TempDir dir;
  const std::string int8 = dir.file("int8");
  ASSERT_EQ(train_synthetic_w8a8(int8), 0);
  // Three batches per epoch: large steps of the widths to reach their targets in nine.
  const std::string search = "-q search --algo learned-bits --target-a-bits 6 --width-epochs 3 --width-lr 0.25 --from " + int8 +
                             "/model.pt --train-size 300 --val-size 200 --engine analytical --no-cache --threads 1 ";
  const std::string targets = "--target-w-bits 5 --out ";
  const ProcessResult whole = qxbar(search + targets + dir.file("whole"));
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  const auto learned = nlohmann::json::parse(read_text(dir.file("whole/learned_bits.json")));
  EXPECT_TRUE(learned["meets_targets"].get<bool>());
  EXPECT_LE(learned["weight_bits"].get<double>(), 5);
  const auto summary = nlohmann::json::parse(read_text(dir.file("whole/search.json")));
  EXPECT_EQ(summary["best"]["policy"], learned["policy"]);  // the one policy, fine-tuned and measured
  EXPECT_EQ(summary["trainings"], 2);  // W8A8 and that policy

  // Killed once the widths are learned, then resumed: the widths are read back, not learned again.
  const std::string killed = dir.file("killed");
  ASSERT_TRUE(kill_when(search + targets + killed, [&] { return std::filesystem::exists(killed + "/learned_bits.json"); }))
      << "the search ended before it could be killed";
  const auto learned_at = std::filesystem::last_write_time(killed + "/learned_bits.json");
  const ProcessResult resumed = qxbar(search + targets + killed + " --resume");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(std::filesystem::last_write_time(killed + "/learned_bits.json"), learned_at);
  EXPECT_EQ(read_text(killed + "/history.csv"), read_text(dir.file("whole/history.csv")));
  EXPECT_EQ(read_text(killed + "/best_policy.yaml"), read_text(dir.file("whole/best_policy.yaml")));

  expect_one_line_error(qxbar(search + "--target-w-bits 1 --out " + dir.file("bad")),
                        "--target-w-bits: must be in [2, 16], got 1");
}

}  // namespace
}  // namespace qxbar

namespace qxbar {
namespace {

constexpr const char* kTinyRecipe = R"(network: lenet5
data: {name: synthetic, val_size: 200}
fp32: {epochs: 1}
int8: {epochs: 1}
search: {episodes: 3, train_size: 300, val_size: 200, engine: analytical, ddpg: {warmup: 1, hidden: 16}}
finetune: {epochs: 1}
)";

TEST(Cli, RunKilledMidSearchResumesToTheSameResult) {
  TempDir dir;
  const std::string recipe = dir.write("tiny.yaml", kTinyRecipe);
  const std::string arguments = "run " + recipe + " --threads 1 --set search.episodes=6 --out ";
  const ProcessResult whole = qxbar(arguments + dir.file("whole"));
  ASSERT_EQ(whole.exit_code, 0) << whole.err;

  // A header and twelve baselines, then the episodes: killed once two episodes are stored.
  const std::string killed = dir.file("killed");
  ASSERT_TRUE(kill_when(arguments + killed, [&] { return line_count(killed + "/search/history.csv") >= 15; }))
      << "the run ended before it could be killed";
  EXPECT_FALSE(std::filesystem::exists(killed + "/summary.json"));
  const ProcessResult resumed = qxbar(arguments + killed + " --resume");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(read_text(killed + "/search/history.csv"), read_text(dir.file("whole/search/history.csv")));
  EXPECT_EQ(read_text(killed + "/best_policy.yaml"), read_text(dir.file("whole/best_policy.yaml")));
  const auto expected = nlohmann::json::parse(read_text(dir.file("whole/summary.json")));
  const auto actual = nlohmann::json::parse(read_text(killed + "/summary.json"));
  for (const char* key : {"fp32_accuracy", "int8_accuracy", "final_accuracy", "latency_ns", "energy_pj", "policy"}) {
    EXPECT_EQ(actual[key], expected[key]) << key;
  }
}

TEST(Cli, CompareRunsEveryAlgorithmFromOneCheckpointAndResumes) {
  TempDir dir;
  const std::string recipe = dir.write("tiny.yaml", kTinyRecipe);
  const std::string out = dir.file("compare");
  const std::string arguments = "compare " + recipe + " --algos ddpg,limpq,memory --threads 1 --set search.limpq.epochs=1 "
                                "--set search.limpq.steps=2 --set search.memory.rom_kib=32 --set search.memory.ram_kib=4 --out " + out;
  const ProcessResult first = qxbar(arguments);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const auto table = nlohmann::json::parse(read_text(out + "/compare.json"));
  ASSERT_EQ(table["algorithms"].size(), 3u);
  const auto& ddpg = table["algorithms"][0];
  const auto& limpq = table["algorithms"][1];
  const auto& memory = table["algorithms"][2];
  EXPECT_EQ(ddpg["algorithm"], "ddpg");
  EXPECT_EQ(ddpg["evaluations"], 3);
  EXPECT_EQ(limpq["evaluations"], 2);   // two bisection steps
  EXPECT_EQ(memory["evaluations"], 1);  // one rule, one policy
  EXPECT_LE(limpq["latency_ratio"].get<double>(), 1.0);
  for (const auto& row : table["algorithms"]) {
    EXPECT_THAT(read_text(out + "/compare.md"), HasSubstr(row["policy"].get<std::string>()));
    EXPECT_THAT(read_text(out + "/search-" + row["algorithm"].get<std::string>() + "/history.csv"),
                HasSubstr(row["policy"].get<std::string>()));
  }
  // Every search started from the one INT8 checkpoint: their W8A8 baselines validate alike.
  const auto w8a8_row = [&](const std::string& algorithm) {
    const std::string history = read_text(out + "/search-" + algorithm + "/history.csv");
    const std::size_t at = history.find(",baseline,W8A8,");
    return at == std::string::npos ? std::string() : history.substr(at, history.find('\n', at) - at);
  };
  EXPECT_FALSE(w8a8_row("ddpg").empty());
  EXPECT_EQ(w8a8_row("ddpg"), w8a8_row("limpq"));
  EXPECT_EQ(w8a8_row("ddpg"), w8a8_row("memory"));
  EXPECT_TRUE(std::filesystem::is_regular_file(out + "/search-limpq/indicators.json"));
  EXPECT_EQ(read_text(out + "/figures/progress.png").substr(1, 3), "PNG");

  // Resumed, every stage is done before; the table stands as it was.
  const ProcessResult again = qxbar(arguments + " --resume");
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_THAT(again.err, ::testing::Not(HasSubstr("fine-tuning")));
  EXPECT_EQ(nlohmann::json::parse(read_text(out + "/compare.json")), table);

  expect_one_line_error(qxbar("compare " + recipe + " --algos ddpg,annealing --out " + dir.file("bad")),
                        "--algos: unknown search algorithm 'annealing' (choose ddpg, random, memory, limpq or learned-bits)");
}

TEST(Cli, PerChannelMemoryAssignmentRunsEndToEnd) {
  TempDir dir;
  const std::string recipe = dir.write("tiny.yaml", kTinyRecipe);
  const std::string out = dir.file("mixpc");
  const std::string memory = " --threads 1 --set search.algo=memory --set search.memory.weight_precision=per-channel "
                             "--set search.memory.rom_kib=32 --set search.memory.ram_kib=64";
  expect_one_line_error(qxbar("run " + recipe + memory + " --out " + out),
                        recipe + ": search.memory.weight_precision: per-channel widths need a weight step per channel "
                                 "(per_channel: true)");
  EXPECT_FALSE(std::filesystem::exists(out));
  const ProcessResult run = qxbar("run " + recipe + memory + " --set per_channel=true --out " + out);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto summary = nlohmann::json::parse(read_text(out + "/summary.json"));
  const std::string policy = summary["policy"];
  EXPECT_NE(policy.find('['), std::string::npos) << policy;  // some layer is cut channel by channel
  const Policy chosen = parse_policy_summary(policy, "summary");
  // The chosen policy is what the files and the report show; `sim` reads it back from the YAML.
  EXPECT_NE(read_text(out + "/best_policy.yaml").find("w_bits: ["), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(out + "/best_policy.npy"));
  const auto cut = std::find_if(chosen.layers.begin(), chosen.layers.end(), [](const Bits& bits) { return bits.is_per_channel(); });
  ASSERT_NE(cut, chosen.layers.end());
  EXPECT_NE(read_text(out + "/report.md").find("| " + weight_bits_text(*cut) + " |"), std::string::npos);
  const ProcessResult sim = qxbar("sim --net lenet5-fmnist --policy " + out + "/best_policy.yaml --json " + dir.file("sim.json"));
  ASSERT_EQ(sim.exit_code, 0) << sim.err;
  const auto priced = nlohmann::json::parse(read_text(dir.file("sim.json")));
  EXPECT_EQ(priced["policy"], policy);
}

TEST(Cli, CodesignChoosesAPolicyPerChipAndBudgetMeasuresTheCheapestAndResumes) {
  TempDir dir;
  dir.write("tiny.yaml", kTinyRecipe);
  // Three chips, one of which cannot exist (cells of 0 bits), times two budgets.
  const std::string plan = dir.write("codesign.yaml", "recipe: tiny.yaml\ngrid:\n  crossbar.cell_bits: [1, 4, 0]\n"
                                                      "budgets: [0.4, 0.7]\nfinalists: 1\ntrainings: 3\n");
  const std::string out = dir.file("codesign");
  const std::string arguments = "codesign " + plan + " --threads 1 --set search.limpq.epochs=1 --out " + out;
  const ProcessResult first = qxbar(arguments);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const auto report = nlohmann::json::parse(read_text(out + "/codesign.json"));
  EXPECT_EQ(report["chips"], 3);
  EXPECT_EQ(report["points"], 6);
  EXPECT_EQ(report["chips_without_a_policy"], 1);

  const SweepResults points = read_sweep(out + "/codesign/points.sqlite");
  EXPECT_EQ(points.axes, (std::vector<std::string>{"crossbar.cell_bits"}));
  ASSERT_EQ(points.rows.size(), 6u);
  for (std::size_t chip = 0; chip < 3; ++chip) {
    const SweepRow& tight = points.rows[2 * chip];
    const SweepRow& loose = points.rows[2 * chip + 1];
    EXPECT_EQ(tight.policy, "latency budget 0.4");
    EXPECT_EQ(loose.policy, "latency budget 0.7");
    if (chip == 2) {
      EXPECT_THAT(tight.status, HasSubstr("cell_bits"));
      EXPECT_FALSE(tight.chosen_policy.has_value());
      continue;
    }
    ASSERT_TRUE(tight.ok() && loose.ok()) << tight.status << loose.status;
    // A looser budget never predicts more loss, and never costs less.
    EXPECT_LE(*loose.objective, *tight.objective);
    EXPECT_GE(loose.latency_ns, tight.latency_ns);
    EXPECT_EQ(parse_policy_summary(*tight.chosen_policy, "db").layers.size(), 5u);
  }
  // The measured points, cheapest first; each accuracy is stored with every point of its policy.
  const auto& measured = report["measured"];
  ASSERT_FALSE(measured.empty());
  ASSERT_LE(measured.size(), 3u);
  for (std::size_t m = 0; m < measured.size(); ++m) {
    if (m > 0) EXPECT_GE(measured[m]["latency_ns"].get<double>(), measured[m - 1]["latency_ns"].get<double>());
    for (const SweepRow& row : points.rows) {
      if (row.chosen_policy == measured[m]["policy"].get<std::string>()) EXPECT_EQ(row.accuracy, measured[m]["accuracy"].get<double>());
    }
  }
  // The best is the cheapest measured point on target, or none when none is.
  nlohmann::json cheapest_on_target;
  for (const auto& point : measured) {
    if (point["accuracy"].get<double>() >= report["target"].get<double>() && cheapest_on_target.is_null()) cheapest_on_target = point;
  }
  EXPECT_EQ(report["best"], cheapest_on_target);
  EXPECT_EQ(read_text(out + "/figures/codesign_objective.png").substr(1, 3), "PNG");
  EXPECT_THAT(read_text(out + "/codesign.md"), HasSubstr(measured[0]["policy"].get<std::string>()));

  // Resumed, nothing is priced or trained again and the report stands as it was.
  const ProcessResult again = qxbar(arguments + " --resume");
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_THAT(again.err, ::testing::Not(HasSubstr("fine-tuning")));
  EXPECT_THAT(again.out, HasSubstr("pricing   0 points in "));
  EXPECT_THAT(again.out, HasSubstr("; 0 fine-tunes now"));
  EXPECT_THAT(first.out, HasSubstr("pricing   6 points in "));
  EXPECT_EQ(nlohmann::json::parse(read_text(out + "/codesign.json")), report);

  // Fine-tuned as each chip computes, a chip that cannot compute the network (a 1-bit converter cannot
  // tell the signs of column sums apart) offers no candidates. The synthetic images are hard enough that
  // the calibrated 8-bit chip needs a wide target to stay.
  const std::string on_chip = dir.write("on_chip.yaml", "recipe: tiny.yaml\nrecipe_set: [search.analog=true, search.max_acc_drop=20]\n"
                                                        "grid:\n  adc.bits: [1, 8]\nbudgets: [0.7]\nfinalists: 1\ntrainings: 2\n");
  const ProcessResult screened = qxbar("codesign " + on_chip + " --threads 1 --set search.limpq.epochs=1 --out " + dir.file("on_chip"));
  ASSERT_EQ(screened.exit_code, 0) << screened.err;
  const auto screened_report = nlohmann::json::parse(read_text(dir.file("on_chip/codesign.json")));
  EXPECT_EQ(screened_report["chips_screened_out"], 1);
  EXPECT_EQ(screened_report["candidates"], 1);
  ASSERT_FALSE(screened_report["measured"].empty());
  for (const auto& point : screened_report["measured"]) EXPECT_EQ(point["chip"]["adc.bits"], "8");

  const std::string misspelt = dir.write("misspelt.yaml", "recipe: tiny.yaml\ngrid:\n  crossbar.cell_bits: [1]\nbudget: [0.5]\n");
  expect_one_line_error(qxbar("codesign " + misspelt + " --out " + dir.file("m")), misspelt + ":4:1: budget: unknown key");
  const std::string above = dir.write("above.yaml", "recipe: tiny.yaml\ngrid:\n  crossbar.cell_bits: [1]\nbudgets: [0.5, 1.5]\n");
  const ProcessResult refused = qxbar("codesign " + above + " --out " + dir.file("a"));
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_THAT(refused.err, StartsWith("qxbar: error: " + above + ":4:10: budgets: "));
  const std::string none = dir.write("no_budgets.yaml", "recipe: tiny.yaml\ngrid:\n  crossbar.cell_bits: [1]\nbudgets: []\n");
  expect_one_line_error(qxbar("codesign " + none + " --out " + dir.file("n")), none + ":4:10: budgets: name at least one budget");
  const std::string twice = dir.write("twice.yaml", "recipe: tiny.yaml\ngrid:\n  crossbar.cell_bits: [1]\nbudgets: [0.5, 0.5]\n");
  expect_one_line_error(qxbar("codesign " + twice + " --out " + dir.file("t")), twice + ":4:10: budgets: a budget is named twice");
  const std::string no_recipe = dir.write("no_recipe.yaml", "recipe: none.yaml\ngrid:\n  crossbar.cell_bits: [1]\n");
  expect_one_line_error(qxbar("codesign " + no_recipe + " --out " + dir.file("r")), no_recipe + ":1:9: recipe: no such recipe file");
  const std::string bad_set = dir.write("bad_set.yaml", "recipe: tiny.yaml\nrecipe_set: [search.analog=maybe]\ngrid:\n  crossbar.cell_bits: [1]\n");
  const ProcessResult set_refused = qxbar("codesign " + bad_set + " --out " + dir.file("s"));
  EXPECT_EQ(set_refused.exit_code, 2);
  EXPECT_THAT(set_refused.err, StartsWith("qxbar: error: " + bad_set + ":2:14: recipe_set[0]: "));
  for (const char* folder : {"m", "a", "r", "s", "n", "t"}) EXPECT_FALSE(std::filesystem::exists(dir.file(folder)));
}

// Accuracies a co-design database holds so far; 0 while it does not exist or is being created.
int stored_accuracies(const std::string& database) {
  if (!std::filesystem::exists(database)) return 0;
  sqlite3* db = nullptr;
  int count = 0;
  if (sqlite3_open_v2(database.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_exec(db, "SELECT COUNT(*) FROM accuracies",
                 [](void* result, int, char** values, char**) {
                   *static_cast<int*>(result) = std::atoi(values[0]);
                   return 0;
                 },
                 &count, nullptr);
  }
  sqlite3_close(db);
  return count;
}

TEST(Cli, CodesignKilledWhileMeasuringResumesToTheSameChoice) {
  TempDir dir;
  dir.write("tiny.yaml", kTinyRecipe);
  const std::string plan = dir.write("codesign.yaml", "recipe: tiny.yaml\ngrid:\n  crossbar.cell_bits: [1, 2, 4]\n"
                                                      "budgets: [0.3, 0.5, 0.7]\nfinalists: 2\ntrainings: 4\n");
  const std::string arguments = "codesign " + plan + " --threads 1 --set search.limpq.epochs=1 --out ";
  const ProcessResult whole = qxbar(arguments + dir.file("whole"));
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  // Killed once the reference and one candidate are measured.
  const std::string killed = dir.file("killed");
  ASSERT_TRUE(kill_when(arguments + killed, [&] { return stored_accuracies(killed + "/codesign/points.sqlite") >= 2; }))
      << "the co-design ended before it could be killed";
  EXPECT_FALSE(std::filesystem::exists(killed + "/codesign.json"));
  const ProcessResult resumed = qxbar(arguments + killed + " --resume");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  const auto expected = nlohmann::json::parse(read_text(dir.file("whole/codesign.json")));
  const auto actual = nlohmann::json::parse(read_text(killed + "/codesign.json"));
  for (const char* key : {"points", "feasible", "pareto", "reference_accuracy", "measured", "best"}) {
    EXPECT_EQ(actual[key], expected[key]) << key;
  }
  EXPECT_EQ(sweep_csv(read_sweep(killed + "/codesign/points.sqlite")), sweep_csv(read_sweep(dir.file("whole/codesign/points.sqlite"))));
}

TEST(Cli, RunThatFailsBeforeTrainingLeavesNoFolderBehind) {
  TempDir dir;
  const std::string recipe = dir.write("tiny.yaml", kTinyRecipe);
  const std::string run = dir.file("run");
  const ProcessResult failed = qxbar("run " + recipe + " --threads 1 --set data.name=cifar10 --set data.dir=" + dir.file("none") + " --out " + run);
  EXPECT_EQ(failed.exit_code, 2) << failed.err;
  EXPECT_THAT(failed.err, HasSubstr("cannot open file"));
  EXPECT_FALSE(std::filesystem::exists(run));
  // Mended, the same folder takes the run without --resume.
  const ProcessResult mended = qxbar("run " + recipe + " --threads 1 --set search.episodes=1 --out " + run);
  ASSERT_EQ(mended.exit_code, 0) << mended.err;
  // A folder that held something before is left as it was.
  const std::string kept = dir.file("kept");
  std::filesystem::create_directories(kept);
  dir.write("kept/notes.txt", "mine\n");
  EXPECT_EQ(qxbar("run " + recipe + " --set data.name=cifar10 --set data.dir=" + dir.file("none") + " --out " + kept).exit_code, 2);
  EXPECT_EQ(read_text(kept + "/notes.txt"), "mine\n");
}

TEST(Cli, RunRecipeEndToEndThenOnlyChangedStagesRunAgain) {
  TempDir dir;
  const std::string recipe = dir.write("tiny.yaml", kTinyRecipe);
  const std::string run = dir.file("run");
  const ProcessResult first = qxbar("run " + recipe + " --out " + run + " --threads 1");
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_THAT(first.out, HasSubstr("report    " + run + "/report.md"));

  const auto summary = nlohmann::json::parse(read_text(run + "/summary.json"));
  for (const char* key : {"fp32_accuracy", "int8_accuracy", "final_accuracy", "latency_ns", "latency_w8a8_ns",
                          "latency_ratio", "energy_pj", "energy_w8a8_pj", "energy_ratio", "policy"}) {
    EXPECT_TRUE(summary.contains(key)) << key;
  }
  EXPECT_DOUBLE_EQ(summary["latency_ratio"].get<double>(),
                   summary["latency_ns"].get<double>() / summary["latency_w8a8_ns"].get<double>());
  const std::string policy = summary["policy"];
  const std::vector<double> npy = read_npy(run + "/best_policy.npy").values;
  EXPECT_EQ(npy.size(), 10u);
  EXPECT_EQ(std::to_string(static_cast<int>(npy[0])) + "/" + std::to_string(static_cast<int>(npy[1])),
            policy.substr(0, policy.find(';')));
  EXPECT_THAT(read_text(run + "/report.md"), HasSubstr("`" + policy + "`"));
  EXPECT_THAT(read_text(run + "/search/history.csv"), HasSubstr(policy));
  EXPECT_EQ(read_text(run + "/figures/pareto_latency.png").substr(1, 3), "PNG");
  EXPECT_THAT(read_text(run + "/recipe.yaml"), HasSubstr("episodes: 3"));
  EXPECT_THAT(read_text(run + "/recipe.yaml"), HasSubstr("delta_decay: 0.99,"));

  // Nothing changed: every stage is done; a changed final fine-tune reruns that stage alone.
  // A folder that holds a run is continued only when asked to.
  const ProcessResult refused = qxbar("run " + recipe + " --out " + run + " --threads 1");
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_THAT(refused.err, HasSubstr("holds a run already; pass --resume"));
  {
    // Nor while another process runs in it; the recipe it holds stays as that run wrote it.
    const std::string written = read_text(run + "/recipe.yaml");
    const FileLock held(run + "/run", run);
    expect_one_line_error(qxbar("run " + recipe + " --out " + run + " --threads 1 --resume --set finetune.epochs=2"),
                          run + ": another qxbar process is writing to it; wait for it or choose another");
    EXPECT_EQ(read_text(run + "/recipe.yaml"), written);
  }
  const ProcessResult again = qxbar("run " + recipe + " --out " + run + " --threads 1 --resume");
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_THAT(again.err, HasSubstr("final: inputs unchanged, done before"));
  EXPECT_EQ(nlohmann::json::parse(read_text(run + "/summary.json")), summary);
  // The run's own copy of its recipe runs it too, and stays as it was.
  const std::string copy = read_text(run + "/recipe.yaml");
  const ProcessResult from_copy = qxbar("run " + run + "/recipe.yaml --out " + run + " --threads 1 --resume");
  ASSERT_EQ(from_copy.exit_code, 0) << from_copy.err;
  EXPECT_THAT(from_copy.err, HasSubstr("final: inputs unchanged, done before"));
  EXPECT_EQ(read_text(run + "/recipe.yaml"), copy);
  const ProcessResult changed = qxbar("run " + recipe + " --out " + run +
                                     " --threads 1 --resume --set finetune.epochs=2 --set chip_test.noise_seeds=3");
  ASSERT_EQ(changed.exit_code, 0) << changed.err;
  EXPECT_THAT(changed.err, HasSubstr("search: inputs unchanged, done before"));
  EXPECT_THAT(changed.err, HasSubstr("final: inputs changed, starting the stage over"));
  EXPECT_EQ(nlohmann::json::parse(read_text(run + "/final/metrics.json"))["epochs"], 2);
  // The recipe's chip has no noise: one programming computes what any other would.
  const auto rerun = nlohmann::json::parse(read_text(run + "/summary.json"));
  EXPECT_EQ(rerun["chip_noise_seeds"], 1);
  EXPECT_EQ(rerun["chip_accuracy_std"], 0.0);
  // More episodes extend the stored search instead of starting it over.
  const ProcessResult extended = qxbar("run " + recipe + " --out " + run + " --threads 1 --resume --set search.episodes=4");
  ASSERT_EQ(extended.exit_code, 0) << extended.err;
  EXPECT_THAT(extended.err, HasSubstr("resumed: 15 evaluations read back"));
  EXPECT_EQ(line_count(run + "/search/history.csv"), 1u + 12u + 4u);
}

TEST(Cli, ImageNetRecipeRunsOnAnImageFolder) {
  // CIM-AQ's ResNet-18 recipe, every stage shrunk, on a folder of three classes of small JPEGs.
  TempDir dir;
  const std::string run = dir.file("run");
  std::string arguments = "run " + source_path("experiments/cimaq_resnet18_imagenet.yaml") + " --out " + run +
                          " --threads 2 --set data.dir=" + source_path("tests/data/image_folder");
  for (const char* setting : {"data.val_size=3", "fp32.epochs=1", "fp32.batch_size=9", "int8.epochs=1", "int8.batch_size=9",
                              "search.episodes=2", "search.train_size=6", "search.val_size=3", "search.finetune_epochs=0",
                              "search.ddpg.warmup=1", "finetune.epochs=1", "finetune.batch_size=9",
                              "chip_test.test_images=2"}) {
    arguments += std::string(" --set ") + setting;
  }
  const ProcessResult result = qxbar(arguments);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto summary = nlohmann::json::parse(read_text(run + "/summary.json"));
  const std::string policy = summary["policy"];
  // ResNet-18's 21 layers, the first and last pinned at 8/8 as CIM-AQ's force_first_last does.
  EXPECT_EQ(std::count(policy.begin(), policy.end(), ';'), 20) << policy;
  EXPECT_EQ(policy.substr(0, 4), "8/8;");
  EXPECT_EQ(policy.substr(policy.size() - 4), ";8/8");
  // Six validation images in three classes: accuracy is a multiple of 1/6.
  const double accuracy = summary["final_accuracy"];
  EXPECT_NEAR(accuracy * 6, std::round(accuracy * 6), 1e-9);
  // The chip's arithmetic was asked for on two of them.
  const double chip_accuracy = summary["chip_accuracy"];
  EXPECT_NEAR(chip_accuracy * 2, std::round(chip_accuracy * 2), 1e-9);
  // `qxbar eval` reads the same folder's validation images into the same accuracies.
  const ProcessResult eval = qxbar("eval --ckpt " + run + "/final/model.pt --integer --data imagenet --data-dir " +
                                   source_path("tests/data/image_folder") + " --json " + dir.file("eval.json"));
  ASSERT_EQ(eval.exit_code, 0) << eval.err;
  EXPECT_THAT(eval.out, HasSubstr("6 images"));
  const auto evaluated = nlohmann::json::parse(read_text(dir.file("eval.json")));
  EXPECT_EQ(evaluated["test_accuracy"], summary["final_accuracy"]);
  EXPECT_EQ(evaluated["integer_test_accuracy"], summary["integer_accuracy"]);
}

TEST(Cli, BadRecipesNameFileLineAndKey) {
  TempDir dir;
  const std::string recipe = dir.write("bad.yaml", "network: lenet5\nsearch:\n  episodez: 4\n");
  expect_one_line_error(qxbar("run " + recipe + " --out " + dir.file("run")), recipe + ":3:3: search.episodez: unknown key");
  const std::string reward = dir.write("reward.yaml", "search: {reward: speed}\n");
  expect_one_line_error(qxbar("run " + reward + " --out " + dir.file("run")),
                        reward + ":1:18: search.reward: unknown value 'speed' (choose latency, energy or edp)");
  const std::string tau = dir.write("tau.yaml", "search:\n  ddpg: {tau: 2}\n");
  expect_one_line_error(qxbar("run " + tau + " --out " + dir.file("run")), tau + ":2:15: search.ddpg.tau: must be in (0, 1], got 2");
  const std::string good = dir.write("good.yaml", kTinyRecipe);
  expect_one_line_error(qxbar("run " + good + " --out " + dir.file("run") + " --set fp32.epochs=0"),
                        "--set fp32.epochs=0:1:1: fp32.epochs: must be in [1, inf), got 0");
  EXPECT_FALSE(std::filesystem::exists(dir.file("run")));
}

}  // namespace
}  // namespace qxbar

namespace qxbar {
namespace {

TEST(Cli, SweepRecordsInvalidPointsAndResumesWithoutDuplicates) {
  TempDir dir;
  const std::string sweep = dir.write("sweep.yaml", R"(chip: cimaq_default
grid:
  crossbar.rows: [64, 0]
  crossbar.cell_bits: [1, 2]
networks: [lenet5-fmnist]
policies: ["8,8", "4,4"]
)");
  const std::string db = dir.file("points.sqlite");
  const ProcessResult first = qxbar("-q sweep " + sweep + " --db " + db + " --csv " + dir.file("a.csv"));
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_THAT(first.out, HasSubstr("8 points, 4 priced and 4 invalid by 1 process, 0 stored before"));
  const std::string csv = read_text(dir.file("a.csv"));
  std::istringstream lines(csv);
  std::string line;
  std::getline(lines, line);
  EXPECT_THAT(line, StartsWith("id,crossbar.rows,crossbar.cell_bits,network,policy,status,latency_ns,energy_pj,area_mm2,"));
  // The last axis varies fastest, then the policy.
  std::getline(lines, line);
  EXPECT_THAT(line, StartsWith("0,64,1,lenet5-fmnist,\"8,8\",ok,"));
  std::getline(lines, line);
  EXPECT_THAT(line, StartsWith("1,64,1,lenet5-fmnist,\"4,4\",ok,"));
  std::getline(lines, line);
  EXPECT_THAT(line, StartsWith("2,64,2,lenet5-fmnist,\"8,8\",ok,"));
  std::getline(lines, line);
  std::getline(lines, line);
  EXPECT_THAT(line, StartsWith("4,0,1,lenet5-fmnist,\"8,8\","));
  EXPECT_THAT(line, HasSubstr("crossbar.rows"));

  expect_one_line_error(qxbar("-q sweep " + sweep + " --db " + db),
                        db + ": holds points of this sweep already; pass --resume to add the missing ones");
  // Points lost in a crash are priced again on resume, once each.
  sqlite3* handle = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &handle), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(handle, "DELETE FROM points WHERE id IN (1, 2, 6)", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(handle);
  const ProcessResult resumed = qxbar("-q sweep " + sweep + " --db " + db + " --resume --csv " + dir.file("b.csv"));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_THAT(resumed.out, HasSubstr("8 points, 2 priced and 1 invalid by 1 process, 5 stored before"));
  EXPECT_EQ(read_text(dir.file("b.csv")), csv);

  const std::string no_such_net = dir.write("net.yaml", "grid:\n  crossbar.rows: [64]\nnetworks: [lenet6-fmnist]\npolicies: [\"8,8\"]\n");
  const ProcessResult failed = qxbar("sweep " + no_such_net + " --db " + dir.file("y.sqlite"));
  EXPECT_EQ(failed.exit_code, 2) << failed.err;
  EXPECT_THAT(failed.err, HasSubstr("lenet6"));
  const std::string misspelt = dir.write("bad.yaml", "grid:\n  crossbar.row: [64]\nnetworks: [lenet5-fmnist]\npolicies: [\"8,8\"]\n");
  expect_one_line_error(qxbar("sweep " + misspelt + " --db " + dir.file("x.sqlite")),
                        misspelt + ":2:3: grid.crossbar.row: not a chip key (did you mean crossbar.rows?)");
}

TEST(Cli, SweepFileErrorsNameTheFileLineAndEntry) {
  TempDir dir;
  const std::string networks = dir.write("networks.yaml", "grid:\n  crossbar.rows: [64]\n"
                                                          "networks: [lenet5-fmnist, lenet5-mnist, resnet19-imagenet]\n"
                                                          "policies: [\"8,8\"]\n");
  expect_one_line_error(qxbar("sweep " + networks + " --db " + dir.file("n.sqlite")),
                        networks + ":3:41: networks[2]: unknown network 'resnet19' (choose lenet5, vgg-small, resnet20, resnet18, "
                                   "vgg16, mobilenetv2, followed by -fmnist, -mnist, -cifar10 or -imagenet; or a CIM-AQ layer file *.yaml)");
  const std::string layers = dir.write("layers.yaml", "grid:\n  crossbar.rows: [64]\nnetworks: [missing.yaml]\npolicies: [\"8,8\"]\n");
  expect_one_line_error(qxbar("sweep " + layers + " --db " + dir.file("l.sqlite")),
                        layers + ":3:12: networks[0]: no such layer-dimension file");
  const std::string bits = dir.write("bits.yaml", "grid:\n  crossbar.rows: [64]\nnetworks: [lenet5-fmnist]\npolicies: [\"8,8\", \"8,x\"]\n");
  expect_one_line_error(qxbar("sweep " + bits + " --db " + dir.file("b.sqlite")),
                        bits + ":4:19: policies[1]: 8,x: expected W,A such as 4,8, got '8,x'");
  const std::string chip = dir.write("chip.yaml", "chip: isaak\ngrid:\n  crossbar.rows: [64]\nnetworks: [lenet5-fmnist]\npolicies: [\"8,8\"]\n");
  const ProcessResult unknown_chip = qxbar("sweep " + chip + " --db " + dir.file("c.sqlite"));
  EXPECT_EQ(unknown_chip.exit_code, 2);
  EXPECT_THAT(unknown_chip.err, StartsWith("qxbar: error: " + chip + ":1:7: chip: isaak: no such chip description file or preset"));
  // A grid beyond the points a sweep may hold is refused before anything is expanded or stored.
  std::string values = "0";
  for (int value = 1; value < 1000; ++value) values += "," + std::to_string(value);
  const std::string huge = dir.write("huge.yaml", "grid:\n  crossbar.rows: [" + values + "]\n  crossbar.cols: [" + values +
                                                      "]\n  adc.bits: [" + values + "]\nnetworks: [lenet5-fmnist]\npolicies: [\"8,8\"]\n");
  expect_one_line_error(qxbar("sweep " + huge + " --db " + dir.file("h.sqlite")),
                        huge + ":2:3: grid: more than the 10000000 points a sweep may hold (1000 crossbar.rows x 1000 "
                               "crossbar.cols x 1000 adc.bits = 1000000000)");
  for (const char* database : {"n.sqlite", "l.sqlite", "b.sqlite", "c.sqlite", "h.sqlite"}) {
    EXPECT_FALSE(std::filesystem::exists(dir.file(database)));
  }
}

TEST(Cli, SweepAccuracySectionErrorsNameTheFileLineAndKey) {
  TempDir dir;
  dir.write("model.pt", "read only once the section is valid");
  const std::string head = "grid:\n  adc.bits: [8]\nnetworks: [lenet5-fmnist]\npolicies: [\"8,8\"]\naccuracy:\n";
  const std::string misspelt = dir.write("misspelt.yaml", head + "  checkpoint: model.pt\n  test_image: 100\n");
  expect_one_line_error(qxbar("sweep " + misspelt + " --db " + dir.file("m.sqlite")), misspelt + ":7:3: accuracy.test_image: unknown key");
  const std::string missing = dir.write("missing.yaml", head + "  checkpoint: none.pt\n");
  expect_one_line_error(qxbar("sweep " + missing + " --db " + dir.file("n.sqlite")),
                        missing + ":6:15: accuracy.checkpoint: none.pt: no such checkpoint");
  const std::string unnamed = dir.write("unnamed.yaml", head + "  test_images: 100\n");
  expect_one_line_error(qxbar("sweep " + unnamed + " --db " + dir.file("u.sqlite")),
                        unnamed + ":6:3: accuracy.checkpoint: required key is missing");
  const std::string negative = dir.write("negative.yaml", head + "  checkpoint: model.pt\n  test_images: -1\n");
  expect_one_line_error(qxbar("sweep " + negative + " --db " + dir.file("t.sqlite")),
                        negative + ":7:16: accuracy.test_images: must be in [0, inf), got -1");
  const std::string text = dir.write("text.yaml", head + "  checkpoint: model.pt\n  calibration_images: many\n");
  const ProcessResult not_a_number = qxbar("sweep " + text + " --db " + dir.file("c.sqlite"));
  EXPECT_EQ(not_a_number.exit_code, 2);
  EXPECT_THAT(not_a_number.err, StartsWith("qxbar: error: " + text + ":7:23: accuracy.calibration_images: "));
  for (const char* database : {"m.sqlite", "n.sqlite", "u.sqlite", "t.sqlite", "c.sqlite"}) {
    EXPECT_FALSE(std::filesystem::exists(dir.file(database)));
  }
}

// Every stored point's accuracy by "adc.bits network policy"; NaN where it is NULL.
std::map<std::string, double> point_accuracies(const std::string& db) {
  sqlite3* handle = nullptr;
  std::map<std::string, double> accuracies;
  EXPECT_EQ(sqlite3_open_v2(db.c_str(), &handle, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* select = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(handle, "SELECT \"adc.bits\", network, policy, accuracy FROM points", -1, &select, nullptr), SQLITE_OK);
  while (sqlite3_step(select) == SQLITE_ROW) {
    std::string key;
    for (int column = 0; column < 3; ++column) key += (column ? " " : "") + std::string(reinterpret_cast<const char*>(sqlite3_column_text(select, column)));
    accuracies[key] = sqlite3_column_type(select, 3) == SQLITE_NULL ? NAN : sqlite3_column_double(select, 3);
  }
  sqlite3_finalize(select);
  sqlite3_close(handle);
  return accuracies;
}

std::int64_t stored_count(const std::string& db, const std::string& table) {
  sqlite3* handle = nullptr;
  std::int64_t count = -1;
  EXPECT_EQ(sqlite3_open_v2(db.c_str(), &handle, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* select = nullptr;
  if (sqlite3_prepare_v2(handle, ("SELECT COUNT(*) FROM " + table).c_str(), -1, &select, nullptr) == SQLITE_OK &&
      sqlite3_step(select) == SQLITE_ROW) {
    count = sqlite3_column_int64(select, 0);
  }
  sqlite3_finalize(select);
  sqlite3_close(handle);
  return count;
}

double eval_accuracy(const std::string& arguments, const TempDir& dir) {
  const ProcessResult run = qxbar("-q eval --threads 1 --analog --hw cimaq_default --set crossbar.rows_per_read=16 --test-images 100 --json " + dir.file("eval.json") + " " + arguments);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  return nlohmann::json::parse(read_text(dir.file("eval.json")))["test_accuracy"].get<double>();
}

// Small batches: 50 steps learn the synthetic classes.
const std::string kTrainTiny =
    "-q train --net lenet5 --data synthetic --epochs 1 --val-size 200 --train-size 400 --batch-size 8 --threads 1 ";

// Two chips x two networks x two policies of a checkpoint at run/model.pt. LeNet-5 on CIFAR-10's geometry
// has other layers: its points are priced, not tested.
constexpr const char* kTestedSweep = R"(chip: cimaq_default
grid:
  adc.bits: [2, 8]
  crossbar.rows_per_read: [16]
networks: [lenet5-fmnist, lenet5-cifar10]
policies: ["8,8", "6,6"]
engine: analytical
accuracy:
  checkpoint: run/model.pt
  test_images: 100
)";

// Loses the tested 2-bit points as a crash would, after marking their stored accuracies with a value no
// evaluation of 100 images gives; returns the accuracies a resumed sweep must then store.
std::map<std::string, double> lose_two_bit_points(const std::string& db, std::map<std::string, double> accuracies) {
  sqlite3* handle = nullptr;
  EXPECT_EQ(sqlite3_open(db.c_str(), &handle), SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(handle, "UPDATE accuracies SET accuracy = 0.125 WHERE chip = (SELECT chip FROM points WHERE \"adc.bits\" = 2 "
                                 "LIMIT 1); DELETE FROM points WHERE \"adc.bits\" = 2 AND network = 'lenet5-fmnist'",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(handle);
  accuracies["2 lenet5-fmnist 8,8"] = accuracies["2 lenet5-fmnist 6,6"] = 0.125;
  return accuracies;
}

void expect_accuracies(const std::string& db, const std::map<std::string, double>& expected) {
  const std::map<std::string, double> stored = point_accuracies(db);
  ASSERT_EQ(stored.size(), expected.size());
  for (const auto& [point, value] : stored) {
    EXPECT_TRUE(value == expected.at(point) || (std::isnan(value) && std::isnan(expected.at(point)))) << point << ": " << value;
  }
}

TEST(Cli, SweepStoresAccuracyAsTheChipComputesIt) {
  TempDir dir;
  ASSERT_EQ(qxbar(kTrainTiny + "--bits 8,8 --out " + dir.file("run")).exit_code, 0);
  const std::string sweep = dir.write("sweep.yaml", kTestedSweep);
  const std::string db = dir.file("points.sqlite");
  const ProcessResult swept = qxbar("-q sweep " + sweep + " --threads 1 --db " + db + " --csv " + dir.file("a.csv"));
  ASSERT_EQ(swept.exit_code, 0) << swept.err;
  EXPECT_THAT(swept.out, HasSubstr("8 points, 8 priced and 0 invalid by 1 process, 0 stored before\n4 accuracies evaluated"));
  const std::map<std::string, double> accuracy = point_accuracies(db);
  ASSERT_EQ(accuracy.size(), 8u);
  for (const char* untested : {"2 lenet5-cifar10 8,8", "8 lenet5-cifar10 8,8", "2 lenet5-cifar10 6,6", "8 lenet5-cifar10 6,6"}) {
    EXPECT_TRUE(std::isnan(accuracy.at(untested))) << untested;
  }
  // Converters of 2 bits lose what 8 bits resolve (16 rows at once).
  EXPECT_LT(accuracy.at("2 lenet5-fmnist 8,8"), accuracy.at("8 lenet5-fmnist 8,8"));
  EXPECT_LT(accuracy.at("2 lenet5-fmnist 6,6"), accuracy.at("8 lenet5-fmnist 6,6"));
  // The accuracy eval reports for the same chip, under the checkpoint's policy and under another one.
  EXPECT_EQ(accuracy.at("8 lenet5-fmnist 8,8"), eval_accuracy("--ckpt " + dir.file("run/model.pt") + " --set adc.bits=8", dir));
  dir.write("w6a6.yaml", "layers:\n  conv1: {w_bits: 6, a_bits: 6}\n  conv2: {w_bits: 6, a_bits: 6}\n  fc1: {w_bits: 6, a_bits: 6}\n"
                         "  fc2: {w_bits: 6, a_bits: 6}\n  fc3: {w_bits: 6, a_bits: 6}\n");
  EXPECT_EQ(accuracy.at("2 lenet5-fmnist 6,6"),
            eval_accuracy("--ckpt " + dir.file("run/model.pt") + " --policy " + dir.file("w6a6.yaml") + " --set adc.bits=2", dir));
  const std::string csv = read_text(dir.file("a.csv"));
  EXPECT_THAT(csv, StartsWith("id,adc.bits,crossbar.rows_per_read,network,policy,status,"));
  EXPECT_THAT(csv, HasSubstr(",chip,accuracy,accuracy_std,chosen_policy,objective\n"));

  // Points lost in a crash are priced again on resume; their accuracies come from the store, not from
  // evaluating again.
  const std::map<std::string, double> marked = lose_two_bit_points(db, accuracy);
  const ProcessResult resumed = qxbar("-q sweep " + sweep + " --threads 1 --db " + db + " --resume");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_THAT(resumed.out, HasSubstr("8 points, 2 priced and 0 invalid by 1 process, 6 stored before\n0 accuracies evaluated"));
  expect_accuracies(db, marked);
  EXPECT_EQ(stored_count(db, "accuracies"), 4);

  // Another checkpoint at the same path is another sweep, and a checkpoint must fit one of the networks.
  ASSERT_EQ(qxbar(kTrainTiny + "--bits 6,6 --out " + dir.file("other")).exit_code, 0);
  std::filesystem::copy_file(dir.file("other/model.pt"), dir.file("run/model.pt"), std::filesystem::copy_options::overwrite_existing);
  expect_one_line_error(qxbar("-q sweep " + sweep + " --db " + db + " --resume"), db + ": holds the points of another sweep; choose another --db");
  const std::string unfit = dir.write("unfit.yaml", "grid:\n  adc.bits: [8]\nnetworks: [lenet5-cifar10]\npolicies: [\"8,8\"]\n"
                                                    "accuracy:\n  checkpoint: run/model.pt\n");
  expect_one_line_error(qxbar("sweep " + unfit + " --db " + dir.file("unfit.sqlite")),
                        unfit + ":6:15: accuracy.checkpoint: its network has the layers of none of the sweep's networks");
}

}  // namespace
}  // namespace qxbar

namespace qxbar {
namespace {

// 108 chips x 2 networks x 2 policies, priced afresh: long enough to be killed in the middle.
constexpr const char* kDesignSweep = R"(chip: isaac
grid:
  crossbar.rows: [64, 128, 256, 512]
  crossbar.cell_bits: [1, 2, 4]
  adc.bits: [4, 6, 8]
  adc.columns_per_adc: [1, 8, 32]
networks: [lenet5-fmnist, resnet18-imagenet]
policies: ["8,8", "4,4"]
)";

std::int64_t stored_points(const std::string& db) {
  sqlite3* handle = nullptr;
  std::int64_t count = 0;
  if (sqlite3_open_v2(db.c_str(), &handle, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* select = nullptr;
    if (sqlite3_prepare_v2(handle, "SELECT COUNT(*) FROM points", -1, &select, nullptr) == SQLITE_OK &&
        sqlite3_step(select) == SQLITE_ROW) {
      count = sqlite3_column_int64(select, 0);
    }
    sqlite3_finalize(select);
  }
  sqlite3_close(handle);
  return count;
}

TEST(Cli, SweepKilledWithSigkillResumesToTheSameTable) {
  TempDir dir;
  const std::string sweep = dir.write("design.yaml", kDesignSweep);
  const std::string options = " --no-cache";
  ASSERT_EQ(qxbar("-q sweep " + sweep + " --db " + dir.file("whole.sqlite") + " --csv " + dir.file("whole.csv") + options).exit_code, 0);

  const std::string killed = dir.file("killed.sqlite");
  ASSERT_TRUE(kill_when("sweep " + sweep + " --db " + killed + options, [&] { return stored_points(killed) > 0; }))
      << "the sweep ended before it could be killed";
  const std::int64_t survived = stored_points(killed);
  ASSERT_LT(survived, 432);

  const ProcessResult resumed = qxbar("-q sweep " + sweep + " --db " + killed + " --resume --csv " + dir.file("resumed.csv") + options);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_THAT(resumed.out, HasSubstr(std::to_string(432 - survived) + " priced and 0 invalid by 1 process, " +
                                     std::to_string(survived) + " stored before"));
  EXPECT_EQ(read_text(dir.file("resumed.csv")), read_text(dir.file("whole.csv")));
}

TEST(Cli, SweepShardsMergeIntoTheTableOfOneProcess) {
  TempDir dir;
  const std::string sweep = dir.write("design.yaml", kDesignSweep);
  ASSERT_EQ(qxbar("-q sweep " + sweep + " --db " + dir.file("whole.sqlite") + " --csv " + dir.file("whole.csv")).exit_code, 0);
  for (const char* shard : {"0/2", "1/2"}) {
    const ProcessResult part = qxbar("-q sweep " + sweep + " --shard " + shard + " --db " + dir.file(std::string("part") + shard[0] + ".sqlite"));
    ASSERT_EQ(part.exit_code, 0) << part.err;
    // Dealt evenly: each shard prices half of the 432 points.
    EXPECT_THAT(part.out, HasSubstr("432 points, 216 priced"));
  }
  const ProcessResult merged = qxbar("-q sweep " + sweep + " --db " + dir.file("merged.sqlite") + " --merge " +
                                     dir.file("part0.sqlite") + " " + dir.file("part1.sqlite") + " --csv " + dir.file("merged.csv"));
  ASSERT_EQ(merged.exit_code, 0) << merged.err;
  EXPECT_THAT(merged.out, HasSubstr("432 points added from 2 databases"));
  EXPECT_EQ(read_text(dir.file("merged.csv")), read_text(dir.file("whole.csv")));

  const std::string other = dir.write("other.yaml", "grid:\n  crossbar.rows: [64]\nnetworks: [lenet5-fmnist]\npolicies: [\"8,8\"]\n");
  ASSERT_EQ(qxbar("-q sweep " + other + " --db " + dir.file("other.sqlite")).exit_code, 0);
  expect_one_line_error(qxbar("-q sweep " + sweep + " --db " + dir.file("merged.sqlite") + " --merge " + dir.file("other.sqlite")),
                        dir.file("other.sqlite") + ": holds the points of another sweep");
  // A source that is no sweep database is blamed, and no new target is left behind.
  const std::string garbage = dir.write("garbage.sqlite", "not a database\n");
  expect_one_line_error(qxbar("-q sweep " + sweep + " --db " + dir.file("new.sqlite") + " --merge " + dir.file("part0.sqlite") + " " + garbage),
                        garbage + ": not a sweep database");
  EXPECT_FALSE(std::filesystem::exists(dir.file("new.sqlite")));
  expect_one_line_error(qxbar("-q sweep " + sweep + " --db " + dir.file("x.sqlite") + " --shard 2/2"),
                        "--shard 2/2: expected K/N with 0 <= K < N");
}

#ifdef QXBAR_MPIEXEC
// Runs qxbar on two MPI ranks; `err` is empty, both streams are in `out`.
ProcessResult on_two_ranks(const std::string& arguments) {
  // Containers run tests as root and may forbid the cross-process memory copies Open MPI tries first.
  const std::string command = "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl_vader_single_copy_mechanism=none " +
                              std::string(QXBAR_MPIEXEC) + " -np 2 --oversubscribe " + QXBAR_BINARY + " " + arguments + " 2>&1";
  std::FILE* pipe = ::popen(command.c_str(), "r");
  std::string out;
  char buffer[4096];
  while (std::size_t read = std::fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, read);
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out, ""};
}

TEST(Cli, SweepOnTwoMpiRanksGivesTheTableOfOneProcess) {
  TempDir dir;
  const std::string sweep = dir.write("design.yaml", kDesignSweep);
  ASSERT_EQ(qxbar("-q sweep " + sweep + " --db " + dir.file("one.sqlite") + " --csv " + dir.file("one.csv")).exit_code, 0);
  const ProcessResult two = on_two_ranks("-q sweep " + sweep + " --db " + dir.file("two.sqlite") + " --csv " + dir.file("two.csv"));
  ASSERT_EQ(two.exit_code, 0) << two.out;
  EXPECT_THAT(two.out, HasSubstr("432 points, 432 priced and 0 invalid by 2 processes, 0 stored before"));
  EXPECT_EQ(read_text(dir.file("two.csv")), read_text(dir.file("one.csv")));

  // Every rank finds the mistake; one reports it.
  const std::string misspelt = dir.write("bad.yaml", "grid:\n  crossbar.row: [64]\nnetworks: [lenet5-fmnist]\npolicies: [\"8,8\"]\n");
  const ProcessResult failed = on_two_ranks("sweep " + misspelt + " --db " + dir.file("bad.sqlite"));
  EXPECT_EQ(failed.exit_code, 2) << failed.out;
  const std::string error = "qxbar: error: " + misspelt + ":2:3: grid.crossbar.row: not a chip key";
  ASSERT_NE(failed.out.find(error), std::string::npos) << failed.out;
  EXPECT_EQ(failed.out.find(error, failed.out.find(error) + 1), std::string::npos) << failed.out;
}

TEST(Cli, SweepOnTwoMpiRanksStoresTheAccuraciesOfOneProcess) {
  TempDir dir;
  ASSERT_EQ(qxbar(kTrainTiny + "--bits 8,8 --out " + dir.file("run")).exit_code, 0);
  const std::string sweep = dir.write("sweep.yaml", kTestedSweep);
  ASSERT_EQ(qxbar("-q sweep " + sweep + " --threads 1 --db " + dir.file("one.sqlite") + " --csv " + dir.file("one.csv")).exit_code, 0);
  const std::string db = dir.file("two.sqlite");
  const ProcessResult two = on_two_ranks("-q sweep " + sweep + " --threads 1 --db " + db + " --csv " + dir.file("two.csv"));
  ASSERT_EQ(two.exit_code, 0) << two.out;
  EXPECT_THAT(two.out, HasSubstr("8 points, 8 priced and 0 invalid by 2 processes, 0 stored before\n4 accuracies evaluated"));
  EXPECT_EQ(read_text(dir.file("two.csv")), read_text(dir.file("one.csv")));
  // The two lost points are dealt one to each rank: both take their accuracy from what rank 0 read.
  const std::map<std::string, double> marked = lose_two_bit_points(db, point_accuracies(db));
  const ProcessResult resumed = on_two_ranks("-q sweep " + sweep + " --threads 1 --db " + db + " --resume");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.out;
  EXPECT_THAT(resumed.out, HasSubstr("8 points, 2 priced and 0 invalid by 2 processes, 6 stored before\n0 accuracies evaluated"));
  expect_accuracies(db, marked);
}

TEST(Cli, CodesignOnTwoMpiRanksGivesThePointsOfOneProcess) {
  TempDir dir;
  dir.write("tiny.yaml", kTinyRecipe);
  const std::string plan = dir.write("codesign.yaml", "recipe: tiny.yaml\ngrid:\n  crossbar.cell_bits: [1, 2, 4]\n  adc.bits: [4, 8]\n"
                                                      "budgets: [0.4, 0.7]\nfinalists: 1\ntrainings: 1\n");
  const std::string arguments = "-q codesign " + plan + " --threads 1 --set search.limpq.epochs=1 --out ";
  const ProcessResult one = qxbar(arguments + dir.file("one"));
  ASSERT_EQ(one.exit_code, 0) << one.err;
  const ProcessResult two = on_two_ranks(arguments + dir.file("two"));
  ASSERT_EQ(two.exit_code, 0) << two.out;
  EXPECT_THAT(two.out, HasSubstr("by 2 processes"));
  const std::string csv = sweep_csv(read_sweep(dir.file("one/codesign/points.sqlite")));
  EXPECT_THAT(csv, HasSubstr("latency budget 0.7"));
  EXPECT_EQ(sweep_csv(read_sweep(dir.file("two/codesign/points.sqlite"))), csv);
}

#endif

}  // namespace
}  // namespace qxbar
