// .npy reading and writing: round trips, numpy's exact byte layout, and hostile headers.
#include "veil/npy.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <random>

namespace veil {
namespace {

// A .npy image with the given header text (unpadded) and data.
std::vector<uint8_t> MakeNpy(const std::string& header, const std::vector<uint8_t>& data,
                             uint8_t major = 1, uint8_t minor = 0) {
  std::vector<uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y', major, minor};
  const size_t len_bytes = major == 1 ? 2 : 4;
  for (size_t i = 0; i < len_bytes; ++i)
    out.push_back(static_cast<uint8_t>(header.size() >> (8 * i)));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

std::string Dict(const std::string& descr, const std::string& shape,
                 const std::string& fortran = "False") {
  return "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': " + shape + ", }\n";
}

template <typename T>
std::vector<uint8_t> Raw(const std::vector<T>& v) {
  std::vector<uint8_t> out(v.size() * sizeof(T));
  if (!v.empty()) std::memcpy(out.data(), v.data(), out.size());
  return out;
}

class TempDir {
 public:
  TempDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "veil-npy-XXXXXX").string();
    path_ = mkdtemp(templ.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

TEST(NpyTest, MatchesNumpyByteLayout) {
  // np.save(f, np.arange(6, dtype='<i4').reshape(2, 3)) writes exactly these bytes.
  std::string header = "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }";
  header.append(128 - 10 - header.size() - 1, ' ');
  header.push_back('\n');
  const std::vector<uint8_t> expected = MakeNpy(header, Raw<int32_t>({0, 1, 2, 3, 4, 5}));
  NpyArray a{NpyDType::kInt32, {2, 3}, Raw<int32_t>({0, 1, 2, 3, 4, 5})};
  Result<std::vector<uint8_t>> bytes = SerializeNpy(a);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*bytes, expected);
}

TEST(NpyTest, HeaderIsPaddedTo64Bytes) {
  for (const Shape& shape : {Shape{}, Shape{0}, Shape{7}, Shape{1, 2, 3, 4, 5, 6, 7, 8, 9}}) {
    NpyArray a{NpyDType::kUint8, shape,
               std::vector<uint8_t>(static_cast<size_t>(NumElements(shape)))};
    Result<std::vector<uint8_t>> bytes = SerializeNpy(a);
    ASSERT_TRUE(bytes.ok());
    const size_t header_len = (*bytes)[8] | (*bytes)[9] << 8;
    EXPECT_EQ((10 + header_len) % 64, 0u);
    EXPECT_EQ((*bytes)[10 + header_len - 1], '\n');
    Result<NpyArray> back = ParseNpy(*bytes);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->shape, shape);
  }
}

TEST(NpyTest, RoundTripEveryDTypeThroughFiles) {
  TempDir dir;
  const Shape shape = {2, 3};
  ASSERT_TRUE(
      WriteNpyFloat32(dir.File("f.npy"), shape, std::vector<float>{0, -1.5f, 2, 3, 4e30f, -0.0f})
          .ok());
  ASSERT_TRUE(
      WriteNpyInt8(dir.File("i8.npy"), shape, std::vector<int8_t>{-128, -1, 0, 1, 2, 127}).ok());
  ASSERT_TRUE(
      WriteNpyUint8(dir.File("u8.npy"), shape, std::vector<uint8_t>{0, 1, 2, 3, 254, 255}).ok());
  ASSERT_TRUE(WriteNpyInt32(dir.File("i32.npy"), shape,
                            std::vector<int32_t>{INT32_MIN, -1, 0, 1, 2, INT32_MAX})
                  .ok());
  ASSERT_TRUE(WriteNpyInt64(dir.File("i64.npy"), shape,
                            std::vector<int64_t>{INT64_MIN, -1, 0, 1, 2, INT64_MAX})
                  .ok());

  Result<NpyArray> f = ReadNpy(dir.File("f.npy"));
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->dtype, NpyDType::kFloat32);
  EXPECT_EQ(f->shape, shape);
  EXPECT_EQ(f->ToFloat32().value(), (std::vector<float>{0, -1.5f, 2, 3, 4e30f, -0.0f}));

