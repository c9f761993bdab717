// Fashion-MNIST IDX loading: the real Debian dataset when installed, and small
// synthetic files for the error paths.
#include "veil/fashion_mnist.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <array>
#include <filesystem>
#include <fstream>

namespace veil {
namespace {

bool HaveDebianDataset() {
  return std::filesystem::exists(std::string(kFashionMnistDebianDir) +
                                 "/t10k-images-idx3-ubyte.gz");
}

TEST(FashionMnistTest, DebianTestSplit) {
  if (!HaveDebianDataset()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  Result<FashionMnist> data = LoadFashionMnist(kFashionMnistDebianDir, /*test_split=*/true);
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  EXPECT_EQ(data->count, 10000);
  EXPECT_EQ(data->images.size(), 10000u * 784u);
  EXPECT_EQ(data->labels.size(), 10000u);
  EXPECT_EQ(data->images_shape(), (Shape{10000, 28, 28}));
  std::array<int, 10> per_class{};
  for (uint8_t label : data->labels) {
    ASSERT_LT(label, 10);
    ++per_class[label];
  }
  for (int count : per_class) EXPECT_EQ(count, 1000);  // the test split is balanced
  EXPECT_EQ(data->labels[0], 9);                       // the first test image is an ankle boot
  EXPECT_STREQ(kFashionMnistClassNames[data->labels[0]], "Ankle boot");
  // Images have background and ink.
  int nonzero = 0;
  for (uint8_t px : data->image(0)) nonzero += px != 0;
  EXPECT_GT(nonzero, 100);
  EXPECT_LT(nonzero, 784);
}

TEST(FashionMnistTest, DebianTrainSplit) {
  if (!HaveDebianDataset()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  Result<FashionMnist> data = LoadFashionMnist(kFashionMnistDebianDir, /*test_split=*/false);
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  EXPECT_EQ(data->count, 60000);
  for (uint8_t label : data->labels) ASSERT_LT(label, 10);
}

class SyntheticDir : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (std::filesystem::temp_directory_path() / "veil-idx-XXXXXX").string();
    dir_ = mkdtemp(templ.data());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static std::vector<uint8_t> Idx(uint8_t type, std::vector<uint32_t> dims, size_t data_bytes,
                                  uint8_t fill = 3) {
    std::vector<uint8_t> out = {0, 0, type, static_cast<uint8_t>(dims.size())};
    for (uint32_t d : dims)
      for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(d >> s));
    out.resize(out.size() + data_bytes, fill);
    return out;
  }
  void WriteGz(const std::string& name, const std::vector<uint8_t>& bytes) {
    gzFile f = gzopen((dir_ + "/" + name).c_str(), "wb");
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())),
              static_cast<int>(bytes.size()));
    gzclose(f);
  }
  void WritePlain(const std::string& name, const std::vector<uint8_t>& bytes) {
    std::ofstream(dir_ + "/" + name, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
  }
  void WriteSplit(std::vector<uint8_t> images, std::vector<uint8_t> labels) {
    WriteGz("t10k-images-idx3-ubyte.gz", images);
    WriteGz("t10k-labels-idx1-ubyte.gz", labels);
  }
  Status Load() { return LoadFashionMnist(dir_, true).status(); }
  void ExpectCorrupt(const std::string& fragment) {
    Status s = Load();
    EXPECT_EQ(s.code(), StatusCode::kCorrupt) << s.ToString();
    EXPECT_NE(s.message().find(fragment), std::string::npos) << fragment << " / " << s.message();
  }

  std::string dir_;
};

TEST_F(SyntheticDir, SmallValidSplit) {
  std::vector<uint8_t> labels = Idx(8, {3}, 0);
  labels.insert(labels.end(), {0, 9, 4});
  WriteSplit(Idx(8, {3, 28, 28}, 3 * 784), labels);
  Result<FashionMnist> data = LoadFashionMnist(dir_, true);
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  EXPECT_EQ(data->count, 3);
  EXPECT_EQ(data->labels, (std::vector<uint8_t>{0, 9, 4}));
  EXPECT_EQ(data->image(2).size(), 784u);
  EXPECT_EQ(data->image(2)[0], 3);
}

TEST_F(SyntheticDir, UncompressedFilesWork) {
  WritePlain("t10k-images-idx3-ubyte", Idx(8, {1, 28, 28}, 784));
  WritePlain("t10k-labels-idx1-ubyte", Idx(8, {1}, 1, 2));
  Result<FashionMnist> data = LoadFashionMnist(dir_, true);
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  EXPECT_EQ(data->labels, std::vector<uint8_t>{2});
}

TEST_F(SyntheticDir, MissingFilesAreNotFound) {
  EXPECT_EQ(Load().code(), StatusCode::kNotFound);
  WriteGz("t10k-images-idx3-ubyte.gz", Idx(8, {1, 28, 28}, 784));
  EXPECT_EQ(Load().code(), StatusCode::kNotFound);
}

TEST_F(SyntheticDir, BadFiles) {
  const std::vector<uint8_t> good_labels = Idx(8, {2}, 2, 1);
  WriteSplit(Idx(9, {2, 28, 28}, 2 * 784), good_labels);
  ExpectCorrupt("not ubyte");
  std::vector<uint8_t> bad_magic = Idx(8, {2, 28, 28}, 2 * 784);
  bad_magic[0] = 1;
  WriteSplit(bad_magic, good_labels);
  ExpectCorrupt("bad IDX magic");
  WriteSplit(Idx(8, {2, 28, 27}, 2 * 28 * 27), good_labels);
  ExpectCorrupt("not [N, 28, 28]");
  WriteSplit(Idx(8, {2, 28, 28}, 2 * 784 - 1), good_labels);
  ExpectCorrupt("truncated IDX data");
  WriteSplit(Idx(8, {2, 28, 28}, 2 * 784 + 1), good_labels);
  ExpectCorrupt("unexpected bytes after");
  WriteSplit(Idx(8, {2, 28, 28}, 2 * 784), Idx(8, {3}, 3, 1));
  ExpectCorrupt("3 labels for 2 images");
  WriteSplit(Idx(8, {2, 28, 28}, 2 * 784), Idx(8, {2}, 2, 10));
  ExpectCorrupt("label 10 of image 0");
  WriteSplit(Idx(8, {2, 28, 28}, 2 * 784), Idx(8, {2, 1}, 2, 1));
  ExpectCorrupt("labels are not [N]");
  WriteSplit({0, 0}, good_labels);
  ExpectCorrupt("truncated IDX magic");
  WriteSplit({0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28}, good_labels);
  ExpectCorrupt("truncated IDX dimensions");
  WriteSplit(Idx(8, std::vector<uint32_t>(9, 1), 1), good_labels);
  ExpectCorrupt("rank 9");
  // A header declaring 4 billion images must fail on the limit, not try to allocate.
  WriteSplit(Idx(8, {0xffffffffu, 28, 28}, 10), good_labels);
  ExpectCorrupt("exceeds the limit");
  // A damaged gzip stream.
  std::vector<uint8_t> gz_junk = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xde, 0xad, 0xbe, 0xef};
  WritePlain("t10k-images-idx3-ubyte.gz", gz_junk);
  EXPECT_FALSE(Load().ok());
}

TEST(FashionMnistTest, ClassNames) {
  EXPECT_STREQ(kFashionMnistClassNames[0], "T-shirt/top");
  EXPECT_STREQ(kFashionMnistClassNames[9], "Ankle boot");
}

}  // namespace
}  // namespace veil
