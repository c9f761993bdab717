// SHE through real `veil node` processes (label slow): exact mode on the shipped MLP and
// CNN, split into 3 segments over 2 node processes, gives outputs bit-identical to
// Session::Run; afterwards neither node process's memory contains the key holder's secret
// key (searched for in NTT form, as any secret-key object would hold it, and in its
// serialized form), while the same search finds it in the key holder's process (so the
// search can fail). The same for the non-interactive CKKS mode (polymlp as layers [0, 2)
// and [2, 3) on two `veil node --ckks-model` processes, 200 test images against the plain
// model's classes) and for a delegate key holder process (`veil keyholder`) in exact mode.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "onnx/shipped_models.h"
#include "veil/he/serialize.h"
#include "veil/model_file.h"
#include "veil/quantization.h"
#include "veil/segmenter.h"
#include "veil/session.h"
#include "veil/she/ckks_client.h"
#include "veil/she/client.h"
#include "veil/she/key_holder.h"

namespace veil::she {
namespace {

struct NodeProcess {
  pid_t pid = -1;
  std::string address;
  ~NodeProcess() {
    if (pid > 0) {
      kill(pid, SIGTERM);
      int status = 0;
      waitpid(pid, &status, 0);
    }
  }
};

// Starts `veil ARGS... --insecure --listen 127.0.0.1:0` and reads its address.
void StartVeil(const std::vector<std::string>& args, NodeProcess* node) {
  int out[2];
  ASSERT_EQ(pipe(out), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    const int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, STDERR_FILENO);
    close(out[0]);
    close(out[1]);
    std::vector<std::string> all = {"veil"};
    all.insert(all.end(), args.begin(), args.end());
    for (const char* a : {"--insecure", "--listen", "127.0.0.1:0"}) all.emplace_back(a);
    std::vector<char*> argv;
    for (std::string& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(VEIL_BINARY, argv.data());
    _exit(127);
  }
  close(out[1]);
  node->pid = pid;
  std::string line;
  char c;
  while (read(out[0], &c, 1) == 1 && c != '\n') line += c;
  close(out[0]);
  const std::string prefix = "listening on ";
  ASSERT_EQ(line.rfind(prefix, 0), 0u) << "node did not start: '" << line << "'";
  node->address = line.substr(prefix.size(), line.find(' ', prefix.size()) - prefix.size());
}

// Starts `veil node --model path --segments segs --insecure` and reads its address.
void StartNode(const std::string& model, const std::string& segs, NodeProcess* node) {
  StartVeil({"node", "--model", model, "--segments", segs}, node);
}

// How often the readable mappings of process `pid` contain one of `needles` (the search
// stops once more than `stop_after` are found). Fails the test if the memory cannot be
// read at all.
size_t MemoryCount(pid_t pid, const std::vector<std::vector<uint8_t>>& needles,
                   size_t stop_after = SIZE_MAX) {
  const std::string base = "/proc/" + std::to_string(pid);
  std::ifstream maps(base + "/maps");
  EXPECT_TRUE(maps.good()) << "cannot read " << base << "/maps";
  const int fd = open((base + "/mem").c_str(), O_RDONLY);
  EXPECT_GE(fd, 0) << "cannot open " << base << "/mem";
  if (fd < 0) return 0;
  size_t readable_bytes = 0;
  size_t found = 0;
  std::string line;
  std::vector<uint8_t> buf;
  while (found <= stop_after && std::getline(maps, line)) {
    std::istringstream fields(line);
    std::string range, perms;
    fields >> range >> perms;
    if (perms.empty() || perms[0] != 'r' || line.find("[vvar]") != std::string::npos ||
        line.find("[vsyscall]") != std::string::npos)
      continue;
    const size_t dash = range.find('-');
    const uint64_t begin = std::stoull(range.substr(0, dash), nullptr, 16);
    const uint64_t end = std::stoull(range.substr(dash + 1), nullptr, 16);
    constexpr uint64_t kChunk = 8 << 20, kOverlap = 256;
    for (uint64_t at = begin; at < end && found <= stop_after; at += kChunk) {
      const uint64_t len = std::min<uint64_t>(kChunk + kOverlap, end - at);
      buf.resize(len);
      const ssize_t got = pread(fd, buf.data(), len, static_cast<off_t>(at));
      if (got <= 0) break;
      readable_bytes += static_cast<size_t>(got);
      // Count matches that start in this chunk (not in the overlap read again next time).
      const auto* data = buf.data();
      const auto size = static_cast<size_t>(got);
      for (const auto& n : needles)
        for (const void* hit = memmem(data, size, n.data(), n.size()); hit != nullptr;) {
          const size_t off = static_cast<size_t>(static_cast<const uint8_t*>(hit) - data);
          if (off < kChunk) ++found;
          hit =
              off + 1 < size ? memmem(data + off + 1, size - off - 1, n.data(), n.size()) : nullptr;
        }
    }
  }
  close(fd);
  EXPECT_TRUE(found > 0 || readable_bytes > (size_t{1} << 20))
      << "read almost nothing of " << base << "/mem";
  return found;
}

// 64-byte windows of the secret key: NTT-form residues (first and last limb) and the
// packed body of its serialization.
std::vector<std::vector<uint8_t>> SecretNeedles(const he::SecretKey& sk, bool ckks = false) {
  std::vector<std::vector<uint8_t>> needles;
  for (size_t limb : {size_t{0}, sk.s.limbs() - 1}) {
    const auto* p = reinterpret_cast<const uint8_t*>(sk.s.limb(limb) + 100);
    needles.emplace_back(p, p + 64);
  }
  auto ctx = ckks ? MakeSheCkksContext(SheParams::kN8192) : MakeSheContext(SheParams::kN8192);
  EXPECT_TRUE(ctx.ok());
  auto blob = he::SerializeSecretKey(**ctx, sk);
  EXPECT_TRUE(blob.ok());
  if (blob.ok() && blob->size() > 1100)
    needles.emplace_back(blob->begin() + 1000, blob->begin() + 1064);
  return needles;
}

void RunThroughTwoNodes(const std::string& name, int64_t images) {
  auto graph = testing::ImportShipped(name);
  ASSERT_TRUE(graph.ok()) << graph.status().ToString();
  ASSERT_TRUE(SplitIntoSegments(&*graph, 3).ok());
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("she_process_" + name + "_" + std::to_string(getpid()) + ".veil"))
                               .string();
  ASSERT_TRUE(SaveModel(*graph, path).ok());
  NodeProcess a, b;
  StartNode(path, "0,1", &a);
  StartNode(path, "2", &b);
  std::filesystem::remove(path);
  ASSERT_FALSE(a.address.empty());
  ASSERT_FALSE(b.address.empty());

