#include "veil/fashion_mnist.h"

#include <sys/stat.h>

#include "idx.h"

namespace veil {
namespace {

constexpr int64_t kMaxImages = 1 << 18;  // the real splits hold 10,000 and 60,000

// "<dir>/<name>.gz" if it exists, else "<dir>/<name>" (whose absence ReadIdxUbyte reports).
std::string PickPath(const std::string& dir, const std::string& name) {
  std::string gz = dir + "/" + name + ".gz";
  struct stat st {};
  if (::stat(gz.c_str(), &st) == 0) return gz;
  return dir + "/" + name;
}

}  // namespace

Result<FashionMnist> LoadFashionMnist(const std::string& dir, bool test_split) {
  const std::string split = test_split ? "t10k" : "train";
  const std::string images_path = PickPath(dir, split + "-images-idx3-ubyte");
  const std::string labels_path = PickPath(dir, split + "-labels-idx1-ubyte");

  VEIL_ASSIGN_OR_RETURN(io::IdxArray images,
                        io::ReadIdxUbyte(images_path, kMaxImages * kFashionMnistImageBytes));
  if (images.dims.size() != 3 || images.dims[1] != kFashionMnistRows ||
      images.dims[2] != kFashionMnistCols) {
    return Status::Corrupt("'" + images_path + "': images are not [N, 28, 28]");
  }
  VEIL_ASSIGN_OR_RETURN(io::IdxArray labels, io::ReadIdxUbyte(labels_path, kMaxImages));
  if (labels.dims.size() != 1) return Status::Corrupt("'" + labels_path + "': labels are not [N]");
  if (labels.dims[0] != images.dims[0]) {
    return Status::Corrupt("'" + labels_path + "': " + std::to_string(labels.dims[0]) +
                           " labels for " + std::to_string(images.dims[0]) + " images");
  }
  for (size_t i = 0; i < labels.data.size(); ++i) {
    if (labels.data[i] >= kFashionMnistNumClasses) {
      return Status::Corrupt("'" + labels_path + "': label " + std::to_string(labels.data[i]) +
                             " of image " + std::to_string(i) + " is not a class index");
    }
  }
  FashionMnist out;
  out.count = images.dims[0];
  out.images = std::move(images.data);
  out.labels = std::move(labels.data);
  return out;
}

}  // namespace veil
