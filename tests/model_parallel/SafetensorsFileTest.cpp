#include "model_parallel/SafetensorsFile.h"

#include "dist/Check.h"
#include "model_parallel/SafetensorsWriter.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace ptuner::mp {
namespace {

class SafetensorsFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "safetensors_XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string file(const std::string& name) const { return dir_ + "/" + name; }

  // A file made of the u64 header length, `header` and `data` bytes as given.
  std::string write_raw(const std::string& name, const std::string& header,
                        const std::string& data, uint64_t header_size) const {
    const std::string path = file(name);
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(&header_size), 8);
    out << header << data;
    return path;
  }
  std::string write_raw(const std::string& name, const std::string& header,
                        const std::string& data = "") const {
    return write_raw(name, header, data, header.size());
  }

  // The message of the ptuner::Error that opening `path` throws ("" when none).
  static std::string open_error(const std::string& path) {
    try {
      SafetensorsFile f(path);
    } catch (const ptuner::Error& e) {
      return e.what();
    }
    return "";
  }

  std::string dir_;
};

#define EXPECT_CONTAINS(text, part) \
  EXPECT_NE(std::string(text).find(part), std::string::npos) << "message: " << (text)

TEST_F(SafetensorsFileTest, RoundTripsEveryDtype) {
  torch::manual_seed(0);
  const auto f32 = torch::randn({3, 5});
  const auto bf16 = torch::randn({4, 2}).to(torch::kBFloat16);
  const auto f16 = torch::randn({7}).to(torch::kFloat16);
  const auto i64 = torch::arange(-6, 6, torch::kInt64).reshape({2, 2, 3});
  const auto scalar = torch::scalar_tensor(2.5, torch::kFloat64);
  const auto empty = torch::zeros({0, 4});
  const std::string path = file("all.safetensors");
  write_safetensors(path,
                    {{"f32", f32}, {"bf16", bf16}, {"f16", f16}, {"i64", i64}, {"scalar", scalar},
                     {"empty", empty}},
                    {{"format", "pt"}, {"note", "line1\nline2"}});

  SafetensorsFile st(path);
  EXPECT_EQ(st.path(), path);
  EXPECT_EQ(st.names(),
            (std::vector<std::string>{"bf16", "empty", "f16", "f32", "i64", "scalar"}));
  EXPECT_TRUE(st.contains("f32"));
  EXPECT_FALSE(st.contains("f33"));
  EXPECT_EQ(st.metadata().at("format"), "pt");
  EXPECT_EQ(st.metadata().at("note"), "line1\nline2");

  EXPECT_EQ(st.info("bf16").dtype, "BF16");
  EXPECT_EQ(st.info("bf16").scalar_type, torch::kBFloat16);
  EXPECT_EQ(st.info("i64").shape, (std::vector<int64_t>{2, 2, 3}));
  EXPECT_EQ(st.info("i64").numel(), 12);
  EXPECT_EQ(st.info("scalar").numel(), 1);

  EXPECT_TRUE(torch::equal(st.load("f32"), f32));
  EXPECT_TRUE(torch::equal(st.load("bf16", torch::kBFloat16), bf16));
  EXPECT_TRUE(torch::equal(st.load("f16", torch::kFloat16), f16));
  EXPECT_TRUE(torch::equal(st.load("i64", torch::kInt64), i64));
  EXPECT_TRUE(torch::equal(st.load("scalar", torch::kFloat64), scalar));
  EXPECT_EQ(st.load("scalar").dim(), 0);
  EXPECT_EQ(st.load("empty").sizes(), (std::vector<int64_t>{0, 4}));
}

TEST_F(SafetensorsFileTest, AHeaderNumberTooLargeForJsonIsAnErrorNamingTheFile) {
  // Found by fuzzing: nlohmann reports a number overflow as out_of_range, not parse_error.
  const auto path = write_raw("huge.safetensors", R"({"w": 88888888888888888888e887776})");
  EXPECT_CONTAINS(open_error(path), "safetensors " + path + ": header is not valid JSON");
}