  auto batch = testing::FashionTestImages(name, 0, images);
  ASSERT_TRUE(batch.ok());
  auto session = Session::Create(*graph);
  ASSERT_TRUE(session.ok());
  const Value& in = graph->values[static_cast<size_t>(graph->inputs[0])];
  Shape shape = {images};
  for (int64_t d : in.shape) shape.push_back(d);
  const Tensor x = QuantizeInput(in, shape, batch->floats);
  auto expected = (*session)->Run({x});
  ASSERT_TRUE(expected.ok());

  net::Route route = {{0, {a.address}}, {1, {a.address}}, {2, {b.address}}};
  SheOptions options;
  options.client.security = net::LinkSecurity::Insecure();
  auto runner = SheRunner::Create(*graph, route, options);
  ASSERT_TRUE(runner.ok()) << runner.status().ToString();
  auto got = (*runner)->Run({x});
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->outputs.size(), 1u);
  EXPECT_EQ(got->outputs[0].shape(), (*expected)[0].shape());
  EXPECT_TRUE(std::equal(got->outputs[0].i8().begin(), got->outputs[0].i8().end(),
                         (*expected)[0].i8().begin()))
      << name << ": SHE output differs from Session::Run";
  std::set<std::string> served;
  for (const SheStep& s : got->steps) served.insert(s.served_by);
  EXPECT_EQ(served.size(), 2u) << "both node processes evaluate layers";
  EXPECT_GE((*runner)->key_uploads().size(), 2u);  // one key set per routed segment

