#include "veil/registry/records.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "registry/registry_test_util.h"
#include "veil/v1/registry.pb.h"

namespace veil::registry {
namespace {

using testing::FilledDigest;
using testing::MakeModelRecord;
using testing::MakeNodeRecord;
using testing::TestIdentity;

std::string AsString(const std::array<uint8_t, 32>& a) { return std::string(a.begin(), a.end()); }

// A SignedRecord over arbitrary payload bytes, correctly signed by `signer` for `kind`:
// what an attacker holding a key can produce.
std::string SealRaw(const Identity& signer, const std::string& kind, const std::string& payload) {
  std::string msg = "veil/registry/v1/" + kind;
  msg.push_back('\0');
  msg += payload;
  const Signature sig = signer.Sign({reinterpret_cast<const uint8_t*>(msg.data()), msg.size()});
  v1::SignedRecord env;
  env.set_payload(payload);
  env.set_signer_public_key(AsString(signer.public_key()));
  env.set_signature(std::string(sig.begin(), sig.end()));
  return env.SerializeAsString();
}

v1::NodeRecord NodeProto(const Identity& id) {
  auto signed_record = SignNodeRecord(id, MakeNodeRecord(id));
  EXPECT_TRUE(signed_record.ok());
  v1::SignedRecord env;
  EXPECT_TRUE(env.ParseFromString(*signed_record));
  v1::NodeRecord m;
  EXPECT_TRUE(m.ParseFromString(env.payload()));
  return m;
}

v1::ModelRecord ModelProto(const Identity& id) {
  auto signed_record = SignModelRecord(id, MakeModelRecord(id));
  EXPECT_TRUE(signed_record.ok());
  v1::SignedRecord env;
  EXPECT_TRUE(env.ParseFromString(*signed_record));
  v1::ModelRecord m;
  EXPECT_TRUE(m.ParseFromString(env.payload()));
  return m;
}

void ExpectRejected(const Result<NodeRecord>& r, const std::string& reason) {
  ASSERT_FALSE(r.ok()) << "accepted, expected: " << reason;
  EXPECT_NE(r.status().message().find(reason), std::string::npos) << r.status().message();
}

TEST(RegistryRecordsTest, NodeRecordRoundTrip) {
  TestIdentity node;
  const NodeRecord in = MakeNodeRecord(*node, "node-1.example:443", 42);
  auto bytes = SignNodeRecord(*node, in);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  auto out = VerifyNodeRecord(*bytes);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->node_key, in.node_key);
  EXPECT_EQ(out->grpc_address, in.grpc_address);
  EXPECT_EQ(out->capacity.cores, in.capacity.cores);
  EXPECT_EQ(out->capacity.memory_bytes, in.capacity.memory_bytes);
  ASSERT_EQ(out->segments.size(), in.segments.size());
  for (size_t i = 0; i < in.segments.size(); ++i) {
    EXPECT_EQ(out->segments[i].model_digest, in.segments[i].model_digest);
    EXPECT_EQ(out->segments[i].segment_index, in.segments[i].segment_index);
    EXPECT_EQ(out->segments[i].segment_digest, in.segments[i].segment_digest);
    EXPECT_EQ(out->segments[i].throughput_samples_per_s, in.segments[i].throughput_samples_per_s);
  }
  EXPECT_EQ(out->issued_at_unix_ms, in.issued_at_unix_ms);
  EXPECT_EQ(out->seq, 42u);
  EXPECT_EQ(out->node_id(), node->node_id());
}

TEST(RegistryRecordsTest, ModelAndOwnerRecordRoundTrip) {
  TestIdentity owner;
  const ModelRecord in = MakeModelRecord(*owner, "tiny-lm.v2", 7);
  auto bytes = SignModelRecord(*owner, in);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  auto out = VerifyModelRecord(*bytes);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->name, "tiny-lm.v2");
  EXPECT_EQ(out->model_digest, in.model_digest);
  EXPECT_EQ(out->owner_key, owner->public_key());
  ASSERT_EQ(out->segments.size(), 2u);
  EXPECT_EQ(out->segments[1].index, 1u);
  EXPECT_EQ(out->segments[1].segment_digest, FilledDigest(11));
  EXPECT_EQ(out->segments[1].byte_size, 8192u);
  EXPECT_EQ(out->segments[1].fetch_uri, in.segments[1].fetch_uri);
  EXPECT_EQ(out->seq, 7u);

