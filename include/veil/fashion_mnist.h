// Fashion-MNIST (Xiao, Rasul, Vollgraf 2017) in its original IDX form, as installed by
// Debian's dataset-fashion-mnist package (gzip-compressed; plain files also work).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "veil/status.h"
#include "veil/tensor.h"

namespace veil {

inline constexpr const char* kFashionMnistDebianDir = "/usr/share/datasets/fashion-mnist";
inline constexpr int kFashionMnistRows = 28;
inline constexpr int kFashionMnistCols = 28;
inline constexpr int kFashionMnistImageBytes = kFashionMnistRows * kFashionMnistCols;
inline constexpr int kFashionMnistNumClasses = 10;
inline constexpr std::array<const char*, kFashionMnistNumClasses> kFashionMnistClassNames = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

// Invariants: images.size() == count * 784, labels.size() == count, every label < 10.
struct FashionMnist {
  int64_t count = 0;
  std::vector<uint8_t> images;  // [count, 28, 28] row-major; 0 = background, 255 = ink
  std::vector<uint8_t> labels;  // [count], class indices into kFashionMnistClassNames

  Shape images_shape() const { return {count, kFashionMnistRows, kFashionMnistCols}; }
  std::span<const uint8_t> image(int64_t i) const {
    return std::span<const uint8_t>(images).subspan(
        static_cast<size_t>(i) * kFashionMnistImageBytes, kFashionMnistImageBytes);
  }
};

// Loads the test split (t10k-*, 10,000 images) or the training split (train-*, 60,000)
// from `dir`, reading "<split>-images-idx3-ubyte.gz" and "<split>-labels-idx1-ubyte.gz"
// (or the same names without ".gz"). NotFound if the files are absent; Corrupt if a
// magic number, a dimension, the image/label counts or a label is wrong.
Result<FashionMnist> LoadFashionMnist(const std::string& dir, bool test_split);

}  // namespace veil