  Result<NpyArray> i8 = ReadNpy(dir.File("i8.npy"));
  ASSERT_TRUE(i8.ok());
  EXPECT_EQ(i8->dtype, NpyDType::kInt8);
  EXPECT_EQ(i8->ToInt64().value(), (std::vector<int64_t>{-128, -1, 0, 1, 2, 127}));
  Result<NpyArray> u8 = ReadNpy(dir.File("u8.npy"));
  ASSERT_TRUE(u8.ok());
  EXPECT_EQ(u8->ToInt64().value(), (std::vector<int64_t>{0, 1, 2, 3, 254, 255}));
  Result<NpyArray> i32 = ReadNpy(dir.File("i32.npy"));
  ASSERT_TRUE(i32.ok());
  EXPECT_EQ(i32->ToInt64().value(), (std::vector<int64_t>{INT32_MIN, -1, 0, 1, 2, INT32_MAX}));
  Result<NpyArray> i64 = ReadNpy(dir.File("i64.npy"));
  ASSERT_TRUE(i64.ok());
  EXPECT_EQ(i64->ToInt64().value(), (std::vector<int64_t>{INT64_MIN, -1, 0, 1, 2, INT64_MAX}));

  NpyArray f8{NpyDType::kFloat64, {3}, Raw<double>({0.25, -1e300, 1e-300})};
  ASSERT_TRUE(WriteNpy(dir.File("f8.npy"), f8).ok());
  Result<NpyArray> f8_back = ReadNpy(dir.File("f8.npy"));
  ASSERT_TRUE(f8_back.ok());
  EXPECT_EQ(f8_back->data, f8.data);
  EXPECT_FALSE(f8_back->ToFloat32().ok());  // -1e300 does not fit in float32
}

TEST(NpyTest, WriterChecksCountsAndPaths) {
  TempDir dir;
  EXPECT_EQ(WriteNpyFloat32(dir.File("x.npy"), {2, 2}, std::vector<float>{1, 2, 3}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(WriteNpyInt8(dir.File("x.npy"), {-1}, std::vector<int8_t>{}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(dir.File("x.npy")));
  EXPECT_EQ(WriteNpyInt8(dir.File("no/such/dir/x.npy"), {1}, std::vector<int8_t>{1}).code(),
            StatusCode::kIoError);
  EXPECT_EQ(ReadNpy(dir.File("missing.npy")).status().code(), StatusCode::kNotFound);
}

TEST(NpyTest, ScalarAndEmptyArrays) {
  Result<NpyArray> scalar = ParseNpy(MakeNpy(Dict("<f8", "()"), Raw<double>({3.5})));
  ASSERT_TRUE(scalar.ok()) << scalar.status().ToString();
  EXPECT_TRUE(scalar->shape.empty());
  EXPECT_EQ(scalar->ToFloat32().value(), std::vector<float>{3.5f});
  Result<NpyArray> empty = ParseNpy(MakeNpy(Dict("<i8", "(0, 5)"), {}));
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->num_elements(), 0);
  EXPECT_TRUE(empty->ToInt64().value().empty());
}

TEST(NpyTest, Versions2And3AndHeaderVariants) {
  const std::vector<uint8_t> data = Raw<int32_t>({7, 8});
  for (uint8_t major : {1, 2, 3}) {
    Result<NpyArray> a = ParseNpy(MakeNpy(Dict("<i4", "(2,)"), data, major));
    ASSERT_TRUE(a.ok()) << int{major} << ": " << a.status().ToString();
    EXPECT_EQ(a->ToInt64().value(), (std::vector<int64_t>{7, 8}));
  }
  // Key order, quotes, spacing and the trailing comma are free; '=' means native.
  for (const std::string& header :
       {std::string("{\"shape\":(2,),\"fortran_order\":False,\"descr\":\"=i4\"}"),
        std::string("{ 'fortran_order' : False , 'shape' : ( 2 , ) , 'descr' : '<i4' }   \n"),
        std::string("{'descr':'<i4','fortran_order':False,'shape':(2,)}")}) {
    Result<NpyArray> a = ParseNpy(MakeNpy(header, data));
    EXPECT_TRUE(a.ok()) << header << ": " << a.status().ToString();
  }
  // Byte order is irrelevant for one-byte types.
  for (const char* descr : {"|u1", "<u1", ">u1", "=u1", "|i1", ">i1"})
    EXPECT_TRUE(ParseNpy(MakeNpy(Dict(descr, "(1,)"), {5})).ok()) << descr;
}

void ExpectRejected(const std::vector<uint8_t>& bytes, StatusCode code,
                    const std::string& fragment) {
  Result<NpyArray> r = ParseNpy(bytes);
  ASSERT_FALSE(r.ok()) << fragment;
  EXPECT_EQ(r.status().code(), code) << r.status().message();
  EXPECT_NE(r.status().message().find(fragment), std::string::npos) << r.status().message();
}

TEST(NpyTest, RejectsUnsupportedButValidFiles) {
  ExpectRejected(MakeNpy(Dict(">f4", "(1,)"), {0, 0, 0, 0}), StatusCode::kUnsupported,
                 "big-endian");
  ExpectRejected(MakeNpy(Dict(">i8", "(1,)"), std::vector<uint8_t>(8)), StatusCode::kUnsupported,
                 "big-endian");
  ExpectRejected(MakeNpy(Dict("<f4", "(1,)", "True"), {0, 0, 0, 0}), StatusCode::kUnsupported,
                 "Fortran");
  ExpectRejected(MakeNpy(Dict("<f2", "(1,)"), {0, 0}), StatusCode::kUnsupported, "'<f2'");
  ExpectRejected(MakeNpy(Dict("<U4", "(1,)"), std::vector<uint8_t>(16)), StatusCode::kUnsupported,
                 "dtype");
  ExpectRejected(MakeNpy(Dict("|O", "(1,)"), std::vector<uint8_t>(8)), StatusCode::kUnsupported,
                 "dtype");
  ExpectRejected(MakeNpy(Dict("<i4", "(1,)"), {0, 0, 0, 0}, 4), StatusCode::kUnsupported, "4.0");
  ExpectRejected(MakeNpy(Dict("<i4", "(1,)"), {0, 0, 0, 0}, 1, 1), StatusCode::kUnsupported, "1.1");
}

TEST(NpyTest, RejectsMalformedFiles) {
  const std::vector<uint8_t> four(4);
  auto corrupt = [](const std::vector<uint8_t>& bytes, const std::string& fragment) {
    ExpectRejected(bytes, StatusCode::kCorrupt, fragment);
  };
  corrupt({}, "bad magic");
  corrupt({'N', 'U', 'M', 'P', 'Y', 0, 1, 0}, "bad magic");
  corrupt({0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 5}, "truncated header length");
  corrupt({0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0, 0xff, 0xff, 0xff, 0xff}, "exceeds the limit");
  corrupt({0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 100, 0, '{'}, "truncated header");
  corrupt(MakeNpy(Dict("|i4", "(1,)"), four), "byte order");
  corrupt(MakeNpy(Dict("?i4", "(1,)"), four), "byte-order mark");
  corrupt(MakeNpy(Dict("<i4", "(1,)"), {0, 0, 0}), "needs 4 data bytes, file has 3");
  corrupt(MakeNpy(Dict("<i4", "(1,)"), std::vector<uint8_t>(5)), "needs 4 data bytes, file has 5");
  corrupt(MakeNpy(Dict("<i4", "(2)"), std::vector<uint8_t>(8)), "trailing comma");
  corrupt(MakeNpy(Dict("<i4", "(-1,)"), four), "non-negative integer");
  corrupt(MakeNpy(Dict("<i4", "(1.0,)"), four), "expected ','");
  corrupt(MakeNpy(Dict("<i4", "[1]"), four), "expected '('");
  corrupt(MakeNpy(Dict("<i4", "(99999999999999999999,)"), four), "too large");
  corrupt(MakeNpy(Dict("<i4", "(4294967296, 4294967296, 4294967296)"), four), "too many elements");
  corrupt(MakeNpy(Dict("<i4", "(0, 4294967296, 4294967296, 4294967296)"), {}), "too many elements");
  std::string deep = "(";
  for (int i = 0; i < 65; ++i) deep += "1,";
  corrupt(MakeNpy(Dict("<i4", deep + ")"), four), "more than 64 dimensions");
  corrupt(MakeNpy("{'descr': '<i4', 'shape': (1,)}", four), "missing key");
  corrupt(MakeNpy("{'descr': '<i4', 'descr': '<i4', 'fortran_order': False, 'shape': (1,)}", four),
          "repeated key 'descr'");
  corrupt(MakeNpy("{'descr': '<i4', 'fortran_order': False, 'shape': (1,), 'x': 1}", four),
          "unexpected or repeated key 'x'");
  corrupt(MakeNpy("{'descr': '<i4', 'fortran_order': false, 'shape': (1,)}", four),
          "True or False");
  corrupt(MakeNpy("{'descr': '<i\\x34', 'fortran_order': False, 'shape': (1,)}", four), "escape");
  corrupt(MakeNpy("{'descr: '<i4', 'fortran_order': False, 'shape': (1,)}", four), "expected ':'");
  corrupt(MakeNpy("{'descr': '<i4', 'fortran_order': False, 'shape': (1,)", four), "expected '}'");
  corrupt(MakeNpy("{'descr': '<i4', 'fortran_order': False, 'shape': (1,)} x", four),
          "unexpected text after the dict");
  corrupt(MakeNpy("{'descr': '<i4", four), "unterminated string");
  corrupt(MakeNpy("", four), "expected '{'");
  corrupt(MakeNpy("{,}", four), "quoted string");
  corrupt(MakeNpy(std::string("{'descr'\0: '<i4'}", 17), four), "expected ':'");
}

TEST(NpyTest, EveryTruncationFailsAndMutationsNeverCrash) {
  NpyArray a{NpyDType::kFloat32, {3, 2}, Raw<float>({1, 2, 3, 4, 5, 6})};
  const std::vector<uint8_t> file = SerializeNpy(a).value();
  for (size_t n = 0; n < file.size(); ++n)
    EXPECT_FALSE(ParseNpy(std::span(file.data(), n)).ok()) << n;
  std::mt19937_64 rng(7);
  for (int iter = 0; iter < 20000; ++iter) {
    std::vector<uint8_t> bad = file;
    for (int e = 0; e < 3; ++e) {
      const size_t pos = 8 + rng() % (bad.size() - 8);
      bad[pos] =
          static_cast<uint8_t>(rng() % 2 ? rng() : "(),:' 0123456789{}TrueFals<f4|"[rng() % 30]);
    }
    Result<NpyArray> r = ParseNpy(bad);
    if (r.ok()) {
      EXPECT_EQ(static_cast<int64_t>(r->data.size()),
                r->num_elements() * static_cast<int64_t>(NpyDTypeSize(r->dtype)));
    }
  }
}

TEST(NpyTest, ConversionErrors) {
  NpyArray f{NpyDType::kFloat32, {4}, Raw<float>({1.0f, 2.5f, NAN, 3e19f})};
  Result<std::vector<int64_t>> ints = f.ToInt64();
  EXPECT_EQ(ints.status().code(), StatusCode::kInvalidArgument);
  NpyArray g{NpyDType::kFloat64, {3}, Raw<double>({-9223372036854775808.0, 4.0, -0.0})};
  EXPECT_EQ(g.ToInt64().value(), (std::vector<int64_t>{INT64_MIN, 4, 0}));
  NpyArray h{NpyDType::kFloat64, {1}, Raw<double>({9223372036854775808.0})};
  EXPECT_FALSE(h.ToInt64().ok());
  NpyArray inf{NpyDType::kFloat64, {2}, Raw<double>({INFINITY, NAN})};
  Result<std::vector<float>> floats = inf.ToFloat32();
  ASSERT_TRUE(floats.ok());
  EXPECT_TRUE(std::isinf((*floats)[0]));
  EXPECT_TRUE(std::isnan((*floats)[1]));
}

}  // namespace
}  // namespace veil