TEST_F(SafetensorsFileTest, HeaderIsPaddedToEightBytes) {
  const std::string path = file("pad.safetensors");
  write_safetensors(path, {{"abc", torch::ones({3})}});
  std::ifstream in(path, std::ios::binary);
  uint64_t n = 0;
  in.read(reinterpret_cast<char*>(&n), 8);
  EXPECT_EQ(n % 8, 0u);
  std::ifstream probe(path + ".tmp");
  EXPECT_FALSE(probe.good());  // the temporary was renamed away
}

TEST_F(SafetensorsFileTest, LoadConvertsDtype) {
  const auto bf16 = torch::tensor({1.5, -2.25, 3.0}).to(torch::kBFloat16);
  const auto i64 = torch::tensor({1, 2, 3}, torch::kInt64);
  const std::string path = file("conv.safetensors");
  write_safetensors(path, {{"bf16", bf16}, {"i64", i64}});
  SafetensorsFile st(path);
  const auto as_f32 = st.load("bf16");  // default kFloat32
  EXPECT_EQ(as_f32.scalar_type(), torch::kFloat32);
  EXPECT_TRUE(torch::equal(as_f32, torch::tensor({1.5f, -2.25f, 3.0f})));
  EXPECT_TRUE(torch::equal(st.load("i64", torch::kFloat64), torch::tensor({1.0, 2.0, 3.0})));
  EXPECT_TRUE(st.load("bf16").is_contiguous());
}

TEST_F(SafetensorsFileTest, LoadReturnsOwnedCopies) {
  const std::string path = file("owned.safetensors");
  write_safetensors(path, {{"w", torch::arange(12, torch::kFloat32).reshape({3, 4})}});
  torch::Tensor full;
  torch::Tensor slice;
  {
    SafetensorsFile st(path);
    full = st.load("w");
    slice = st.load_slice("w", 1, 1, 2, torch::kFloat32);
    full.add_(1);  // writable: not a view of the read-only mapping
  }
  // The mapping is gone; the tensors still hold their values.
  EXPECT_TRUE(torch::equal(full, torch::arange(12, torch::kFloat32).reshape({3, 4}) + 1));
  EXPECT_TRUE(torch::equal(slice, torch::tensor({{1.f, 2.f}, {5.f, 6.f}, {9.f, 10.f}})));
}

TEST_F(SafetensorsFileTest, LoadSliceEqualsNarrowOfFullTensor) {
  torch::manual_seed(1);
  const auto w = torch::randn({6, 10});
  const auto b = torch::randn({6, 10}).to(torch::kBFloat16);
  const auto t3 = torch::randn({4, 6, 5});
  const std::string path = file("slice.safetensors");
  write_safetensors(path, {{"w", w}, {"b", b}, {"t3", t3}});
  SafetensorsFile st(path);

  for (int64_t start : {0, 2, 3}) {
    auto rows = st.load_slice("w", 0, start, 3, torch::kFloat32);
    EXPECT_TRUE(torch::equal(rows, w.narrow(0, start, 3))) << "dim 0 start " << start;
    EXPECT_TRUE(rows.is_contiguous());
    auto cols = st.load_slice("w", 1, start, 5, torch::kFloat32);
    EXPECT_TRUE(torch::equal(cols, w.narrow(1, start, 5))) << "dim 1 start " << start;
    EXPECT_TRUE(cols.is_contiguous());
  }
  EXPECT_TRUE(torch::equal(st.load_slice("b", 1, 4, 6, torch::kFloat32),
                           b.narrow(1, 4, 6).to(torch::kFloat32)));
  EXPECT_TRUE(torch::equal(st.load_slice("b", 0, 1, 2, torch::kBFloat16), b.narrow(0, 1, 2)));
  EXPECT_TRUE(torch::equal(st.load_slice("t3", 1, 2, 3, torch::kFloat32), t3.narrow(1, 2, 3)));
  EXPECT_TRUE(torch::equal(st.load_slice("t3", 2, 1, 3, torch::kFloat32), t3.narrow(2, 1, 3)));
  EXPECT_EQ(st.load_slice("w", 0, 6, 0, torch::kFloat32).sizes(),
            (std::vector<int64_t>{0, 10}));
}

