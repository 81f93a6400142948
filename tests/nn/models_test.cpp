#include "nn/models.h"

#include <gmock/gmock.h>

#include <set>

#include "sim/core/errors.h"

namespace qxbar {
namespace {

TEST(Models, EveryArchitectureRunsOnFashionMnistGeometry) {
  torch::manual_seed(0);
  for (const std::string& architecture : architecture_names()) {
    ModelSpec spec = spec_for_dataset(architecture, "fmnist");
    spec.width = 0.5;
    Model model(spec);
    const torch::Tensor logits = model.forward(torch::randn({2, 1, 28, 28}));
    EXPECT_EQ(logits.sizes(), (std::vector<std::int64_t>{2, 10})) << architecture;
    EXPECT_EQ(model.workload().layers.size(), model.layer_count()) << architecture;
    std::set<std::string> names;
    for (const LayerShape& layer : model.workload().layers) names.insert(layer.name);
    EXPECT_EQ(names.size(), model.layer_count()) << architecture << ": layer names must be unique";
  }
}

TEST(Models, ResNet20HasTheCifarLayout) {
  Model model(spec_for_dataset("resnet20", "cifar10"));
  // Stem, 9 blocks of two convolutions, two downsamples, classifier.
  EXPECT_EQ(model.layer_count(), 22u);
  EXPECT_EQ(model.workload().layers[0].mvm_invocations, 32 * 32);
  EXPECT_EQ(model.workload().layers.back().name, "fc");
}

TEST(Models, DepthwiseConvolutionsMapBlockDiagonally) {
  Model model(spec_for_dataset("mobilenetv2", "cifar10"));
  const Workload& workload = model.workload();
  const auto depthwise = std::find_if(workload.layers.begin(), workload.layers.end(),
                                      [](const LayerShape& layer) { return layer.name == "blocks.1.depthwise"; });
  ASSERT_NE(depthwise, workload.layers.end());
  EXPECT_EQ(depthwise->output_dim, 96);  // 16 channels expanded six times
  EXPECT_EQ(depthwise->input_dim, 96 * 3 * 3);
}

TEST(Models, PoliciesSetEveryLayer) {
  Model model(spec_for_dataset("lenet5", "fmnist"));
  const Policy policy{{{8, 8}, {4, 5}, {3, 3}, {2, 6}, {8, 8}}};
  model.set_policy(policy);
  EXPECT_EQ(model.policy().layers, policy.layers);
  EXPECT_EQ(model.layer(1).bits(), (Bits{4, 5}));
  EXPECT_THROW(model.set_policy(Policy{{{8, 8}}}), DataError);
}

TEST(Models, QuantizedForwardUsesFewLevels) {
  torch::manual_seed(1);
  Model model(spec_for_dataset("lenet5", "fmnist"));
  model.set_policy(Policy{std::vector<Bits>(5, Bits{2, 2})});
  model.forward(torch::randn({4, 1, 28, 28}));
  const torch::Tensor weight = model.layer(2).weight_quantizer()(model.layer(2).weight());
  EXPECT_LE(std::get<0>(torch::_unique(weight)).numel(), 3);
}

}  // namespace
}  // namespace qxbar

