#include "nn/builtin_workloads.h"

#include <gmock/gmock.h>

#include "sim/core/errors.h"
#include "tests/test_support.h"

namespace qxbar {
namespace {

using ::testing::StartsWith;
using qxbar::testing::source_path;

void expect_same_shapes(const Workload& actual, const Workload& expected) {
  ASSERT_EQ(actual.layers.size(), expected.layers.size());
  for (std::size_t i = 0; i < actual.layers.size(); ++i) {
    const LayerShape& a = actual.layers[i];
    const LayerShape& e = expected.layers[i];
    EXPECT_EQ(a.kind, e.kind) << a.name;
    EXPECT_EQ(a.input_dim, e.input_dim) << a.name;
    EXPECT_EQ(a.output_dim, e.output_dim) << a.name;
    EXPECT_EQ(a.mvm_invocations, e.mvm_invocations) << a.name;
    EXPECT_EQ(a.repeat_factor, e.repeat_factor) << a.name;
  }
}

TEST(BuiltinWorkloads, Resnet18MatchesCimaqLayerTable) {
  const Workload resnet = builtin_workload("resnet18-imagenet");
  expect_same_shapes(resnet, load_cimaq_layer_file(source_path("tests/data/resnet18_layer_dimensions.yaml")));
  EXPECT_EQ(resnet.layers[5].name, "layer2.0.downsample");
  EXPECT_EQ(resnet.layers.back().name, "fc");
}

TEST(BuiltinWorkloads, Vgg16MatchesCimaqLayerTable) {
  expect_same_shapes(builtin_workload("vgg16-imagenet"),
                     load_cimaq_layer_file(source_path("tests/data/vgg16_layer_dimensions.yaml")));
}

TEST(BuiltinWorkloads, Lenet5OnFashionMnist) {
  const Workload lenet = builtin_workload("lenet5-fmnist");
  ASSERT_EQ(lenet.layers.size(), 5u);
  EXPECT_EQ(lenet.layers[0].input_dim, 25);
  EXPECT_EQ(lenet.layers[0].mvm_invocations, 28 * 28);
  EXPECT_EQ(lenet.layers[1].input_dim, 6 * 25);
  EXPECT_EQ(lenet.layers[1].mvm_invocations, 10 * 10);
  EXPECT_EQ(lenet.layers[2].input_dim, 400);
  EXPECT_EQ(lenet.layers[4].output_dim, 10);
}

TEST(BuiltinWorkloads, NamesAndFilesResolve) {
  EXPECT_EQ(resolve_workload(source_path("tests/data/vgg16_layer_dimensions.yaml")).layers.size(), 16u);
  // The reason alone: the caller says where the name came from (--net, a sweep file's line).
  EXPECT_THAT(qxbar::testing::error_message<ConfigError>([] { resolve_workload("resnet19-imagenet"); }),
              StartsWith("unknown network 'resnet19' (choose lenet5, vgg-small, resnet20, resnet18, vgg16, mobilenetv2"));
  EXPECT_THAT(qxbar::testing::error_message<ConfigError>([] { resolve_workload("resnet18-svhn"); }),
              StartsWith("unknown input geometry 'svhn'"));
  EXPECT_EQ(qxbar::testing::error_message<ConfigError>([] { resolve_workload("missing.yaml"); }), "no such layer-dimension file");
}

}  // namespace
}  // namespace qxbar
