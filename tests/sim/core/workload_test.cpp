#include "sim/core/workload.h"

#include <gmock/gmock.h>

#include "sim/core/atomic_file.h"
#include "tests/test_support.h"

namespace qxbar {
namespace {

using ::testing::HasSubstr;
using qxbar::testing::TempDir;
using qxbar::testing::error_message;

TEST(CimaqLayerFile, ReadsProductsAndOptionalFields) {
  TempDir dir;
  const std::string path = dir.write("net.yaml",
                                     "layer_dimensions:\n"
                                     "  - {type: Conv2D, output_dim: 64, input_dim: 64*3*3, mvm_invocations: 56 * 56}\n"
                                     "  - {type: MatMul, output_dim: 64, input_dim: 128, mvm_invocations: 50, repeat_factor: 12}\n"
                                     "  - {type: Dense, output_dim: 10, input_dim: 512}\n");
  const Workload workload = load_cimaq_layer_file(path);
  ASSERT_EQ(workload.layers.size(), 3u);
  EXPECT_EQ(workload.name, "net");
  EXPECT_EQ(workload.layers[0].input_dim, 576);
  EXPECT_EQ(workload.layers[0].mvm_invocations, 3136);
  EXPECT_EQ(workload.layers[1].kind, LayerKind::MatMul);
  EXPECT_EQ(workload.layers[1].repeat_factor, 12);
  EXPECT_EQ(workload.layers[2].mvm_invocations, 1);
  EXPECT_EQ(workload.layers[2].name, "dense2");
}

TEST(CimaqLayerFile, WrittenTextReadsBackTheSame) {
  TempDir dir;
  const Workload original{"net", {{"a", LayerKind::Conv, 27, 16, 1024, 1}, {"b", LayerKind::MatMul, 64, 64, 50, 12}}};
  write_file_atomically(dir.file("net.yaml"), cimaq_layer_file_text(original));
  const Workload back = load_cimaq_layer_file(dir.file("net.yaml"));
  ASSERT_EQ(back.layers.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(back.layers[i].kind, original.layers[i].kind);
    EXPECT_EQ(back.layers[i].input_dim, original.layers[i].input_dim);
    EXPECT_EQ(back.layers[i].output_dim, original.layers[i].output_dim);
    EXPECT_EQ(back.layers[i].mvm_invocations, original.layers[i].mvm_invocations);
    EXPECT_EQ(back.layers[i].repeat_factor, original.layers[i].repeat_factor);
  }
}

TEST(CimaqLayerFile, NeverEvaluatesAnythingButProducts) {
  TempDir dir;
  const auto error_for = [&](const std::string& input_dim) {
    const std::string path = dir.write("bad.yaml", "layer_dimensions:\n  - type: Dense\n    output_dim: 10\n"
                                                   "    input_dim: " + input_dim + "\n");
    return error_message<ConfigError>([&] { load_cimaq_layer_file(path); });
  };
  EXPECT_THAT(error_for("'__import__(\"os\")'"), HasSubstr(":4:16: layer_dimensions[0].input_dim: expected an integer or a product"));
  EXPECT_THAT(error_for("64+3"), HasSubstr("expected an integer or a product"));
  EXPECT_THAT(error_for("64**3"), HasSubstr("expected an integer or a product"));
  EXPECT_THAT(error_for("0*3"), HasSubstr("must be positive"));
  EXPECT_THAT(error_for("99999999999*99999999999"), HasSubstr("value too large"));
}

TEST(CimaqLayerFile, StructuralErrorsNameTheKey) {
  TempDir dir;
  const std::string unknown = dir.write("u.yaml", "layer_dimensions:\n  - {type: Dense, output_dim: 10, input_dim: 5, kernel: 3}\n");
  EXPECT_EQ(error_message<ConfigError>([&] { load_cimaq_layer_file(unknown); }),
            unknown + ":2:49: layer_dimensions[0].kernel: unknown key");
  const std::string kind = dir.write("k.yaml", "layer_dimensions:\n  - {type: Pool, output_dim: 10, input_dim: 5}\n");
  EXPECT_THAT(error_message<ConfigError>([&] { load_cimaq_layer_file(kind); }),
              HasSubstr("layer_dimensions[0].type: must be one of Conv2D, Dense, MatMul, got 'Pool'"));
  const std::string empty = dir.write("e.yaml", "layer_dimensions: []\n");
  EXPECT_THAT(error_message<ConfigError>([&] { load_cimaq_layer_file(empty); }), HasSubstr("expected a non-empty list"));
  const std::string missing = dir.write("m.yaml", "layers: []\n");
  EXPECT_THAT(error_message<ConfigError>([&] { load_cimaq_layer_file(missing); }),
              HasSubstr("layer_dimensions: required key is missing"));
}

}  // namespace
}  // namespace qxbar
