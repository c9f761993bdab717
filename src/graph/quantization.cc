#include "veil/quantization.h"

#include <algorithm>
#include <cmath>

namespace veil {

Tensor QuantizeInput(const Value& value, const Shape& batch_shape, std::span<const float> floats) {
  Tensor t(DType::kInt8, batch_shape);
  auto q = t.i8();
  const float scale = static_cast<float>(value.scale);
  for (size_t i = 0; i < floats.size() && i < q.size(); ++i) {
    const float y = floats[i] / scale;
    const float r = y < 0 ? -std::floor(-y + 0.5f) : std::floor(y + 0.5f);
    q[i] = static_cast<int8_t>(std::clamp(r, -127.0f, 127.0f));
  }
  return t;
}

std::vector<float> Dequantize(const Tensor& t, double scale) {
  std::vector<float> out(static_cast<size_t>(t.size()));
  const auto q = t.i8();
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<float>(q[i] * scale);
  return out;
}

}  // namespace veil