TEST_F(SafetensorsFileTest, LoadSliceOutOfBoundsNamesTensorAndRange) {
  const std::string path = file("bounds.safetensors");
  write_safetensors(path, {{"w", torch::zeros({4, 6})}, {"s", torch::scalar_tensor(1.0)}});
  SafetensorsFile st(path);
  try {
    st.load_slice("w", 1, 4, 3, torch::kFloat32);
    FAIL() << "expected ptuner::Error";
  } catch (const ptuner::Error& e) {
    EXPECT_CONTAINS(e.what(), path);
    EXPECT_CONTAINS(e.what(), "'w'");
    EXPECT_CONTAINS(e.what(), "[4, 7)");
  }
  try {
    st.load_slice("w", 2, 0, 1, torch::kFloat32);
    FAIL() << "expected ptuner::Error";
  } catch (const ptuner::Error& e) {
    EXPECT_CONTAINS(e.what(), "no dim 2");
  }
  EXPECT_THROW(st.load_slice("w", 0, -1, 1, torch::kFloat32), ptuner::Error);
  EXPECT_THROW(st.load_slice("s", 0, 0, 1, torch::kFloat32), ptuner::Error);
}

TEST_F(SafetensorsFileTest, MissingTensorNamesFileAndTensor) {
  const std::string path = file("one.safetensors");
  write_safetensors(path, {{"a", torch::zeros({1})}});
  SafetensorsFile st(path);
  try {
    st.info("encoder.block.3.layer.0.SelfAttention.q.weight");
    FAIL() << "expected ptuner::Error";
  } catch (const ptuner::Error& e) {
    EXPECT_CONTAINS(e.what(), path);
    EXPECT_CONTAINS(e.what(), "'encoder.block.3.layer.0.SelfAttention.q.weight'");
  }
  EXPECT_THROW(st.load("b"), ptuner::Error);
  EXPECT_THROW(st.load_slice("b", 0, 0, 1, torch::kFloat32), ptuner::Error);
}

TEST_F(SafetensorsFileTest, EmptyHeaderObjectIsValid) {
  SafetensorsFile st(write_raw("empty.safetensors", "{}"));
  EXPECT_TRUE(st.names().empty());
  EXPECT_TRUE(st.metadata().empty());
}

TEST_F(SafetensorsFileTest, MissingFileNamesPath) {
  const std::string path = file("absent.safetensors");
  const std::string msg = open_error(path);
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "cannot open");
}

// ---- malformed files: one test per rule, each message names the file and the culprit ----

TEST_F(SafetensorsFileTest, RejectsFileShorterThanEightBytes) {
  const std::string path = file("short.safetensors");
  std::ofstream(path, std::ios::binary) << "abc";
  const std::string msg = open_error(path);
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "3 bytes");
}

TEST_F(SafetensorsFileTest, RejectsHeaderLengthBeyondFile) {
  const std::string path = write_raw("long.safetensors", "{}", "", 1000);
  const std::string msg = open_error(path);
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "header length 1000");
}

TEST_F(SafetensorsFileTest, RejectsHeaderThatIsNotJson) {
  const std::string path = write_raw("notjson.safetensors", "{\"a\": ");
  const std::string msg = open_error(path);
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "not valid JSON");
}

TEST_F(SafetensorsFileTest, RejectsHeaderThatIsNotAnObject) {
  const std::string path = write_raw("array.safetensors", "[1, 2]");
  const std::string msg = open_error(path);
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "must be a JSON object");
  EXPECT_CONTAINS(msg, "[1,2]");
}

TEST_F(SafetensorsFileTest, RejectsEntryThatIsNotAnObject) {
  const std::string path = write_raw("entry.safetensors", R"({"w": [1, 2]})");
  const std::string msg = open_error(path);
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "'w'");
  EXPECT_CONTAINS(msg, "must be an object");
}

TEST_F(SafetensorsFileTest, RejectsEntryWithoutDtype) {
  const std::string path =
      write_raw("nodtype.safetensors", R"({"w": {"shape": [1], "data_offsets": [0, 4]}})", "abcd");
  const std::string msg = open_error(path);
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "'w'");
  EXPECT_CONTAINS(msg, "lacks \"dtype\"");
}

