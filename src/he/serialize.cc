#include "veil/he/serialize.h"

#include <cmath>
#include <cstring>
#include <optional>
#include <string>

#include "sampling.h"

namespace veil::he {

namespace {

constexpr uint8_t kMagic[4] = {'V', 'L', 'H', 'E'};
constexpr uint8_t kFlagSeeded = 1;

class Writer {
 public:
  void U8(uint8_t v) { out_.push_back(v); }
  void U16(uint16_t v) { Int(v, 2); }
  void U32(uint32_t v) { Int(v, 4); }
  void U64(uint64_t v) { Int(v, 8); }
  void Bytes(const uint8_t* p, size_t n) { out_.insert(out_.end(), p, p + n); }
  // Bit-packs `count` values of `bits` bits each (whole bytes, zero-padded).
  void Packed(const uint64_t* v, size_t count, int bits) {
    uint64_t acc = 0;
    int have = 0;
    for (size_t i = 0; i < count; ++i) {
      uint64_t x = v[i];
      int left = bits;
      while (left > 0) {
        const int take = std::min(left, 64 - have);
        const uint64_t part = take == 64 ? x : (x & ((uint64_t{1} << take) - 1));
        acc |= have == 64 ? 0 : part << have;
        have += take;
        left -= take;
        x = take == 64 ? 0 : x >> take;
        if (have == 64) {
          U64(acc);
          acc = 0;
          have = 0;
        }
      }
    }
    while (have > 0) {
      U8(static_cast<uint8_t>(acc));
      acc >>= 8;
      have -= 8;
    }
  }
  std::vector<uint8_t> Take() { return std::move(out_); }

