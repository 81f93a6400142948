#include "sim/core/npy.h"

#include <gmock/gmock.h>

#include "sim/core/atomic_file.h"
#include "sim/core/errors.h"
#include "tests/test_support.h"

namespace qxbar {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using qxbar::testing::TempDir;
using qxbar::testing::error_message;

TEST(Npy, Float64RoundTripKeepsShapeAndValues) {
  TempDir dir;
  NpyArray table{{2, 3, 2}, {}};
  for (int i = 0; i < 12; ++i) table.values.push_back(i * 1.25 - 3);
  write_file_atomically(dir.file("t.npy"), encode_npy(table, NpyType::Float64));
  const NpyArray back = read_npy(dir.file("t.npy"));
  EXPECT_EQ(back.shape, table.shape);
  EXPECT_EQ(back.values, table.values);
}

TEST(Npy, HeaderFollowsTheFormatSpecification) {
  const std::string bytes = encode_npy({{4, 2}, {1, 2, 3, 4, 5, 6, 7, 8}}, NpyType::Int64);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  const std::size_t header_length = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
  EXPECT_EQ((10 + header_length) % 64, 0u);  // data aligned to 64 bytes
  EXPECT_THAT(bytes.substr(10, header_length), HasSubstr("'descr': '<i8', 'fortran_order': False, 'shape': (4, 2), }"));
  EXPECT_EQ(bytes.size(), 10 + header_length + 8 * 8);
  EXPECT_THAT(encode_npy({{3}, {1, 2, 3}}, NpyType::Float64), HasSubstr("'shape': (3,)"));
}

// Builds a version-1 file by hand, as NumPy would write it, with the given header dictionary and body.
std::string handmade_npy(const std::string& dictionary, const std::string& body) {
  std::string header = dictionary;
  header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::string bytes("\x93NUMPY\x01\x00", 8);
  bytes += static_cast<char>(header.size());
  bytes += '\0';
  return bytes + header + body;
}

TEST(Npy, ReadsInt32PoliciesAsWrittenByNumpy) {
  TempDir dir;
  std::string body;
  for (const std::int32_t value : {8, 8, 4, 5}) body.append(reinterpret_cast<const char*>(&value), 4);
  dir.write("p.npy", handmade_npy("{'descr': '<i4', 'fortran_order': False, 'shape': (2, 2), }", body));
  const NpyArray array = read_npy(dir.file("p.npy"));
  EXPECT_THAT(array.shape, ElementsAre(2, 2));
  EXPECT_THAT(array.values, ElementsAre(8, 8, 4, 5));
}

TEST(Npy, RejectsWhatItCannotRepresent) {
  TempDir dir;
  const std::string eight(8, '\0');
  dir.write("fortran.npy", handmade_npy("{'descr': '<f8', 'fortran_order': True, 'shape': (1,), }", eight));
  EXPECT_THAT(error_message<DataError>([&] { read_npy(dir.file("fortran.npy")); }), HasSubstr("only C-ordered"));
  dir.write("object.npy", handmade_npy("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", eight));
  EXPECT_THAT(error_message<DataError>([&] { read_npy(dir.file("object.npy")); }), HasSubstr("unsupported dtype"));
  dir.write("short.npy", handmade_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", eight));
  EXPECT_THAT(error_message<DataError>([&] { read_npy(dir.file("short.npy")); }),
              HasSubstr("body holds 8 bytes, shape needs 16"));
  dir.write("text.npy", "layer,w,a\n");
  EXPECT_THAT(error_message<DataError>([&] { read_npy(dir.file("text.npy")); }), HasSubstr("missing the NUMPY magic"));
  EXPECT_THAT(error_message<DataError>([&] { read_npy(dir.file("absent.npy")); }), HasSubstr("cannot open"));
}

TEST(Npy, ShapesAndHeadersAreReadStrictly) {
  TempDir dir;
  const std::string eight(8, '\0');
  dir.write("negative.npy", handmade_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (-1,), }", eight));
  EXPECT_THAT(error_message<DataError>([&] { read_npy(dir.file("negative.npy")); }), HasSubstr("shape entry '-1' is not a count"));
  // 2^61 x 8 bytes wraps a 64-bit size to 0 = the empty body's size.
  dir.write("wraps.npy", handmade_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2305843009213693952,), }", ""));
  EXPECT_THAT(error_message<DataError>([&] { read_npy(dir.file("wraps.npy")); }), HasSubstr("holds more bytes than memory"));
  dir.write("huge.npy", handmade_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999,), }", eight));
  EXPECT_THAT(error_message<DataError>([&] { read_npy(dir.file("huge.npy")); }), HasSubstr("is not a count"));
  // An element width whose digits overflow the parser's integer (found by fuzzing) is a dtype error too.
  dir.write("wide.npy", handmade_npy("{'descr': '<i866666666666666666666666', 'fortran_order': False, 'shape': (1,), }", eight));
  EXPECT_THAT(error_message<DataError>([&] { read_npy(dir.file("wide.npy")); }), HasSubstr("unsupported dtype"));
  dir.write("extra.npy", handmade_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'note': 1, }", eight));
  EXPECT_THAT(error_message<DataError>([&] { read_npy(dir.file("extra.npy")); }), HasSubstr("unknown header key 'note'"));
  dir.write("scalar.npy", handmade_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (), }", eight));
  EXPECT_TRUE(read_npy(dir.file("scalar.npy")).shape.empty());
}

}  // namespace
}  // namespace qxbar
