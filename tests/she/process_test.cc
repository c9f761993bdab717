// SHE exact mode through real `veil node` processes (label slow): the shipped MLP and CNN,
// split into 3 segments over 2 node processes, give outputs bit-identical to Session::Run;
// afterwards neither node process's memory contains the key holder's secret key (searched
// for in NTT form, as any secret-key object would hold it, and in its serialized form),
// while the same search finds it in this process (so the search can fail).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

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
#include "veil/she/client.h"

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

// Starts `veil node --model path --segments segs --insecure` and reads its address.
void StartNode(const std::string& model, const std::string& segs, NodeProcess* node) {
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
    execl(VEIL_BINARY, "veil", "node", "--model", model.c_str(), "--segments", segs.c_str(),
          "--insecure", "--listen", "127.0.0.1:0", static_cast<char*>(nullptr));
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
std::vector<std::vector<uint8_t>> SecretNeedles(const he::SecretKey& sk) {
  std::vector<std::vector<uint8_t>> needles;
  for (size_t limb : {size_t{0}, sk.s.limbs() - 1}) {
    const auto* p = reinterpret_cast<const uint8_t*>(sk.s.limb(limb) + 100);
    needles.emplace_back(p, p + 64);
  }
  auto ctx = MakeSheContext(SheParams::kN8192);
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

}  // namespace
}  // namespace veil::she