  const auto needles = SecretNeedles((*runner)->secret_key());
  // Positive control: here the key lives in the runner's key generator, encryptor and
  // decryptor besides the copy in `needles`, so each NTT-form window is found more than
  // once per needle.
  EXPECT_GT(MemoryCount(getpid(), needles, 2 * needles.size()), 2 * needles.size())
      << "the search must find the key holder's key objects here";
  EXPECT_EQ(MemoryCount(a.pid, needles), 0u) << "node A holds the secret key";
  EXPECT_EQ(MemoryCount(b.pid, needles), 0u) << "node B holds the secret key";
}

TEST(SheProcess, MlpBitIdenticalThroughTwoNodesWithoutSecretKey) { RunThroughTwoNodes("mlp", 6); }
TEST(SheProcess, CnnBitIdenticalThroughTwoNodesWithoutSecretKey) { RunThroughTwoNodes("cnn", 2); }

TEST(SheProcess, CkksPolymlpThroughTwoNodesMatchesThePlainModelWithoutSecretKey) {
  const std::string onnx = testing::ModelDir("polymlp") + "/polymlp.onnx";
  NodeProcess a, b;
  StartVeil({"node", "--ckks-model", onnx, "--ckks-layers", "0:2"}, &a);
  StartVeil({"node", "--ckks-model", onnx, "--ckks-layers", "2:3"}, &b);
  ASSERT_FALSE(a.address.empty());
  ASSERT_FALSE(b.address.empty());
  auto spec = LoadCkksModel(onnx);
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  CkksSheOptions options;
  options.client.security = net::LinkSecurity::Insecure();
  auto runner = CkksSheRunner::Create(*spec, {{0, 2, {a.address}}, {2, 3, {b.address}}}, options);
  ASSERT_TRUE(runner.ok()) << runner.status().ToString();
  constexpr int64_t kImages = 200;
  auto images = testing::FashionTestImages("polymlp", 0, kImages);
  ASSERT_TRUE(images.ok());
  std::vector<std::vector<double>> xs(kImages);
  for (int64_t i = 0; i < kImages; ++i)
    xs[static_cast<size_t>(i)].assign(images->floats.begin() + i * 784,
                                      images->floats.begin() + (i + 1) * 784);
  auto result = (*runner)->Run(xs);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  size_t agree = 0, correct = 0, plain_correct = 0;
  double max_err = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    auto plain = he::EvaluateSpecPlain(**spec, xs[i]);
    ASSERT_TRUE(plain.ok());
    const auto& got = result->outputs[i];
    const auto enc_class = std::max_element(got.begin(), got.end()) - got.begin();
    const auto plain_class = std::max_element(plain->begin(), plain->end()) - plain->begin();
    agree += enc_class == plain_class;
    correct += enc_class == images->labels[i];
    plain_correct += plain_class == images->labels[i];
    for (size_t j = 0; j < got.size(); ++j)
      max_err = std::max(max_err, std::abs(got[j] - (*plain)[j]));
  }
  std::printf(
      "CKKS through 2 node processes: %zu/%lld same class as the plain model, accuracy "
      "%zu (plain %zu), max |logit error| %.3g, %zu ciphertexts\n",
      agree, static_cast<long long>(kImages), correct, plain_correct, max_err, result->ciphertexts);
  EXPECT_EQ(agree, static_cast<size_t>(kImages));
  EXPECT_EQ(correct, plain_correct);
  EXPECT_LT(max_err, std::ldexp(1.0, -16));
  EXPECT_EQ(result->hops[0].served_by, a.address);
  EXPECT_EQ(result->hops[1].served_by, b.address);

  const auto needles = SecretNeedles((*runner)->secret_key(), /*ckks=*/true);
  EXPECT_GT(MemoryCount(getpid(), needles, 2 * needles.size()), 2 * needles.size())
      << "the search must find the key holder's key objects here";
  EXPECT_EQ(MemoryCount(a.pid, needles), 0u) << "CKKS node A holds the secret key";
  EXPECT_EQ(MemoryCount(b.pid, needles), 0u) << "CKKS node B holds the secret key";
}

