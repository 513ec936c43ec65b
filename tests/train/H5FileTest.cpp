#include "train/H5File.h"

#include "dist/Check.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

namespace ptuner::train {
namespace {

#define EXPECT_CONTAINS(text, part) \
  EXPECT_NE(std::string(text).find(part), std::string::npos) << "message: " << (text)

class H5FileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "h5file_XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = dir_ + "/ckpt.h5";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string dir_;
  std::string path_;
};

// A file made in memory is, byte for byte, the file HDF5 writes to the disk (the user block
// included), and nothing is written at its path.
TEST_F(H5FileTest, TheSameContentWrittenSecondsApartIsTheSameBytes) {
  // No modification times in the objects (HDF5 keeps them by default): a checkpoint's bytes do
  // not depend on when it was written.
  const auto bytes = [&](const std::string& path) {
    {
      H5File f(path, H5File::Mode::Truncate);
      f.write_string("meta/config", "a = 1");
      f.write_tensor("prompt/embedding", torch::arange(12, torch::kFloat32).reshape({3, 4}));
      f.write_int("optimizer/step", 3);
    }
    std::ifstream in(path, std::ios::binary);
    return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  const auto first = bytes(dir_ + "/first.h5");
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_TRUE(first == bytes(dir_ + "/second.h5"));
}

TEST_F(H5FileTest, AFileMadeInMemoryIsTheFileOnDisk) {
  torch::manual_seed(0);
  const auto big = torch::randn({300, 1000});  // 1.2 MB: the image grows past its first 1 MiB
  const auto write = [&](H5File& f) {
    f.write_string("meta/config", "a = 1");
    f.write_tensor("prompt/embedding", big);
    f.write_tensor("optimizer/step", torch::tensor({int64_t(3)}));
  };
  for (const int64_t userblock : {int64_t(0), int64_t(512)}) {
    {
      H5File disk(path_, H5File::Mode::Truncate, userblock);
      write(disk);
      disk.close();
    }
    std::ifstream in(path_, std::ios::binary);
    const std::vector<uint8_t> on_disk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string memory_path = dir_ + "/memory.h5";
    H5File memory(memory_path, H5File::Mode::Memory, userblock);
    write(memory);
    const auto image = memory.image();
    memory.close();
    EXPECT_GT(image.size(), big.numel() * 4u);
    EXPECT_TRUE(image == on_disk) << "user block " << userblock << ": " << image.size() << " bytes in memory, "
                                  << on_disk.size() << " on disk";
    EXPECT_FALSE(std::filesystem::exists(memory_path));
  }
  H5File read_only(path_, H5File::Mode::Read);
  EXPECT_THROW(read_only.image(), ptuner::Error);
}

TEST_F(H5FileTest, RoundTripsTensorsOfEveryDtype) {
  torch::manual_seed(0);
  const auto f32 = torch::randn({3, 4});
  const auto f64 = torch::randn({2, 3, 2}, torch::kFloat64);
  const auto i64 = torch::tensor({-(int64_t(1) << 40), int64_t(0), int64_t(7)});
  const auto i32 = torch::arange(-5, 5, torch::kInt32).reshape({2, 5});
  const auto u8 = torch::tensor({0, 1, 200, 255}, torch::kUInt8);
  const auto bf16 = torch::randn({5, 2}).to(torch::kBFloat16);
  const auto f16 = torch::randn({3}).to(torch::kFloat16);
  const auto flags = torch::tensor({true, false, true});
  const auto scalar = torch::scalar_tensor(1.25f);
  const auto empty = torch::zeros({0, 3});
  const auto strided = torch::arange(6, torch::kFloat32).reshape({2, 3}).t();
  {
    H5File out(path_, H5File::Mode::Truncate);
    out.write_tensor("prompt/embedding", f32);
    out.write_tensor("f64", f64);
    out.write_tensor("ints/i64", i64);
    out.write_tensor("ints/i32", i32);
    out.write_tensor("ints/u8", u8);
    out.write_tensor("half/bf16", bf16);
    out.write_tensor("half/f16", f16);
    out.write_tensor("flags", flags);
    out.write_tensor("scalar", scalar);
    out.write_tensor("a/b/c/empty", empty);
    out.write_tensor("strided", strided);
    out.close();
  }
  H5File in(path_, H5File::Mode::Read);
  struct Case {
    const char* path;
    torch::Tensor expected;
  };
  for (const Case& c : {Case{"prompt/embedding", f32}, Case{"f64", f64}, Case{"ints/i64", i64},
                        Case{"ints/i32", i32}, Case{"ints/u8", u8}, Case{"half/bf16", bf16},
                        Case{"half/f16", f16}, Case{"flags", flags}, Case{"scalar", scalar},
                        Case{"a/b/c/empty", empty}, Case{"strided", strided}}) {
    const torch::Tensor got = in.read_tensor(c.path);
    EXPECT_EQ(got.scalar_type(), c.expected.scalar_type()) << c.path;
    EXPECT_EQ(got.sizes(), c.expected.sizes()) << c.path;
    EXPECT_TRUE(torch::equal(got, c.expected)) << c.path;
  }
  EXPECT_EQ(in.read_tensor("scalar").dim(), 0);
}

TEST_F(H5FileTest, RoundTripsScalarsStringsAndBytes) {
  std::string big;
  for (int i = 0; big.size() < 100 * 1024; ++i) big += "line " + std::to_string(i) + "\tü€\n";
  std::vector<uint8_t> bytes(1000);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 7);
  bytes[10] = 0;
  {
    H5File out(path_, H5File::Mode::Truncate);
    out.write_int("optimizer/step", 30000);
    out.write_int("negative", -(int64_t(1) << 50));
    out.write_double("best/metric", 0.8125);
    out.write_string("config/toml", "[train]\nlr = 0.3\n\"quoted\" = 'x'\n");
    out.write_string("config/empty", "");
    out.write_string("config/big", big);
    out.write_bytes("rng/state", bytes);
    out.write_bytes("rng/none", {});
  }
  H5File in(path_, H5File::Mode::Read);
  EXPECT_EQ(in.read_int("optimizer/step"), 30000);
  EXPECT_EQ(in.read_int("negative"), -(int64_t(1) << 50));
  EXPECT_EQ(in.read_double("best/metric"), 0.8125);
  EXPECT_EQ(in.read_string("config/toml"), "[train]\nlr = 0.3\n\"quoted\" = 'x'\n");
  EXPECT_EQ(in.read_string("config/empty"), "");
  EXPECT_EQ(in.read_string("config/big"), big);
  EXPECT_EQ(in.read_bytes("rng/state"), bytes);
  EXPECT_TRUE(in.read_bytes("rng/none").empty());
}

TEST_F(H5FileTest, HasAndList) {
  {
    H5File out(path_, H5File::Mode::Truncate);
    out.write_int("optimizer/step", 1);
    out.write_tensor("optimizer/state/v_row", torch::zeros({2}));
    out.write_tensor("prompt/embedding", torch::zeros({2, 2}));
    out.write_string("config", "x");
  }
  H5File in(path_, H5File::Mode::Read);
  EXPECT_TRUE(in.has("optimizer"));
  EXPECT_TRUE(in.has("optimizer/step"));
  EXPECT_TRUE(in.has("/optimizer/state/v_row"));
  EXPECT_FALSE(in.has("optimizer/lr"));
  EXPECT_FALSE(in.has("missing/deeper/path"));
  EXPECT_FALSE(in.has("config/child"));  // config is a dataset, not a group
  EXPECT_EQ(in.list("optimizer"), (std::vector<std::string>{"state", "step"}));
  EXPECT_EQ(in.list(""), (std::vector<std::string>{"config", "optimizer", "prompt"}));
  EXPECT_EQ(in.list("/"), in.list(""));
  try {
    in.list("nothing");
    FAIL() << "expected ptuner::Error";
  } catch (const ptuner::Error& e) {
    EXPECT_CONTAINS(e.what(), path_);
    EXPECT_CONTAINS(e.what(), "'nothing'");
  }
  EXPECT_THROW(in.list("config"), ptuner::Error);
}

TEST_F(H5FileTest, MissingDatasetNamesFileAndPath) {
  { H5File out(path_, H5File::Mode::Truncate); out.write_int("optimizer/other", 1); }
  H5File in(path_, H5File::Mode::Read);
  try {
    in.read_int("optimizer/step");
    FAIL() << "expected ptuner::Error";
  } catch (const ptuner::Error& e) {
    EXPECT_CONTAINS(e.what(), path_ + ": no dataset 'optimizer/step'");
  }
  EXPECT_THROW(in.read_tensor("nope"), ptuner::Error);
  EXPECT_THROW(in.read_string("nope"), ptuner::Error);
  EXPECT_THROW(in.read_bytes("nope"), ptuner::Error);
  EXPECT_THROW(in.read_double("nope"), ptuner::Error);
  EXPECT_THROW(in.read_tensor("optimizer"), ptuner::Error);  // a group
}

TEST_F(H5FileTest, WrongKindNamesPath) {
  {
    H5File out(path_, H5File::Mode::Truncate);
    out.write_string("name", "t5");
    out.write_double("lr", 0.3);
    out.write_tensor("vec", torch::zeros({2}, torch::kInt64));
  }
  H5File in(path_, H5File::Mode::Read);
  try {
    in.read_int("lr");
    FAIL() << "expected ptuner::Error";
  } catch (const ptuner::Error& e) {
    EXPECT_CONTAINS(e.what(), "'lr'");
  }
  try {
    in.read_int("name");
    FAIL() << "expected ptuner::Error";
  } catch (const ptuner::Error& e) {
    EXPECT_CONTAINS(e.what(), path_ + ": dataset 'name' holds string data");
  }
  EXPECT_THROW(in.read_int("vec"), ptuner::Error);
  EXPECT_THROW(in.read_double("name"), ptuner::Error);
  EXPECT_THROW(in.read_string("lr"), ptuner::Error);
  EXPECT_THROW(in.read_bytes("vec"), ptuner::Error);
}

TEST_F(H5FileTest, WritesAreCheckedAndNamed) {
  H5File out(path_, H5File::Mode::Truncate);
  out.write_int("step", 1);
  try {
    out.write_int("step", 2);
    FAIL() << "expected ptuner::Error";
  } catch (const ptuner::Error& e) {
    EXPECT_CONTAINS(e.what(), path_);
    EXPECT_CONTAINS(e.what(), "'step' already exists");
  }
  EXPECT_THROW(out.write_string("nul", std::string("a\0b", 3)), ptuner::Error);
  EXPECT_THROW(out.write_tensor("complex", torch::zeros({2}, torch::kComplexFloat)),
               ptuner::Error);
  try {
    out.write_int("step/child", 3);
    FAIL() << "expected ptuner::Error";
  } catch (const ptuner::Error& e) {
    EXPECT_CONTAINS(e.what(), "cannot write 'step/child': 'step' is not a group");
  }
  out.close();
  EXPECT_THROW(out.write_int("later", 1), ptuner::Error);

  H5File in(path_, H5File::Mode::Read);
  try {
    in.write_int("other", 1);
    FAIL() << "expected ptuner::Error";
  } catch (const ptuner::Error& e) {
    EXPECT_CONTAINS(e.what(), "read-only");
  }
}

TEST_F(H5FileTest, MissingFileNamesPath) {
  const std::string missing = dir_ + "/absent.h5";
  try {
    H5File in(missing, H5File::Mode::Read);
    FAIL() << "expected ptuner::Error";
  } catch (const ptuner::Error& e) {
    EXPECT_CONTAINS(e.what(), missing);
  }
}

TEST_F(H5FileTest, NonHdf5FileNamesPath) {
  const std::string text = dir_ + "/notes.h5";
  std::ofstream(text) << "this is not HDF5\n";
  try {
    H5File in(text, H5File::Mode::Read);
    FAIL() << "expected ptuner::Error";
  } catch (const ptuner::Error& e) {
    EXPECT_CONTAINS(e.what(), text);
    EXPECT_CONTAINS(e.what(), "not an HDF5 file");
  }
}

TEST_F(H5FileTest, CannotCreateInMissingDirectory) {
  const std::string bad = dir_ + "/no/such/dir/x.h5";
  try {
    H5File out(bad, H5File::Mode::Truncate);
    FAIL() << "expected ptuner::Error";
  } catch (const ptuner::Error& e) {
    EXPECT_CONTAINS(e.what(), bad);
  }
}

}  // namespace
}  // namespace ptuner::train