 private:
  void Int(uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  std::vector<uint8_t> out_;
};

size_t PackedBytes(size_t count, int bits) { return (count * static_cast<size_t>(bits) + 7) / 8; }

class Reader {
 public:
  explicit Reader(std::span<const uint8_t> b) : b_(b) {}
  size_t remaining() const { return b_.size() - pos_; }
  bool U8(uint8_t* v) {
    uint64_t x;
    if (!Int(1, &x)) return false;
    *v = static_cast<uint8_t>(x);
    return true;
  }
  bool U16(uint16_t* v) {
    uint64_t x;
    if (!Int(2, &x)) return false;
    *v = static_cast<uint16_t>(x);
    return true;
  }
  bool U32(uint32_t* v) {
    uint64_t x;
    if (!Int(4, &x)) return false;
    *v = static_cast<uint32_t>(x);
    return true;
  }
  bool U64(uint64_t* v) { return Int(8, v); }
  bool Bytes(uint8_t* p, size_t n) {
    if (remaining() < n) return false;
    std::memcpy(p, b_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  // Unpacks `count` values of `bits` bits; false if the bytes run out.
  bool Packed(uint64_t* v, size_t count, int bits) {
    const size_t need = PackedBytes(count, bits);
    if (remaining() < need) return false;
    const uint8_t* p = b_.data() + pos_;
    size_t bit = 0;
    for (size_t i = 0; i < count; ++i) {
      uint64_t x = 0;
      for (int k = 0; k < bits;) {
        const size_t byte = bit >> 3;
        const int off = static_cast<int>(bit & 7);
        const int take = std::min(bits - k, 8 - off);
        const uint64_t part = (p[byte] >> off) & ((1u << take) - 1);
        x |= part << k;
        k += take;
        bit += static_cast<size_t>(take);
      }
      v[i] = x;
    }
    // Padding bits of the last byte must be zero (one encoding per value).
    if ((bit & 7) != 0 && (p[bit >> 3] >> (bit & 7)) != 0) {
      padding_error_ = true;
      return false;
    }
    pos_ += need;
    return true;
  }
  bool padding_error() const { return padding_error_; }

 private:
  bool Int(int bytes, uint64_t* v) {
    if (remaining() < static_cast<size_t>(bytes)) return false;
    uint64_t x = 0;
    for (int i = 0; i < bytes; ++i) x |= static_cast<uint64_t>(b_[pos_ + i]) << (8 * i);
    pos_ += static_cast<size_t>(bytes);
    *v = x;
    return true;
  }
  std::span<const uint8_t> b_;
  size_t pos_ = 0;
  bool padding_error_ = false;
};

Status Truncated(const char* what) { return Status::Corrupt(std::string(what) + ": truncated"); }

void WriteHeader(Writer& w, const Context& ctx, BlobKind kind, uint8_t flags) {
  w.Bytes(kMagic, 4);
  w.U16(kSerializationVersion);
  w.U8(static_cast<uint8_t>(kind));
  w.U8(flags);
  w.U64(ctx.params_id());
}

Status ReadHeader(Reader& r, const Context& ctx, BlobKind kind, uint8_t allowed_flags,
                  uint8_t* flags, const char* what) {
  uint8_t magic[4];
  uint16_t version;
  uint8_t k;
  uint64_t id;
  if (!r.Bytes(magic, 4) || !r.U16(&version) || !r.U8(&k) || !r.U8(flags) || !r.U64(&id)) {
    return Truncated(what);
  }
  if (std::memcmp(magic, kMagic, 4) != 0) return Status::Corrupt(std::string(what) + ": bad magic");
  if (version != kSerializationVersion) {
    return Status::Unsupported(std::string(what) + ": unsupported version " +
                               std::to_string(version) + " (this build reads " +
                               std::to_string(kSerializationVersion) + ")");
  }
  if (k != static_cast<uint8_t>(kind)) {
    return Status::Corrupt(std::string(what) + ": blob kind " + std::to_string(k) + " is not " +
                           std::to_string(static_cast<int>(kind)));
  }
  if ((*flags & ~allowed_flags) != 0) {
    return Status::Corrupt(std::string(what) + ": unknown flags " + std::to_string(*flags));
  }
  if (id != ctx.params_id()) {
    return Status::InvalidArgument(std::string(what) +
                                   ": made for different encryption parameters");
  }
  return Status::Ok();
}

Status ReadDims(Reader& r, const Context& ctx, size_t limbs, const char* what) {
  uint32_t n, l;
  if (!r.U32(&n) || !r.U32(&l)) return Truncated(what);
  if (n != ctx.n()) {
    return Status::Corrupt(std::string(what) + ": N=" + std::to_string(n) +
                           " does not match the parameters' N=" + std::to_string(ctx.n()));
  }
  if (l != limbs) {
    return Status::Corrupt(std::string(what) + ": " + std::to_string(l) +
                           " limbs, the parameters need " + std::to_string(limbs));
  }
  return Status::Ok();
}

void WritePoly(Writer& w, const RnsPoly& p, std::span<const Modulus> moduli) {
  for (size_t l = 0; l < p.limbs(); ++l) w.Packed(p.limb(l), p.n(), moduli[l].bit_count());
}

Status ReadPoly(Reader& r, RnsPoly& p, std::span<const Modulus> moduli, const char* what) {
  for (size_t l = 0; l < p.limbs(); ++l) {
    if (!r.Packed(p.limb(l), p.n(), moduli[l].bit_count())) {
      if (r.padding_error()) return Status::Corrupt(std::string(what) + ": nonzero padding bits");
      return Truncated(what);
    }
    const uint64_t q = moduli[l].value();
    const uint64_t* x = p.limb(l);
    for (size_t i = 0; i < p.n(); ++i) {
      if (x[i] >= q) {
        return Status::Corrupt(std::string(what) + ": coefficient " + std::to_string(i) +
                               " of limb " + std::to_string(l) + " is not below its modulus " +
                               std::to_string(q));
      }
    }
  }
  return Status::Ok();
}

Status CheckEnd(const Reader& r, const char* what) {
  if (r.remaining() != 0) {
    return Status::Corrupt(std::string(what) + ": " + std::to_string(r.remaining()) +
                           " trailing bytes");
  }
  return Status::Ok();
}

// The seeded "a" of a ciphertext with `limbs` limbs (a prefix of the full expansion): BFV
// keeps it in coefficient form, CKKS in NTT form (both uniform).
RnsPoly ExpandCiphertextA(const Context& ctx, const Seed& seed, size_t limbs) {
  RnsPoly a(ctx.n(), limbs, ctx.scheme() == Scheme::kCkks);
  internal::Prng prng(seed, internal::kDomainCiphertextA);
  internal::SampleUniform(prng, ctx.data_moduli(), a);
  return a;
}

// Ciphertext limb count: 1..L (fewer than L after modulus switching or rescaling).
Status ReadCiphertextDims(Reader& r, const Context& ctx, size_t* limbs, const char* what) {
  uint32_t n, l;
  if (!r.U32(&n) || !r.U32(&l)) return Truncated(what);
  if (n != ctx.n()) {
    return Status::Corrupt(std::string(what) + ": N=" + std::to_string(n) +
                           " does not match the parameters' N=" + std::to_string(ctx.n()));
  }
  if (l < 1 || l > ctx.data_limbs()) {
    return Status::Corrupt(std::string(what) + ": " + std::to_string(l) +
                           " limbs, the parameters allow 1.." + std::to_string(ctx.data_limbs()));
  }
  *limbs = l;
  return Status::Ok();
}

// Body shared by BFV and CKKS ciphertexts: u8 size, then (seeded) seed + c0 or every
// polynomial. Validates the size and the exact byte count before allocating.
Status ReadCiphertextPolys(Reader& r, const Context& ctx, size_t limbs, bool seeded,
                           std::vector<RnsPoly>& polys, std::optional<Seed>& seed_out,
                           const char* what) {
  uint8_t size;
  if (!r.U8(&size)) return Truncated(what);
  if (size < 2 || size > 3 || (seeded && size != 2)) {
    return Status::Corrupt(std::string(what) + ": " + std::to_string(size) + " polynomials" +
                           (seeded ? " in a seeded ciphertext (must be 2)" : " (must be 2 or 3)"));
  }
  Seed seed{};
  if (seeded && !r.Bytes(seed.data(), seed.size())) return Truncated(what);
  const size_t stored = seeded ? 1 : size;
  size_t poly_bytes = 0;
  for (size_t l = 0; l < limbs; ++l) {
    poly_bytes += PackedBytes(ctx.n(), ctx.data_moduli()[l].bit_count());
  }
  if (r.remaining() != stored * poly_bytes) {
    return r.remaining() < stored * poly_bytes
               ? Truncated(what)
               : Status::Corrupt(std::string(what) + ": trailing bytes");
  }
  const bool ntt = ctx.scheme() == Scheme::kCkks;
  for (size_t k = 0; k < stored; ++k) {
    RnsPoly p(ctx.n(), limbs, ntt);
    VEIL_RETURN_IF_ERROR(ReadPoly(r, p, ctx.data_moduli(), what));
    polys.push_back(std::move(p));
  }
  if (seeded) {
    polys.push_back(ExpandCiphertextA(ctx, seed, limbs));
    seed_out = seed;
  }
  return CheckEnd(r, what);
}

void WriteCiphertextPolys(Writer& w, const Context& ctx, const std::vector<RnsPoly>& polys,
                          const std::optional<Seed>& seed, bool seeded) {
  w.U8(static_cast<uint8_t>(polys.size()));
  if (seeded) {
    w.Bytes(seed->data(), seed->size());
    WritePoly(w, polys[0], ctx.data_moduli());
  } else {
    for (const RnsPoly& p : polys) WritePoly(w, p, ctx.data_moduli());
  }
}

RnsPoly ExpandPublicKeyA(const Context& ctx, const Seed& seed) {
  RnsPoly a(ctx.n(), ctx.public_key_limbs(), true);
  internal::Prng prng(seed, internal::kDomainPublicKeyA);
  internal::SampleUniform(prng, ctx.key_moduli(), a);
  return a;
}

RnsPoly ExpandKSwitchA(const Context& ctx, const Seed& seed, size_t i) {
  RnsPoly a(ctx.n(), ctx.key_limbs(), true);
  internal::Prng prng(seed, internal::kDomainKSwitchA | (static_cast<uint64_t>(i) << 8));
  internal::SampleUniform(prng, ctx.key_moduli(), a);
  return a;
}

Status WriteKSwitch(Writer& w, const Context& ctx, const KSwitchKey& k) {
  for (size_t i = 0; i < k.a.size(); ++i) {
    if (!(ExpandKSwitchA(ctx, k.seed, i) == k.a[i])) {
      return Status::InvalidArgument("key switching key does not match its seed");
    }
  }
  w.Bytes(k.seed.data(), k.seed.size());
  for (const RnsPoly& b : k.b) WritePoly(w, b, ctx.key_moduli());
  return Status::Ok();
}

Status ReadKSwitch(Reader& r, const Context& ctx, KSwitchKey& k, const char* what) {
  if (!r.Bytes(k.seed.data(), k.seed.size())) return Truncated(what);
  for (size_t i = 0; i < ctx.data_limbs(); ++i) {
    RnsPoly b(ctx.n(), ctx.key_limbs(), true);
    VEIL_RETURN_IF_ERROR(ReadPoly(r, b, ctx.key_moduli(), what));
    k.b.push_back(std::move(b));
    k.a.push_back(ExpandKSwitchA(ctx, k.seed, i));
  }
  return Status::Ok();
}

size_t KSwitchBytes(const Context& ctx) {
  size_t per = 0;
  for (const Modulus& m : ctx.key_moduli()) per += PackedBytes(ctx.n(), m.bit_count());
  return 32 + ctx.data_limbs() * per;
}

Status RequireSodium() {
  if (!internal::InitSodium()) return Status::Internal("libsodium failed to initialize");
  return Status::Ok();
}

}  // namespace

// ---------------------------------------------------------------- ciphertext

Result<std::vector<uint8_t>> SerializeCiphertext(const Context& ctx, const Ciphertext& ct) {
  VEIL_RETURN_IF_ERROR(ValidateCiphertext(ctx, ct));
  VEIL_RETURN_IF_ERROR(RequireSodium());
  const size_t limbs = ct.polys[0].limbs();
  const bool seeded = ct.seed.has_value() && ct.size() == 2 &&
                      ExpandCiphertextA(ctx, *ct.seed, limbs) == ct.polys[1];
  Writer w;
  WriteHeader(w, ctx, BlobKind::kCiphertext, seeded ? kFlagSeeded : 0);
  w.U32(static_cast<uint32_t>(ctx.n()));
  w.U32(static_cast<uint32_t>(limbs));
  WriteCiphertextPolys(w, ctx, ct.polys, ct.seed, seeded);
  return w.Take();
}

Result<Ciphertext> DeserializeCiphertext(const Context& ctx, std::span<const uint8_t> bytes) {
  const char* what = "ciphertext";
  VEIL_RETURN_IF_ERROR(RequireSodium());
  if (ctx.scheme() != Scheme::kBfv) {
    return Status::InvalidArgument("ciphertext: BFV decoder called with a CKKS context");
  }
  Reader r(bytes);
  uint8_t flags = 0;
  VEIL_RETURN_IF_ERROR(ReadHeader(r, ctx, BlobKind::kCiphertext, kFlagSeeded, &flags, what));
  size_t limbs = 0;
  VEIL_RETURN_IF_ERROR(ReadCiphertextDims(r, ctx, &limbs, what));
  Ciphertext ct;
  ct.params_id = ctx.params_id();
  VEIL_RETURN_IF_ERROR(
      ReadCiphertextPolys(r, ctx, limbs, (flags & kFlagSeeded) != 0, ct.polys, ct.seed, what));
  return ct;
}

// ---------------------------------------------------------------- CKKS ciphertext

Result<std::vector<uint8_t>> SerializeCkksCiphertext(const Context& ctx, const CkksCiphertext& ct) {
  VEIL_RETURN_IF_ERROR(ValidateCkksCiphertext(ctx, ct));
  VEIL_RETURN_IF_ERROR(RequireSodium());
  const bool seeded = ct.seed.has_value() && ct.size() == 2 &&
                      ExpandCiphertextA(ctx, *ct.seed, ct.limbs()) == ct.polys[1];
  Writer w;
  WriteHeader(w, ctx, BlobKind::kCkksCiphertext, seeded ? kFlagSeeded : 0);
  w.U32(static_cast<uint32_t>(ctx.n()));
  w.U32(static_cast<uint32_t>(ct.limbs()));
  uint64_t scale_bits;
  std::memcpy(&scale_bits, &ct.scale, sizeof(scale_bits));
  w.U64(scale_bits);
  WriteCiphertextPolys(w, ctx, ct.polys, ct.seed, seeded);
  return w.Take();
}

Result<CkksCiphertext> DeserializeCkksCiphertext(const Context& ctx,
                                                 std::span<const uint8_t> bytes) {
  const char* what = "CKKS ciphertext";
  VEIL_RETURN_IF_ERROR(RequireSodium());
  if (ctx.scheme() != Scheme::kCkks) {
    return Status::InvalidArgument("CKKS ciphertext: decoder called with a BFV context");
  }
  Reader r(bytes);
  uint8_t flags = 0;
  VEIL_RETURN_IF_ERROR(ReadHeader(r, ctx, BlobKind::kCkksCiphertext, kFlagSeeded, &flags, what));
  size_t limbs = 0;
  VEIL_RETURN_IF_ERROR(ReadCiphertextDims(r, ctx, &limbs, what));
  uint64_t scale_bits;
  if (!r.U64(&scale_bits)) return Truncated(what);
  CkksCiphertext ct;
  ct.params_id = ctx.params_id();
  std::memcpy(&ct.scale, &scale_bits, sizeof(ct.scale));
  // The scale is checked before any polynomial is read (finite, >= 1, below Q_l / 2).
  if (!std::isfinite(ct.scale) || ct.scale < 1.0 ||
      std::log2(ct.scale) >= ctx.level_modulus_bits(limbs) - 1) {
    return Status::Corrupt(std::string(what) + ": invalid scale");
  }
  VEIL_RETURN_IF_ERROR(
      ReadCiphertextPolys(r, ctx, limbs, (flags & kFlagSeeded) != 0, ct.polys, ct.seed, what));
  VEIL_RETURN_IF_ERROR(ValidateCkksCiphertext(ctx, ct));
  return ct;
}

// ---------------------------------------------------------------- secret key

Result<std::vector<uint8_t>> SerializeSecretKey(const Context& ctx, const SecretKey& sk) {
  VEIL_RETURN_IF_ERROR(ValidateSecretKey(ctx, sk));
  RnsPoly s = sk.s;
  PolyFromNtt(s, ctx.key_ntt());
  const size_t n = ctx.n();
  // 0 -> 0, 1 -> 1, -1 -> 2; the value must be the same ternary integer in every limb.
  std::vector<uint64_t> codes(n);
  for (size_t i = 0; i < n; ++i) {
    const uint64_t v = s.limb(0)[i];
    const uint64_t q0 = ctx.key_moduli()[0].value();
    const int64_t sv = v == 0 ? 0 : v == 1 ? 1 : v == q0 - 1 ? -1 : 2;
    if (sv == 2) return Status::InvalidArgument("secret key is not ternary");
    for (size_t l = 1; l < s.limbs(); ++l) {
      if (s.limb(l)[i] != internal::SignedToResidue(sv, ctx.key_moduli()[l].value())) {
        return Status::InvalidArgument("secret key limbs disagree");
      }
    }
    codes[i] = sv < 0 ? 2 : static_cast<uint64_t>(sv);
  }
  Writer w;
  WriteHeader(w, ctx, BlobKind::kSecretKey, 0);
  w.U32(static_cast<uint32_t>(n));
  w.U32(static_cast<uint32_t>(ctx.key_limbs()));
  w.Packed(codes.data(), n, 2);
  return w.Take();
}

Result<SecretKey> DeserializeSecretKey(const Context& ctx, std::span<const uint8_t> bytes) {
  const char* what = "secret key";
  Reader r(bytes);
  uint8_t flags = 0;
  VEIL_RETURN_IF_ERROR(ReadHeader(r, ctx, BlobKind::kSecretKey, 0, &flags, what));
  VEIL_RETURN_IF_ERROR(ReadDims(r, ctx, ctx.key_limbs(), what));
  const size_t n = ctx.n();
  if (r.remaining() != PackedBytes(n, 2)) {
    return r.remaining() < PackedBytes(n, 2) ? Truncated(what)
                                             : Status::Corrupt("secret key: trailing bytes");
  }
  std::vector<uint64_t> codes(n);
  if (!r.Packed(codes.data(), n, 2)) return Status::Corrupt("secret key: bad packing");
  SecretKey sk;
  sk.params_id = ctx.params_id();
  sk.s = RnsPoly(n, ctx.key_limbs());
  for (size_t i = 0; i < n; ++i) {
    if (codes[i] > 2) return Status::Corrupt("secret key: coefficient code 3 is not ternary");
    const int64_t v = codes[i] == 2 ? -1 : static_cast<int64_t>(codes[i]);
    for (size_t l = 0; l < ctx.key_limbs(); ++l) {
      sk.s.limb(l)[i] = internal::SignedToResidue(v, ctx.key_moduli()[l].value());
    }
  }
  PolyToNtt(sk.s, ctx.key_ntt());
  return sk;
}

// ---------------------------------------------------------------- public key

Result<std::vector<uint8_t>> SerializePublicKey(const Context& ctx, const PublicKey& pk) {
  VEIL_RETURN_IF_ERROR(ValidatePublicKey(ctx, pk));
  VEIL_RETURN_IF_ERROR(RequireSodium());
  if (!(ExpandPublicKeyA(ctx, pk.seed) == pk.a)) {
    return Status::InvalidArgument("public key does not match its seed");
  }
  Writer w;
  WriteHeader(w, ctx, BlobKind::kPublicKey, kFlagSeeded);
  w.U32(static_cast<uint32_t>(ctx.n()));
  w.U32(static_cast<uint32_t>(ctx.public_key_limbs()));
  w.Bytes(pk.seed.data(), pk.seed.size());
  WritePoly(w, pk.b, ctx.key_moduli());
  return w.Take();
}

Result<PublicKey> DeserializePublicKey(const Context& ctx, std::span<const uint8_t> bytes) {
  const char* what = "public key";
  VEIL_RETURN_IF_ERROR(RequireSodium());
  Reader r(bytes);
  uint8_t flags = 0;
  VEIL_RETURN_IF_ERROR(ReadHeader(r, ctx, BlobKind::kPublicKey, kFlagSeeded, &flags, what));
  if (flags != kFlagSeeded) return Status::Corrupt("public key: must be seeded");
  VEIL_RETURN_IF_ERROR(ReadDims(r, ctx, ctx.public_key_limbs(), what));
  PublicKey pk;
  pk.params_id = ctx.params_id();
  if (!r.Bytes(pk.seed.data(), pk.seed.size())) return Truncated(what);
  pk.b = RnsPoly(ctx.n(), ctx.public_key_limbs(), true);
  VEIL_RETURN_IF_ERROR(ReadPoly(r, pk.b, ctx.key_moduli(), what));
  VEIL_RETURN_IF_ERROR(CheckEnd(r, what));
  pk.a = ExpandPublicKeyA(ctx, pk.seed);
  return pk;
}

// ---------------------------------------------------------------- relinearization keys

Result<std::vector<uint8_t>> SerializeRelinKeys(const Context& ctx, const RelinKeys& rk) {
  VEIL_RETURN_IF_ERROR(ValidateRelinKeys(ctx, rk));
  VEIL_RETURN_IF_ERROR(RequireSodium());
  Writer w;
  WriteHeader(w, ctx, BlobKind::kRelinKeys, kFlagSeeded);
  w.U32(static_cast<uint32_t>(ctx.n()));
  w.U32(static_cast<uint32_t>(ctx.key_limbs()));
  VEIL_RETURN_IF_ERROR(WriteKSwitch(w, ctx, rk.key));
  return w.Take();
}

Result<RelinKeys> DeserializeRelinKeys(const Context& ctx, std::span<const uint8_t> bytes) {
  const char* what = "relinearization key";
  VEIL_RETURN_IF_ERROR(RequireSodium());
  Reader r(bytes);
  uint8_t flags = 0;
  VEIL_RETURN_IF_ERROR(ReadHeader(r, ctx, BlobKind::kRelinKeys, kFlagSeeded, &flags, what));
  if (flags != kFlagSeeded) return Status::Corrupt("relinearization key: must be seeded");
  VEIL_RETURN_IF_ERROR(ReadDims(r, ctx, ctx.key_limbs(), what));
  if (r.remaining() < KSwitchBytes(ctx)) return Truncated(what);
  RelinKeys rk;
  rk.params_id = ctx.params_id();
  VEIL_RETURN_IF_ERROR(ReadKSwitch(r, ctx, rk.key, what));
  VEIL_RETURN_IF_ERROR(CheckEnd(r, what));
  return rk;
}

// ---------------------------------------------------------------- Galois keys

Result<std::vector<uint8_t>> SerializeGaloisKeys(const Context& ctx, const GaloisKeys& gk) {
  VEIL_RETURN_IF_ERROR(ValidateGaloisKeys(ctx, gk));
  VEIL_RETURN_IF_ERROR(RequireSodium());
  Writer w;
  WriteHeader(w, ctx, BlobKind::kGaloisKeys, kFlagSeeded);
  w.U32(static_cast<uint32_t>(ctx.n()));
  w.U32(static_cast<uint32_t>(ctx.key_limbs()));
  w.U32(static_cast<uint32_t>(gk.keys.size()));
  for (const auto& [elt, key] : gk.keys) {  // std::map: strictly increasing
    w.U32(elt);
    VEIL_RETURN_IF_ERROR(WriteKSwitch(w, ctx, key));
  }
  return w.Take();
}

Result<GaloisKeys> DeserializeGaloisKeys(const Context& ctx, std::span<const uint8_t> bytes) {
  const char* what = "Galois keys";
  VEIL_RETURN_IF_ERROR(RequireSodium());
  Reader r(bytes);
  uint8_t flags = 0;
  VEIL_RETURN_IF_ERROR(ReadHeader(r, ctx, BlobKind::kGaloisKeys, kFlagSeeded, &flags, what));
  if (flags != kFlagSeeded) return Status::Corrupt("Galois keys: must be seeded");
  VEIL_RETURN_IF_ERROR(ReadDims(r, ctx, ctx.key_limbs(), what));
  uint32_t count;
  if (!r.U32(&count)) return Truncated(what);
  const size_t per_key = 4 + KSwitchBytes(ctx);
  if (count > ctx.n() || r.remaining() != static_cast<size_t>(count) * per_key) {
    return Status::Corrupt("Galois keys: " + std::to_string(count) + " keys do not match the " +
                           std::to_string(r.remaining()) + " bytes present");
  }
  GaloisKeys gk;
  gk.params_id = ctx.params_id();
  uint32_t previous = 0;
  for (uint32_t k = 0; k < count; ++k) {
    uint32_t elt;
    if (!r.U32(&elt)) return Truncated(what);
    if ((elt & 1) == 0 || elt >= 2 * ctx.n() || elt <= previous) {
      return Status::Corrupt("Galois keys: element " + std::to_string(elt) +
                             " is not odd, below 2N and increasing");
    }
    previous = elt;
    KSwitchKey key;
    VEIL_RETURN_IF_ERROR(ReadKSwitch(r, ctx, key, what));
    gk.keys.emplace(elt, std::move(key));
  }
  VEIL_RETURN_IF_ERROR(CheckEnd(r, what));
  return gk;
}

}  // namespace veil::he
