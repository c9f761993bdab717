#include "veil/status.h"

#include <gtest/gtest.h>

namespace veil {
namespace {

Result<int> ParsePositive(int v) {
  if (v <= 0) return Status::InvalidArgument("not positive: " + std::to_string(v));
  return v;
}

Status Chain(int v, int* out) {
  VEIL_ASSIGN_OR_RETURN(*out, ParsePositive(v));
  return Status::Ok();
}

TEST(StatusTest, OkAndErrors) {
  EXPECT_TRUE(Status::Ok().ok());
  Status s = Status::Corrupt("truncated header");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.ToString(), "Corrupt: truncated header");
  EXPECT_EQ(s.WithContext("model.veil").message(), "model.veil: truncated header");
}

TEST(StatusTest, AssignOrReturnPropagates) {
  int out = 0;
  EXPECT_TRUE(Chain(5, &out).ok());
  EXPECT_EQ(out, 5);
  Status s = Chain(-1, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(out, 5);
}

}  // namespace
}  // namespace veil
