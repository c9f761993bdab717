#include "npy_header.h"

#include <optional>

namespace veil::io {
namespace {

Status Malformed(const std::string& what, size_t pos) {
  return Status::Corrupt("npy header: " + what + " at header offset " + std::to_string(pos));
}

// A recursive-descent scanner over the dict literal. Never indexes past the end.
class HeaderScanner {
 public:
  explicit HeaderScanner(std::string_view text) : text_(text) {}

  size_t pos() const { return pos_; }
  bool AtEnd() const { return pos_ == text_.size(); }

  void SkipSpace() {
    while (pos_ < text_.size() && IsSpace(text_[pos_])) ++pos_;
  }

  // Skips whitespace, then consumes `c` if it is next.
  bool Consume(char c) {
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  bool Peek(char c) {
    SkipSpace();
    return pos_ < text_.size() && text_[pos_] == c;
  }

  Status Expect(char c) {
    if (Consume(c)) return Status::Ok();
    return Malformed(std::string("expected '") + c + "'", pos_);
  }

  Status String(std::string* out) {
    SkipSpace();
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"'))
      return Malformed("expected a quoted string", pos_);
    const char quote = text_[pos_];
    const size_t start = ++pos_;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      if (text_[pos_] == '\\') return Malformed("escape sequences are not supported", pos_);
      ++pos_;
    }
    if (pos_ >= text_.size()) return Malformed("unterminated string", start - 1);
    *out = std::string(text_.substr(start, pos_ - start));
    ++pos_;
    return Status::Ok();
  }

  Status Bool(bool* out) {
    SkipSpace();
    if (text_.substr(pos_).starts_with("True")) {
      pos_ += 4;
      *out = true;
    } else if (text_.substr(pos_).starts_with("False")) {
      pos_ += 5;
      *out = false;
    } else {
      return Malformed("expected True or False", pos_);
    }
    return Status::Ok();
  }

  Status Dim(int64_t* out) {
    SkipSpace();
    const size_t start = pos_;
    int64_t v = 0;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      const int digit = text_[pos_] - '0';
      if (v > (kMaxNpyElements - digit) / 10) return Malformed("dimension too large", start);
      v = v * 10 + digit;
      ++pos_;
    }
    if (pos_ == start) return Malformed("expected a non-negative integer", start);
    *out = v;
    return Status::Ok();
  }

  // '(' [dim (',' dim)* [',']] ')', with Python's rule that (n) is not a tuple.
  Status Tuple(Shape* shape) {
    VEIL_RETURN_IF_ERROR(Expect('('));
    shape->clear();
    if (Consume(')')) return Status::Ok();
    for (;;) {
      if (shape->size() >= kMaxNpyRank)
        return Malformed("more than " + std::to_string(kMaxNpyRank) + " dimensions", pos_);
      int64_t d = 0;
      VEIL_RETURN_IF_ERROR(Dim(&d));
      shape->push_back(d);
      if (Consume(')')) {
        if (shape->size() == 1) return Malformed("one-element shape needs a trailing comma", pos_);
        return Status::Ok();
      }
      VEIL_RETURN_IF_ERROR(Expect(','));
      if (Consume(')')) return Status::Ok();
    }
  }

 private:
  static bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

  std::string_view text_;
  size_t pos_ = 0;
};

Result<NpyDType> ParseDescr(const std::string& descr) {
  if (descr.size() != 3) return Status::Unsupported("npy: unsupported dtype '" + descr + "'");
  const char order = descr[0];
  const std::string type = descr.substr(1);
  struct Known {
    const char* type;
    NpyDType dtype;
  };
  static constexpr Known kKnown[] = {
      {"f4", NpyDType::kFloat32}, {"f8", NpyDType::kFloat64}, {"i1", NpyDType::kInt8},
      {"u1", NpyDType::kUint8},   {"i4", NpyDType::kInt32},   {"i8", NpyDType::kInt64},
  };
  std::optional<NpyDType> dtype;
  for (const Known& k : kKnown)
    if (type == k.type) dtype = k.dtype;
  if (!dtype) return Status::Unsupported("npy: unsupported dtype '" + descr + "'");
  const bool single_byte = NpyDTypeSize(*dtype) == 1;
  switch (order) {
    case '<':
    case '=':  // native; veil only builds for little-endian hosts
      return *dtype;
    case '|':
    case '>':
      if (single_byte) return *dtype;  // byte order is meaningless for one byte
      if (order == '>')
        return Status::Unsupported("npy: big-endian dtype '" + descr + "' is not supported");
      return Status::Corrupt("npy: dtype '" + descr + "' needs a byte order, not '|'");
    default:
      return Status::Corrupt("npy: dtype '" + descr + "' has an invalid byte-order mark");
  }
}

}  // namespace

Result<NpyHeader> ParseNpyHeader(std::string_view text) {
  HeaderScanner s(text);
  std::optional<std::string> descr;
  std::optional<bool> fortran_order;
  std::optional<Shape> shape;
  VEIL_RETURN_IF_ERROR(s.Expect('{'));
  while (!s.Consume('}')) {
    const size_t key_pos = s.pos();
    std::string key;
    VEIL_RETURN_IF_ERROR(s.String(&key));
    VEIL_RETURN_IF_ERROR(s.Expect(':'));
    if (key == "descr" && !descr) {
      VEIL_RETURN_IF_ERROR(s.String(&descr.emplace()));
    } else if (key == "fortran_order" && !fortran_order) {
      VEIL_RETURN_IF_ERROR(s.Bool(&fortran_order.emplace()));
    } else if (key == "shape" && !shape) {
      VEIL_RETURN_IF_ERROR(s.Tuple(&shape.emplace()));
    } else {
      return Malformed("unexpected or repeated key '" + key + "'", key_pos);
    }
    if (!s.Consume(',')) {
      VEIL_RETURN_IF_ERROR(s.Expect('}'));
      break;
    }
  }
  s.SkipSpace();
  if (!s.AtEnd()) return Malformed("unexpected text after the dict", s.pos());
  if (!descr || !fortran_order || !shape)
    return Malformed("missing key (needs 'descr', 'fortran_order' and 'shape')", s.pos());
  if (*fortran_order)
    return Status::Unsupported("npy: Fortran-ordered arrays are not supported (save C order)");

  int64_t product = 1;
  for (int64_t d : *shape) {
    if (d > 1 && product > kMaxNpyElements / d)
      return Status::Corrupt("npy: shape " + ShapeToString(*shape) + " has too many elements");
    if (d > 1) product *= d;
  }
  NpyHeader header;
  VEIL_ASSIGN_OR_RETURN(header.dtype, ParseDescr(*descr));
  header.shape = std::move(*shape);
  return header;
}

}  // namespace veil::io