TEST(SheProcess, DelegateKeyHolderBitIdenticalNodesWithoutSecretKey) {
  auto graph = testing::ImportShipped("mlp");
  ASSERT_TRUE(graph.ok()) << graph.status().ToString();
  ASSERT_TRUE(SplitIntoSegments(&*graph, 3).ok());
  const auto dir =
      std::filesystem::temp_directory_path() / ("she_delegate_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "mlp.veil").string();
  ASSERT_TRUE(SaveModel(*graph, path).ok());
  // The delegate's key, chosen here so that the test knows what to search for.
  auto ctx = MakeSheContext(SheParams::kN8192);
  ASSERT_TRUE(ctx.ok());
  auto gen = he::KeyGenerator::Create(*ctx);
  ASSERT_TRUE(gen.ok());
  const std::string key_file = (dir / "delegate.key").string();
  ASSERT_TRUE(WriteSecretKeyFile(key_file, SheParams::kN8192, gen->secret_key()).ok());
  NodeProcess a, b, holder;
  StartNode(path, "0,1", &a);
  StartNode(path, "2", &b);
  StartVeil({"keyholder", "--model", path, "--secret-key", key_file}, &holder);
  std::filesystem::remove_all(dir);
  ASSERT_FALSE(a.address.empty());
  ASSERT_FALSE(b.address.empty());
  ASSERT_FALSE(holder.address.empty());

  constexpr int64_t kImages = 6;
  auto batch = testing::FashionTestImages("mlp", 0, kImages);
  ASSERT_TRUE(batch.ok());
  auto session = Session::Create(*graph);
  ASSERT_TRUE(session.ok());
  const Value& in = graph->values[static_cast<size_t>(graph->inputs[0])];
  Shape shape = {kImages};
  for (int64_t d : in.shape) shape.push_back(d);
  const Tensor x = QuantizeInput(in, shape, batch->floats);
  auto expected = (*session)->Run({x});
  ASSERT_TRUE(expected.ok());

  net::Route route = {{0, {a.address}}, {1, {a.address}}, {2, {b.address}}};
  net::NodeClientOptions client;
  client.security = net::LinkSecurity::Insecure();
  auto got = RunThroughDelegate(holder.address, *graph, route, x, SheParams::kN8192, client);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->output.shape(), (*expected)[0].shape());
  EXPECT_TRUE(
      std::equal(got->output.i8().begin(), got->output.i8().end(), (*expected)[0].i8().begin()))
      << "SHE output through the delegate differs from Session::Run";
  std::set<std::string> served;
  for (const SheStep& s : got->steps) served.insert(s.served_by);
  EXPECT_EQ(served.size(), 2u) << "both node processes evaluate layers";
  // A second request reuses the delegate's keys on the nodes.
  auto again = RunThroughDelegate(holder.address, *graph, route, x, SheParams::kN8192, client);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(std::equal(again->output.i8().begin(), again->output.i8().end(),
                         (*expected)[0].i8().begin()));
  // Refusals: an input that is not an int8 activation tensor of the model's shape.
  Tensor wrong(DType::kInt8, {1, 7});
  EXPECT_FALSE(
      RunThroughDelegate(holder.address, *graph, route, wrong, SheParams::kN8192, client).ok());
  auto other_params =
      RunThroughDelegate(holder.address, *graph, route, x, SheParams::kN16384, client);
  ASSERT_FALSE(other_params.ok());
  EXPECT_NE(other_params.status().message().find("N8192"), std::string::npos)
      << other_params.status().ToString();

  const auto needles = SecretNeedles(gen->secret_key());
  EXPECT_GT(MemoryCount(holder.pid, needles, needles.size()), 0u)
      << "the search must find the key in the delegate key holder's process";
  EXPECT_EQ(MemoryCount(a.pid, needles), 0u) << "node A holds the delegate's secret key";
  EXPECT_EQ(MemoryCount(b.pid, needles), 0u) << "node B holds the delegate's secret key";
}

}  // namespace
}  // namespace veil::she