  OwnerKeyRecord claim{"tiny-lm.v2", owner->public_key(), 1'700'000'000'000, 3};
  auto claim_bytes = SignOwnerKeyRecord(*owner, claim);
  ASSERT_TRUE(claim_bytes.ok());
  auto claim_out = VerifyOwnerKeyRecord(*claim_bytes);
  ASSERT_TRUE(claim_out.ok()) << claim_out.status().ToString();
  EXPECT_EQ(claim_out->model_name, "tiny-lm.v2");
  EXPECT_EQ(claim_out->owner_key, owner->public_key());
  EXPECT_EQ(claim_out->seq, 3u);
}

TEST(RegistryRecordsTest, EveryFlippedBitIsRejected) {
  TestIdentity node;
  auto bytes = SignNodeRecord(*node, MakeNodeRecord(*node));
  ASSERT_TRUE(bytes.ok());
  for (size_t i = 0; i < bytes->size(); ++i) {
    for (int bit : {0, 7}) {
      std::string bad = *bytes;
      bad[i] = static_cast<char>(bad[i] ^ (1 << bit));
      EXPECT_FALSE(VerifyNodeRecord(bad).ok()) << "byte " << i << " bit " << bit;
    }
  }
  // Truncation at every length.
  for (size_t n = 0; n < bytes->size(); ++n)
    EXPECT_FALSE(VerifyNodeRecord(std::string_view(*bytes).substr(0, n)).ok()) << n;
}

TEST(RegistryRecordsTest, TamperedPayloadIsRejected) {
  TestIdentity node;
  auto bytes = SignNodeRecord(*node, MakeNodeRecord(*node));
  ASSERT_TRUE(bytes.ok());
  v1::SignedRecord env;
  ASSERT_TRUE(env.ParseFromString(*bytes));
  v1::NodeRecord m;
  ASSERT_TRUE(m.ParseFromString(env.payload()));
  m.set_grpc_address("10.6.6.6:7001");  // redirect traffic, keep the signature
  env.set_payload(m.SerializeAsString());
  ExpectRejected(VerifyNodeRecord(env.SerializeAsString()), "invalid signature");
}

