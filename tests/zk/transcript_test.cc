// Fiat-Shamir transcript: determinism and sensitivity to every input.
#include <gtest/gtest.h>

#include "veil/zk/transcript.h"
#include "zk/zk_test_util.h"

namespace veil::zk {
namespace {

std::span<const uint8_t> B(const char* s) {
  return {reinterpret_cast<const uint8_t*>(s), std::char_traits<char>::length(s)};
}

Scalar Challenge(const char* domain, const char* label1, const char* data1, const char* label2,
           const char* data2) {
  Transcript t(domain);
  t.AppendBytes(label1, B(data1));
  t.AppendBytes(label2, B(data2));
  return t.ChallengeScalar("c");
}

TEST(TranscriptTest, DeterministicAndSensitive) {
  const Scalar base = Challenge("d", "a", "xy", "b", "z");
  EXPECT_EQ(base, Challenge("d", "a", "xy", "b", "z"));
  EXPECT_NE(base, Challenge("e", "a", "xy", "b", "z"));  // domain
  EXPECT_NE(base, Challenge("d", "A", "xy", "b", "z"));  // label
  EXPECT_NE(base, Challenge("d", "a", "xz", "b", "z"));  // data
  EXPECT_NE(base, Challenge("d", "a", "x", "b", "yz"));  // framing (boundary moved)
  EXPECT_NE(base, Challenge("d", "ax", "y", "b", "z"));  // label/data boundary
  EXPECT_NE(base, Challenge("d", "b", "z", "a", "xy"));  // order
  EXPECT_FALSE(base.IsZero());
}

TEST(TranscriptTest, ChallengesChainAndDependOnTypedAbsorbs) {
  Transcript t("d");
  t.AppendPoint("P", Point::Generator());
  t.AppendScalar("s", Scalar::FromUint64(5));
  t.AppendU64("n", 7);
  const Scalar c1 = t.ChallengeScalar("c");
  const Scalar c2 = t.ChallengeScalar("c");
  EXPECT_NE(c1, c2);  // the same label twice still gives fresh challenges

  Transcript u("d");
  u.AppendPoint("P", Point::Generator().Double());
  u.AppendScalar("s", Scalar::FromUint64(5));
  u.AppendU64("n", 7);
  EXPECT_NE(u.ChallengeScalar("c"), c1);

  // A point absorbs its canonical encoding: equal group elements, equal challenges.
  const Point p = Point::Generator();
  const Point same = Point::FromExtended(FeNeg(p.x()), FeNeg(p.y()), p.z(), p.t());
  Transcript v1("d"), v2("d");
  v1.AppendPoint("P", p);
  v2.AppendPoint("P", same);
  EXPECT_EQ(v1.ChallengeScalar("c"), v2.ChallengeScalar("c"));

  Transcript w1("d"), w2("d");
  const std::vector<Point> pts = {p, p.Double()};
  w1.AppendPoints("v", pts);
  w2.AppendPoints("v", std::vector<Point>{p.Double(), p});
  EXPECT_NE(w1.ChallengeBytes("c"), w2.ChallengeBytes("c"));
}

}  // namespace
}  // namespace veil::zk
