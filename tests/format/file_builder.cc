#include "format/file_builder.h"

#include "veil/digest.h"

namespace veil::testing {

std::vector<uint8_t> Payload(const std::function<void(format::ByteSink*)>& encode) {
  std::vector<uint8_t> out;
  format::VectorSink sink(&out);
  encode(&sink);
  return out;
}

std::vector<uint8_t> BuildFile(const std::vector<RawSection>& sections, uint32_t version,
                               int64_t section_count) {
  std::vector<uint8_t> out;
  format::VectorSink sink(&out);
  const uint8_t magic[4] = {'V', 'E', 'I', 'L'};
  sink.Append(magic);
  sink.PutU32(version);
  sink.PutU32(0);
  sink.PutU32(static_cast<uint32_t>(section_count >= 0 ? section_count
                                                       : static_cast<int64_t>(sections.size())));
  for (const RawSection& s : sections) {
    sink.PutU16(s.tag);
    sink.PutU16(s.flags);
    sink.PutU64(s.payload.size());
    sink.Append(s.payload);
  }
  const Digest checksum = Sha256(out);
  sink.Append(checksum);
  return out;
}

std::vector<RawSection> SplitSections(std::span<const uint8_t> file) {
  std::vector<RawSection> sections;
  size_t pos = 16;
  const size_t end = file.size() >= 32 ? file.size() - 32 : 0;
  while (pos + 12 <= end) {
    RawSection s;
    s.tag = static_cast<uint16_t>(file[pos] | file[pos + 1] << 8);
    s.flags = static_cast<uint16_t>(file[pos + 2] | file[pos + 3] << 8);
    uint64_t len = 0;
    for (int i = 0; i < 8; ++i) len |= uint64_t{file[pos + 4 + i]} << (8 * i);
    pos += 12;
    if (len > end - pos) break;
    s.payload.assign(file.begin() + static_cast<ptrdiff_t>(pos),
                     file.begin() + static_cast<ptrdiff_t>(pos + len));
    pos += len;
    sections.push_back(std::move(s));
  }
  return sections;
}

std::vector<uint8_t> WithValidChecksum(std::vector<uint8_t> file) {
  if (file.size() >= 32) file.resize(file.size() - 32);
  const Digest checksum = Sha256(file);
  file.insert(file.end(), checksum.begin(), checksum.end());
  return file;
}

}  // namespace veil::testing