TEST(RegistryRecordsTest, RecordSignedByAnotherKeyIsRejected) {
  TestIdentity victim, attacker;
  // The attacker signs a record that claims the victim's node key.
  ExpectRejected(
      VerifyNodeRecord(SealRaw(*attacker, "node", NodeProto(*victim).SerializeAsString())),
      "signed by a key other than its node key");
  v1::ModelRecord model = ModelProto(*victim);
  auto r = VerifyModelRecord(SealRaw(*attacker, "model", model.SerializeAsString()));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("other than its owner key"), std::string::npos);
  // The signing side refuses too.
  EXPECT_EQ(SignNodeRecord(*attacker, MakeNodeRecord(*victim)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(SignModelRecord(*attacker, MakeModelRecord(*victim)).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(RegistryRecordsTest, SwappedSignatureIsRejected) {
  TestIdentity node;
  auto a = SignNodeRecord(*node, MakeNodeRecord(*node, "127.0.0.1:7001", 1));
  auto b = SignNodeRecord(*node, MakeNodeRecord(*node, "127.0.0.1:7002", 2));
  ASSERT_TRUE(a.ok() && b.ok());
  v1::SignedRecord ea, eb;
  ASSERT_TRUE(ea.ParseFromString(*a) && eb.ParseFromString(*b));
  ea.set_signature(eb.signature());
  ExpectRejected(VerifyNodeRecord(ea.SerializeAsString()), "invalid signature");
}

TEST(RegistryRecordsTest, KindsAreDomainSeparated) {
  TestIdentity owner;
  auto model = SignModelRecord(*owner, MakeModelRecord(*owner));
  ASSERT_TRUE(model.ok());
  // The same bytes presented as another kind fail the signature check, not just decoding.
  auto as_owner = VerifyOwnerKeyRecord(*model);
  ASSERT_FALSE(as_owner.ok());
  EXPECT_NE(as_owner.status().message().find("invalid signature"), std::string::npos);
  ExpectRejected(VerifyNodeRecord(*model), "invalid signature");
}

TEST(RegistryRecordsTest, MalformedEnvelopesAreRejected) {
  TestIdentity node;
  auto bytes = SignNodeRecord(*node, MakeNodeRecord(*node));
  ASSERT_TRUE(bytes.ok());
  v1::SignedRecord env;
  ASSERT_TRUE(env.ParseFromString(*bytes));
  v1::SignedRecord short_key = env;
  short_key.set_signer_public_key(env.signer_public_key().substr(0, 31));
  ExpectRejected(VerifyNodeRecord(short_key.SerializeAsString()), "signer_public_key must be 32");
  v1::SignedRecord long_sig = env;
  long_sig.set_signature(env.signature() + "x");
  ExpectRejected(VerifyNodeRecord(long_sig.SerializeAsString()), "signature must be 64");
  ExpectRejected(VerifyNodeRecord(std::string(kMaxSignedRecordBytes + 1, '\0')),
                 "exceeds the limit");
  ExpectRejected(VerifyNodeRecord("\xff\xff\xff"), "not a SignedRecord");
  ExpectRejected(VerifyNodeRecord(""), "signer_public_key must be 32");
}

// Correctly signed by the right key, but with a field outside its limits: still rejected.
TEST(RegistryRecordsTest, OutOfLimitNodeFieldsAreRejected) {
  TestIdentity node;
  auto check = [&](const std::function<void(v1::NodeRecord*)>& mutate, const std::string& reason) {
    v1::NodeRecord m = NodeProto(*node);
    mutate(&m);
    ExpectRejected(VerifyNodeRecord(SealRaw(*node, "node", m.SerializeAsString())), reason);
  };
  check([](v1::NodeRecord* m) { m->set_node_public_key(std::string(33, 'k')); },
        "node_public_key must be 32");
  check([](v1::NodeRecord* m) { m->set_grpc_address(std::string(250, 'a') + ":70001"); },
        "grpc_address must be 1..255");
  check([](v1::NodeRecord* m) { m->set_grpc_address("host:70001"); }, "port out of range");
  check([](v1::NodeRecord* m) { m->set_grpc_address("host"); }, "host:port");
  check([](v1::NodeRecord* m) { m->set_grpc_address("ho st:80"); }, "host has a character");
  check([](v1::NodeRecord* m) { m->set_grpc_address("h\xc3\xa9\xff:80"); },  // not ASCII
        "host has a character");
  check([](v1::NodeRecord* m) { m->mutable_capacity()->set_cores(0); }, "cores");
  check([](v1::NodeRecord* m) { m->mutable_capacity()->set_memory_bytes(0); }, "memory_bytes");
  check([](v1::NodeRecord* m) { m->mutable_segments(0)->set_model_digest(std::string(31, 'd')); },
        "model_digest must be 32");
  check([](v1::NodeRecord* m) { m->mutable_segments(1)->set_segment_digest(std::string(33, 'd')); },
        "segment_digest must be 32");
  check(
      [](v1::NodeRecord* m) {
        m->mutable_segments(0)->set_throughput_samples_per_s(
            std::numeric_limits<double>::quiet_NaN());
      },
      "throughput");
  check([](v1::NodeRecord* m) { m->mutable_segments(0)->set_throughput_samples_per_s(-1); },
        "throughput");
  check(
      [](v1::NodeRecord* m) {
        for (size_t i = 0; i < kMaxHostedSegments; ++i) *m->add_segments() = m->segments(0);
      },
      "hosted segments");
  check([](v1::NodeRecord* m) { m->set_seq(0); }, "seq must be positive");
  check([](v1::NodeRecord* m) { m->set_issued_at_unix_ms(-5); }, "issued_at");
}

TEST(RegistryRecordsTest, OutOfLimitModelFieldsAreRejected) {
  TestIdentity owner;
  auto check = [&](const std::function<void(v1::ModelRecord*)>& mutate, const std::string& reason) {
    v1::ModelRecord m = ModelProto(*owner);
    mutate(&m);
    auto r = VerifyModelRecord(SealRaw(*owner, "model", m.SerializeAsString()));
    ASSERT_FALSE(r.ok()) << reason;
    EXPECT_NE(r.status().message().find(reason), std::string::npos) << r.status().message();
  };
  check([](v1::ModelRecord* m) { m->set_name("../etc"); }, "invalid model name");
  check([](v1::ModelRecord* m) { m->set_name("a/b"); }, "invalid model name");
  check([](v1::ModelRecord* m) { m->set_name(std::string(kMaxModelNameChars + 1, 'n')); },
        "invalid model name");
  check([](v1::ModelRecord* m) { m->set_name(""); }, "invalid model name");
  check([](v1::ModelRecord* m) { m->set_name("caf\xc3\xa9"); }, "invalid model name");
  check([](v1::ModelRecord* m) { m->mutable_segments(0)->set_fetch_uri("http://\xff"); },
        "fetch_uri");
  check([](v1::ModelRecord* m) { m->set_model_digest(std::string(31, 'd')); },
        "model_digest must be 32");
  check([](v1::ModelRecord* m) { m->set_owner_public_key(""); }, "owner_public_key must be 32");
  check([](v1::ModelRecord* m) { m->clear_segments(); }, "no segments");
  check([](v1::ModelRecord* m) { m->mutable_segments(1)->set_index(0); }, "strictly increasing");
  check([](v1::ModelRecord* m) { m->mutable_segments(0)->set_byte_size(0); }, "byte_size");
  check(
      [](v1::ModelRecord* m) {
        m->mutable_segments(0)->set_fetch_uri(std::string(kMaxFetchUriChars + 1, 'u'));
      },
      "fetch_uri");
  check([](v1::ModelRecord* m) { m->mutable_segments(0)->set_fetch_uri("a b"); }, "fetch_uri");
  check([](v1::ModelRecord* m) { m->mutable_segments(0)->set_segment_digest(""); },
        "segment_digest must be 32");
}

TEST(RegistryRecordsTest, SigningRefusesInvalidRecords) {
  TestIdentity node;
  NodeRecord bad = MakeNodeRecord(*node);
  bad.grpc_address = "no-port";
  EXPECT_EQ(SignNodeRecord(*node, bad).status().code(), StatusCode::kInvalidArgument);
  ModelRecord bad_model = MakeModelRecord(*node);
  bad_model.name = "has space";
  EXPECT_EQ(SignModelRecord(*node, bad_model).status().code(), StatusCode::kInvalidArgument);
  OwnerKeyRecord claim{"ok-name", node->public_key(), 1, 0};  // seq 0
  EXPECT_EQ(SignOwnerKeyRecord(*node, claim).status().code(), StatusCode::kInvalidArgument);
}

TEST(RegistryRecordsTest, ReplayGuardRejectsOlderSeqAndEquivocation) {
  TestIdentity node, other;
  ReplayGuard guard;
  const PublicKey& k = node->public_key();
  EXPECT_TRUE(guard.Admit(RecordKind::kNode, "n1", k, 5, FilledDigest(5)).ok());
  EXPECT_TRUE(guard.Admit(RecordKind::kNode, "n1", k, 5, FilledDigest(5)).ok());  // seen again
  Status replay = guard.Admit(RecordKind::kNode, "n1", k, 4, FilledDigest(4));
  ASSERT_FALSE(replay.ok());
  EXPECT_NE(replay.message().find("replayed"), std::string::npos);
  EXPECT_FALSE(guard.Admit(RecordKind::kNode, "n1", k, 5, FilledDigest(6)).ok());  // equivocation
  EXPECT_TRUE(guard.Admit(RecordKind::kNode, "n1", k, 6, FilledDigest(6)).ok());
  EXPECT_FALSE(guard.Admit(RecordKind::kNode, "n1", k, 5, FilledDigest(5)).ok());  // now old
  // Independent per kind, subject and signer.
  EXPECT_TRUE(guard.Admit(RecordKind::kModel, "n1", k, 1, FilledDigest(1)).ok());
  EXPECT_TRUE(guard.Admit(RecordKind::kNode, "n2", k, 1, FilledDigest(1)).ok());
  EXPECT_TRUE(guard.Admit(RecordKind::kNode, "n1", other->public_key(), 1, FilledDigest(1)).ok());
}

TEST(RegistryRecordsTest, ModelNameRule) {
  EXPECT_TRUE(IsValidModelName("fashion_cnn"));
  EXPECT_TRUE(IsValidModelName("tiny-lm.v2"));
  EXPECT_FALSE(IsValidModelName(""));
  EXPECT_FALSE(IsValidModelName("."));
  EXPECT_FALSE(IsValidModelName(".."));
  EXPECT_FALSE(IsValidModelName("a/b"));
  EXPECT_FALSE(IsValidModelName(std::string("a\0b", 3)));
  EXPECT_FALSE(IsValidModelName(std::string(kMaxModelNameChars + 1, 'a')));
}

}  // namespace
}  // namespace veil::registry