TEST_F(SafetensorsFileTest, RejectsEntryWithoutShape) {
  const std::string path = write_raw("noshape.safetensors",
                                     R"({"w": {"dtype": "F32", "data_offsets": [0, 4]}})", "abcd");
  const std::string msg = open_error(path);
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "'w'");
  EXPECT_CONTAINS(msg, "lacks \"shape\"");
}

TEST_F(SafetensorsFileTest, RejectsEntryWithoutDataOffsets) {
  const std::string path =
      write_raw("nooffsets.safetensors", R"({"w": {"dtype": "F32", "shape": [1]}})", "abcd");
  const std::string msg = open_error(path);
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "'w'");
  EXPECT_CONTAINS(msg, "lacks \"data_offsets\"");
}

TEST_F(SafetensorsFileTest, RejectsDtypeThatIsNotAString) {
  const std::string path = write_raw(
      "dtypetype.safetensors", R"({"w": {"dtype": 32, "shape": [1], "data_offsets": [0, 4]}})",
      "abcd");
  const std::string msg = open_error(path);
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "'w'");
  EXPECT_CONTAINS(msg, "dtype must be a string, got 32");
}

TEST_F(SafetensorsFileTest, RejectsShapeThatIsNotAnArray) {
  const std::string path = write_raw(
      "shapetype.safetensors", R"({"w": {"dtype": "F32", "shape": 1, "data_offsets": [0, 4]}})",
      "abcd");
  const std::string msg = open_error(path);
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "'w'");
  EXPECT_CONTAINS(msg, "shape must be an array, got 1");
}

TEST_F(SafetensorsFileTest, RejectsShapeWithNonIntegerDim) {
  const std::string path = write_raw(
      "shapedim.safetensors",
      R"({"w": {"dtype": "F32", "shape": [1, "2"], "data_offsets": [0, 8]}})", "abcdefgh");
  const std::string msg = open_error(path);
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "'w'");
  EXPECT_CONTAINS(msg, "non-integer dim \"2\"");
}

TEST_F(SafetensorsFileTest, RejectsDataOffsetsOfWrongType) {
  const std::string path = write_raw(
      "offsetstype.safetensors",
      R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4, 8]}})", "abcd");
  const std::string msg = open_error(path);
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "'w'");
  EXPECT_CONTAINS(msg, "[0,4,8]");
}

TEST_F(SafetensorsFileTest, RejectsNegativeDataOffset) {
  const std::string path = write_raw(
      "offsetsneg.safetensors",
      R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [-4, 0]}})", "abcd");
  const std::string msg = open_error(path);
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "'w'");
  EXPECT_CONTAINS(msg, "[-4,0]");
}

TEST_F(SafetensorsFileTest, RejectsUnknownDtype) {
  const std::string path = write_raw(
      "dtype.safetensors", R"({"w": {"dtype": "F8_E4M3", "shape": [4], "data_offsets": [0, 4]}})",
      "abcd");
  const std::string msg = open_error(path);
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "'w'");
  EXPECT_CONTAINS(msg, "unknown dtype 'F8_E4M3'");
}

TEST_F(SafetensorsFileTest, RejectsNegativeDim) {
  const std::string path = write_raw(
      "negdim.safetensors", R"({"w": {"dtype": "F32", "shape": [2, -3], "data_offsets": [0, 0]}})");
  const std::string msg = open_error(path);
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "'w'");
  EXPECT_CONTAINS(msg, "negative dim -3");
}

TEST_F(SafetensorsFileTest, RejectsEndBeforeBegin) {
  const std::string path = write_raw(
      "endbegin.safetensors", R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [8, 4]}})",
      std::string(8, 'x'));
  const std::string msg = open_error(path);
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "'w'");
  EXPECT_CONTAINS(msg, "[8, 4] with end < begin");
}

