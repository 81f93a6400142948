#include "sim/core/policy.h"

#include <gmock/gmock.h>

#include <filesystem>

#include "sim/core/atomic_file.h"
#include "tests/test_support.h"

namespace qxbar {
namespace {

using ::testing::HasSubstr;
using qxbar::testing::TempDir;
using qxbar::testing::error_message;

const Workload kNet{"tiny", {{"conv1", LayerKind::Conv, 9, 8, 16, 1}, {"fc", LayerKind::Dense, 32, 10, 1, 1}}};

TEST(Policy, YamlAndNpyRoundTrip) {
  TempDir dir;
  const Policy policy{{{8, 8}, {3, 5}}};
  write_file_atomically(dir.file("p.yaml"), policy_yaml_text(kNet, policy));
  write_file_atomically(dir.file("p.npy"), policy_npy_bytes(policy));
  EXPECT_EQ(load_policy(dir.file("p.yaml"), kNet).layers, policy.layers);
  EXPECT_EQ(load_policy(dir.file("p.npy"), kNet).layers, policy.layers);
  EXPECT_EQ(policy_summary(policy), "8/8;3/5");
}

TEST(Policy, EnergiesPerCellReadRoundTripThroughEveryForm) {
  TempDir dir;
  const Policy policy{{{8, 8}, {3, 5, 2.5}}};
  write_file_atomically(dir.file("p.yaml"), policy_yaml_text(kNet, policy));
  write_file_atomically(dir.file("p.npy"), policy_npy_bytes(policy));
  EXPECT_EQ(load_policy(dir.file("p.yaml"), kNet).layers, policy.layers);
  EXPECT_EQ(load_policy(dir.file("p.npy"), kNet).layers, policy.layers);
  EXPECT_EQ(policy_summary(policy), "8/8;3/5@2.5");
  EXPECT_EQ(parse_policy_summary("8/8;3/5@2.5", "t").layers, policy.layers);
  EXPECT_FALSE(load_policy(dir.file("p.yaml"), kNet).layers[0].read_energy_fj_per_cell.has_value());
  EXPECT_FALSE((Bits{3, 5, 2.5}) == (Bits{3, 5}));
}

TEST(Policy, PerChannelWidthsRoundTripThroughYamlAndSummary) {
  TempDir dir;
  const Policy policy{{Bits::per_channel({4, 4, 2, 8, 8, 8, 2, 4}, 6), {3, 5, 2.5}}};
  EXPECT_EQ(policy.layers[0].w, 8);
  EXPECT_TRUE(policy.is_per_channel());
  write_policy_files(dir.file("p"), kNet, policy);
  EXPECT_EQ(load_policy(dir.file("p.yaml"), kNet).layers, policy.layers);
  EXPECT_FALSE(std::filesystem::exists(dir.file("p.npy")));  // CIM-AQ's array cannot hold it
  EXPECT_EQ(policy_summary(policy), "[4x2,2x1,8x3,2x1,4x1]/6;3/5@2.5");
  EXPECT_EQ(parse_policy_summary(policy_summary(policy), "t").layers, policy.layers);
  EXPECT_FALSE(Bits::per_channel({8, 8}, 8) == Bits(8, 8));
  EXPECT_THROW(policy_npy_bytes(policy), std::invalid_argument);
}

TEST(Policy, BadPerChannelWidthsNameTheirKey) {
  TempDir dir;
  const std::string count = dir.write("count.yaml", "layers:\n  conv1: {w_bits: [4, 4], a_bits: 4}\n  fc: {w_bits: 4, a_bits: 4}\n");
  EXPECT_EQ(error_message<DataError>([&] { load_policy(count, kNet); }),
            count + ":2:19: layers.conv1.w_bits: one width per output channel: conv1 has 8, the list 2");
  const std::string width = dir.write(
      "width.yaml", "layers:\n  conv1: {w_bits: [4, 4, 4, 17, 4, 4, 4, 4], a_bits: 4}\n  fc: {w_bits: 4, a_bits: 4}\n");
  EXPECT_EQ(error_message<DataError>([&] { load_policy(width, kNet); }),
            width + ":2:29: layers.conv1.w_bits[3]: bits must be 1 to 16, got 17");
  for (const std::string bad : {"[4x0]/8", "[4]/8", "[]/8", "[4x2,]/8", "[0x2]/8", "[4x9999999,4x9999999]/8"}) {
    EXPECT_THROW(parse_policy_summary(bad, "db"), DataError) << bad;
  }
}

TEST(Policy, BadEnergiesNameTheirKey) {
  TempDir dir;
  const std::string negative = dir.write(
      "negative.yaml", "layers:\n  conv1: {w_bits: 4, a_bits: 4}\n  fc: {w_bits: 4, a_bits: 4, read_energy_fj_per_cell: -1}\n");
  EXPECT_EQ(error_message<DataError>([&] { load_policy(negative, kNet); }),
            negative + ":3:55: layers.fc.read_energy_fj_per_cell: energy per cell read must be a positive number of fJ, got -1");
  const std::string text = dir.write(
      "text.yaml", "layers:\n  conv1: {w_bits: 4, a_bits: 4, read_energy_fj_per_cell: lots}\n  fc: {w_bits: 4, a_bits: 4}\n");
  EXPECT_THAT(error_message<DataError>([&] { load_policy(text, kNet); }), HasSubstr("layers.conv1.read_energy_fj_per_cell"));
  EXPECT_THAT(error_message<DataError>([&] { parse_policy_summary("8/8@0", "db"); }), HasSubstr("positive number of fJ, got 0"));
  EXPECT_THAT(error_message<DataError>([&] { parse_policy_summary("8/8@2x", "db"); }), HasSubstr("after '@', got '2x'"));
  EXPECT_THAT(error_message<DataError>([&] { parse_policy_summary("8@2/8", "db"); }), HasSubstr("W/A[@fJ]"));
}

TEST(Policy, YamlErrorsNameFileLineAndKey) {
  TempDir dir;
  const std::string missing = dir.write("missing.yaml", "layers:\n  conv1: {w_bits: 4, a_bits: 4}\n");
  EXPECT_EQ(error_message<DataError>([&] { load_policy(missing, kNet); }),
            missing + ":2:3: layers.fc: no bits for this layer of tiny");
  const std::string extra = dir.write("extra.yaml",
                                      "layers:\n  conv1: {w_bits: 4, a_bits: 4}\n  fc: {w_bits: 4, a_bits: 4}\n"
                                      "  fc2: {w_bits: 4, a_bits: 4}\n");
  EXPECT_EQ(error_message<DataError>([&] { load_policy(extra, kNet); }), extra + ":4:3: layers.fc2: unknown key");
  const std::string range = dir.write("range.yaml", "layers:\n  conv1: {w_bits: 0, a_bits: 4}\n  fc: {w_bits: 4, a_bits: 4}\n");
  EXPECT_EQ(error_message<DataError>([&] { load_policy(range, kNet); }),
            range + ":2:19: layers.conv1.w_bits: bits must be 1 to 16, got 0");
  const std::string typo = dir.write("typo.yaml", "layers:\n  conv1: {w_bit: 4, a_bits: 4}\n  fc: {w_bits: 4, a_bits: 4}\n");
  EXPECT_THAT(error_message<DataError>([&] { load_policy(typo, kNet); }), HasSubstr("layers.conv1.w_bits: required key is missing"));
}

TEST(Policy, APolicyForAnotherNetworkIsRefused) {
  TempDir dir;
  const std::string layers = "layers:\n  conv1: {w_bits: 4, a_bits: 4}\n  fc: {w_bits: 4, a_bits: 4}\n";
  const std::string other = dir.write("other.yaml", "network: resnet18\n" + layers);
  EXPECT_EQ(error_message<DataError>([&] { load_policy(other, kNet); }),
            other + ":1:10: network: the policy was made for resnet18, not tiny");
  // The same network, named with or without its dataset.
  const Workload on_dataset{"tiny-fmnist", kNet.layers};
  EXPECT_EQ(load_policy(dir.write("same.yaml", "network: tiny\n" + layers), on_dataset).layers.size(), 2u);
  EXPECT_EQ(load_policy(dir.write("same2.yaml", "network: tiny-fmnist\n" + layers), kNet).layers.size(), 2u);
}

TEST(Policy, NpyMustMatchTheWorkload) {
  TempDir dir;
  write_file_atomically(dir.file("three.npy"), policy_npy_bytes(Policy{{{8, 8}, {8, 8}, {8, 8}}}));
  EXPECT_THAT(error_message<DataError>([&] { load_policy(dir.file("three.npy"), kNet); }),
              HasSubstr("policy has 3 layers, tiny has 2"));
  write_file_atomically(dir.file("zero.npy"), policy_npy_bytes(Policy{{{8, 8}, {0, 8}}}));
  EXPECT_THAT(error_message<DataError>([&] { load_policy(dir.file("zero.npy"), kNet); }),
              HasSubstr("[1,0]: bits must be 1 to 16, got 0"));
  EXPECT_THAT(error_message<DataError>([&] { load_policy(dir.file("p.csv"), kNet); }), HasSubstr("no such policy file"));
}

TEST(Policy, ParseBits) {
  EXPECT_EQ(parse_bits("4,8", "--bits"), (Bits{4, 8}));
  EXPECT_THROW(parse_bits("4", "--bits"), ConfigError);
  EXPECT_THROW(parse_bits("4,8,2", "--bits"), ConfigError);
  EXPECT_THROW(parse_bits("4,x", "--bits"), ConfigError);
  EXPECT_THROW(parse_bits("0,8", "--bits"), UserError);
}

}  // namespace
}  // namespace qxbar