namespace qxbar {
namespace {

TEST(Deployment, FoldingBatchNormKeepsTheFloatFunction) {
  torch::manual_seed(4);
  Model model(spec_for_dataset("resnet20", "cifar10"));
  // Give the batch norms non-trivial statistics, then compare in evaluation mode.
  model.network().train();
  model.forward(torch::randn({16, 3, 32, 32}));
  model.network().eval();
  const torch::Tensor input = torch::randn({4, 3, 32, 32});
  const torch::Tensor before = model.forward(input);
  Model folded = fold_batch_norm(model);
  EXPECT_TRUE(torch::allclose(folded.forward(input), before, 1e-4, 1e-4));
}

TEST(Deployment, FoldingKeepsThePolicy) {
  Model model(spec_for_dataset("lenet5", "fmnist"));
  Policy policy = uniform_policy(model.workload(), {6, 5});
  policy.layers[1].read_energy_fj_per_cell = 7.5;
  model.set_policy(policy);
  EXPECT_EQ(fold_batch_norm(model).policy().layers, policy.layers);
}

// The largest difference between a trained model's evaluation output and its folded deployment's at W4A4,
// relative to the output's range.
double deployment_difference(bool fold_in_training) {
  torch::manual_seed(6);
  ModelSpec spec = spec_for_dataset("resnet20", "cifar10");
  spec.quant.fold_batch_norm = fold_in_training;
  Model model(spec);
  model.set_policy(uniform_policy(model.workload(), {4, 4}));
  {
    const torch::NoGradGuard no_grad;
    for (auto& [conv, norm] : model.network().batch_norm_pairs()) norm->weight.uniform_(0.2, 2.0);
  }
  model.network().train();
  model.forward(torch::randn({16, 3, 32, 32}));  // batch statistics, calibrated quantizers
  model.network().eval();
  const torch::Tensor input = torch::randn({8, 3, 32, 32});
  const torch::Tensor trained = model.forward(input);
  Model folded = fold_batch_norm(model);
  return (folded.forward(input) - trained).abs().max().item<double>() / trained.abs().max().item<double>();
}

TEST(Deployment, TrainingWithFoldedBatchNormsEvaluatesWhatIsDeployed) {
  const double folded = deployment_difference(true);
  EXPECT_LT(folded, 1e-4);
  // Quantizing the convolution alone and folding afterwards changes the function at four bits.
  EXPECT_GT(deployment_difference(false), 100 * folded);
}

TEST(Deployment, IntegerArithmeticMatchesFakeQuantization) {
  torch::manual_seed(5);
  for (const char* architecture : {"lenet5", "vgg-small", "mobilenetv2"}) {
    ModelSpec spec = spec_for_dataset(architecture, "fmnist");
    spec.width = 0.5;
    spec.quant.per_channel = true;
    Model model(spec);
    model.set_policy(uniform_policy(model.workload(), {4, 6}));
    model.network().train();
    model.forward(torch::randn({16, 1, 28, 28}));  // calibrates the quantizers
    model.network().eval();
    Model folded = fold_batch_norm(model);
    const torch::Tensor input = torch::randn({8, 1, 28, 28});
    const torch::Tensor fake = folded.forward(input);
    folded.set_integer_arithmetic(true);
    const torch::Tensor integer = folded.forward(input);
    const double spread = fake.abs().max().item<double>();
    EXPECT_LT((integer - fake).abs().max().item<double>(), 1e-3 * spread) << architecture;
    EXPECT_TRUE(torch::equal(integer.argmax(1), fake.argmax(1))) << architecture;
  }
}

}  // namespace
}  // namespace qxbar

namespace qxbar {
namespace {

TEST(Deployment, IntegerProductsAreExactInFloat32Pieces) {
  const Product convolution = [](const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
    return torch::conv2d(x, w, b, 1, 1);
  };
  torch::manual_seed(5);
  // 256 * 3 * 3 terms of 8-bit by 8-bit products reach 2^26: one float32 convolution would round.
  const torch::Tensor weight = torch::randint(-128, 128, {4, 256, 3, 3}, torch::kFloat64);
  for (const auto& [low, high] : {std::pair{0, 256}, std::pair{-128, 128}, std::pair{0, 16}}) {
    const torch::Tensor input = torch::randint(low, high, {2, 256, 5, 5}, torch::kFloat64);
    const torch::Tensor exact = convolution(input, weight, {}).to(torch::kInt64);
    EXPECT_TRUE(torch::equal(exact_integer_product(input, weight, convolution), exact)) << low << ".." << high;
  }
  // Extreme values everywhere: every partial sum at its largest.
  const torch::Tensor full = torch::full({1, 256, 3, 3}, 255.0, torch::kFloat64);
  const torch::Tensor most_negative = torch::full({1, 256, 3, 3}, -128.0, torch::kFloat64);
  // The centre output sums all 256 * 9 products.
  EXPECT_EQ(exact_integer_product(full, most_negative, convolution).flatten()[4].item<std::int64_t>(), 255LL * -128 * 256 * 9);
}

}  // namespace
}  // namespace qxbar