TEST_F(SafetensorsFileTest, RejectsEndBeyondDataBuffer) {
  const std::string path = write_raw(
      "beyond.safetensors", R"({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})",
      std::string(8, 'x'));
  const std::string msg = open_error(path);
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "'w'");
  EXPECT_CONTAINS(msg, "ends at byte 16, beyond the data buffer of 8 bytes");
}

TEST_F(SafetensorsFileTest, RejectsByteLengthNotMatchingShape) {
  const std::string path = write_raw(
      "length.safetensors", R"({"w": {"dtype": "BF16", "shape": [2, 3], "data_offsets": [0, 8]}})",
      std::string(8, 'x'));
  const std::string msg = open_error(path);
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "'w'");
  EXPECT_CONTAINS(msg, "spans 8 bytes");
  EXPECT_CONTAINS(msg, "needs 12");
}

TEST_F(SafetensorsFileTest, RejectsShapeWhoseByteSizeOverflows) {
  const std::string path = write_raw(
      "overflow.safetensors",
      R"({"w": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 0]}})");
  const std::string msg = open_error(path);
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "'w'");
  EXPECT_CONTAINS(msg, "more than 2^64");
}

TEST_F(SafetensorsFileTest, RejectsOverlappingTensors) {
  const std::string path =
      write_raw("overlap.safetensors",
                R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                    "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
                std::string(12, 'x'));
  const std::string msg = open_error(path);
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "'b' [4, 12) overlaps tensor 'a' [0, 8)");
}

TEST_F(SafetensorsFileTest, RejectsHoleBetweenTensors) {
  const std::string path =
      write_raw("hole.safetensors",
                R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                    "b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}})",
                std::string(12, 'x'));
  const std::string msg = open_error(path);
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "bytes [4, 8)");
  EXPECT_CONTAINS(msg, "'b'");
}

TEST_F(SafetensorsFileTest, RejectsHoleAtStartOfBuffer) {
  const std::string path = write_raw(
      "holestart.safetensors", R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
      std::string(8, 'x'));
  const std::string msg = open_error(path);
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "bytes [0, 4)");
  EXPECT_CONTAINS(msg, "'a'");
}

TEST_F(SafetensorsFileTest, RejectsTrailingBytesAfterLastTensor) {
  const std::string path = write_raw(
      "trailing.safetensors", R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})",
      std::string(10, 'x'));
  const std::string msg = open_error(path);
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "bytes [4, 10)");
}

TEST_F(SafetensorsFileTest, RejectsMetadataThatIsNotAnObject) {
  const std::string path = write_raw("metaobj.safetensors", R"({"__metadata__": ["pt"]})");
  const std::string msg = open_error(path);
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "__metadata__ must be an object");
}

TEST_F(SafetensorsFileTest, RejectsMetadataValueThatIsNotAString) {
  const std::string path =
      write_raw("metaval.safetensors", R"({"__metadata__": {"format": "pt", "step": 3}})");
  const std::string msg = open_error(path);
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "'step'");
  EXPECT_CONTAINS(msg, "got 3");
}

TEST_F(SafetensorsFileTest, WriterRejectsUnsupportedDtypeNamingTensor) {
  const std::string path = file("complex.safetensors");
  try {
    write_safetensors(path, {{"z", torch::zeros({2}, torch::kComplexFloat)}});
    FAIL() << "expected ptuner::Error";
  } catch (const ptuner::Error& e) {
    EXPECT_CONTAINS(e.what(), path);
    EXPECT_CONTAINS(e.what(), "'z'");
  }
  EXPECT_THROW(write_safetensors(path, {{"a", torch::zeros({1})}, {"a", torch::zeros({1})}}),
               ptuner::Error);
  std::ifstream probe(path);
  EXPECT_FALSE(probe.good());
}

TEST_F(SafetensorsFileTest, WriterAcceptsNonContiguousTensors) {
  const auto t = torch::arange(12, torch::kFloat32).reshape({3, 4}).t();
  const std::string path = file("transposed.safetensors");
  write_safetensors(path, {{"t", t}});
  EXPECT_TRUE(torch::equal(SafetensorsFile(path).load("t"), t));
}

}  // namespace
}  // namespace ptuner::mp
