#include "train/Checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <vector>

#include <zlib.h>

#include "dist/Check.h"
#include "train/H5File.h"

namespace ptuner::train {

namespace {
// Format 2: the file is sealed (see Checkpoint.h). Format 1 files had no seal.
constexpr int64_t kFormat = 2;
constexpr int64_t kSealBytes = 512;  // the HDF5 user block holding the seal
constexpr const char* kSealMagic = "ptuner-checkpoint ";
constexpr const char* kHdf5Signature = "\x89HDF\r\n\x1a\n";

std::string join_lines(const std::map<std::string, torch::Tensor>& m) {
  std::string out;
  for (const auto& [k, v] : m) out += (out.empty() ? "" : "\n") + k;
  return out;
}

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string line; std::getline(ss, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}
}  // namespace

namespace {

// Every prompt value finite, or an error naming the tensor and `where`.
void check_finite(const std::map<std::string, torch::Tensor>& params, const std::string& where) {
  for (const auto& [name, t] : params)
    PTUNER_CHECK(torch::isfinite(t).all().item<bool>(), "{}: prompt parameter '{}' holds non-finite values", where,
                 name);
}

// fsync of a file, naming it on failure.
void sync_path(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  PTUNER_CHECK(fd >= 0, "cannot open {} to sync it: {}", path, std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  PTUNER_CHECK(rc == 0, "cannot sync {} to disk: {}", path, std::strerror(err));
}

// The CRC-32 of a file's bytes from `offset` to its end, and their count.
std::pair<uint32_t, int64_t> crc_from(int fd, int64_t offset, const std::string& path) {
  std::vector<unsigned char> buf(1 << 20);
  uLong crc = crc32(0L, Z_NULL, 0);
  int64_t total = 0;
  for (;;) {
    const ssize_t n = ::pread(fd, buf.data(), buf.size(), static_cast<off_t>(offset + total));
    if (n < 0 && errno == EINTR) continue;
    PTUNER_CHECK(n >= 0, "cannot read {}: {}", path, std::strerror(errno));
    if (n == 0) break;
    crc = crc32(crc, buf.data(), static_cast<uInt>(n));
    total += n;
  }
  return {static_cast<uint32_t>(crc), total};
}

// Writes the seal into the first kSealBytes of an HDF5 file image made with that user block:
// "ptuner-checkpoint 2\nbytes N\ncrc32 XXXXXXXX\n", NUL-padded, where N and the CRC-32 cover
// every byte after the block.
void seal_image(std::vector<uint8_t>& image, const std::string& path) {
  PTUNER_CHECK(image.size() > static_cast<size_t>(kSealBytes), "checkpoint {}: its HDF5 image has only {} bytes", path,
               image.size());
  uLong crc = crc32(0L, Z_NULL, 0);
  const auto bytes = static_cast<int64_t>(image.size()) - kSealBytes;
  for (int64_t done = 0; done < bytes;) {  // crc32 takes at most 4 GiB at a time
    const auto n = static_cast<uInt>(std::min<int64_t>(bytes - done, int64_t{1} << 30));
    crc = crc32(crc, image.data() + kSealBytes + done, n);
    done += n;
  }
  std::string seal = fmt::format("{}{}\nbytes {}\ncrc32 {:08x}\n", kSealMagic, kFormat, bytes, static_cast<uint32_t>(crc));
  seal.resize(static_cast<size_t>(kSealBytes), '\0');
  std::memcpy(image.data(), seal.data(), seal.size());
}

// Writes `bytes` as the file `path` (created or truncated), naming it and the OS's reason on
// any failure (ENOSPC: "No space left on device"), close's included.
void write_whole_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);  // less the umask, as HDF5
  PTUNER_CHECK(fd >= 0, "cannot create checkpoint {}: {}", path, std::strerror(errno));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, std::min<size_t>(bytes.size() - done, size_t{1} << 30));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : ENOSPC;
      ::close(fd);
      PTUNER_FAIL("cannot write checkpoint {} ({} of {} bytes written): {}", path, done, bytes.size(),
                  std::strerror(err));
    }
    done += static_cast<size_t>(n);
  }
  PTUNER_CHECK(::close(fd) == 0, "cannot close checkpoint {}: {}", path, std::strerror(errno));
}

// Checks a checkpoint's seal before HDF5 reads any of it: HDF5 trusts its own metadata, and a
// damaged file (a cut copy, a flipped byte outside the checksummed arrays) can crash it.
void verify_seal(const std::string& path) {
  std::error_code ec;
  PTUNER_CHECK(std::filesystem::is_regular_file(path, ec), "checkpoint {}: no such file", path);
  const int fd = ::open(path.c_str(), O_RDONLY);
  PTUNER_CHECK(fd >= 0, "cannot open checkpoint {}: {}", path, std::strerror(errno));
  std::string head(static_cast<size_t>(kSealBytes), '\0');
  ssize_t got = 0;
  std::pair<uint32_t, int64_t> actual{0, 0};
  try {
    got = ::pread(fd, head.data(), head.size(), 0);
    PTUNER_CHECK(got >= 0, "cannot read checkpoint {}: {}", path, std::strerror(errno));
    if (got == kSealBytes && head.compare(0, std::strlen(kSealMagic), kSealMagic) == 0)
      actual = crc_from(fd, kSealBytes, path);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  head.resize(static_cast<size_t>(std::max<ssize_t>(got, 0)));
  PTUNER_CHECK(head.compare(0, 8, kHdf5Signature) != 0,
               "checkpoint {} was written by an older ptuner (format 1, without a seal); this "
               "ptuner reads format {}",
               path, kFormat);
  PTUNER_CHECK(head.size() == static_cast<size_t>(kSealBytes) &&
                   head.compare(0, std::strlen(kSealMagic), kSealMagic) == 0,
               "{} is not a ptuner checkpoint (it does not start with '{}')", path, kSealMagic);
  // "ptuner-checkpoint F\nbytes N\ncrc32 X\n" then NULs.
  const std::string text = head.substr(0, head.find('\0'));
  long format = -1;
  long long bytes = -1;
  unsigned int crc = 0;
  char tail = 0;
  const int fields = std::sscanf(text.c_str() + std::strlen(kSealMagic), "%ld\nbytes %lld\ncrc32 %8x%c",
                                 &format, &bytes, &crc, &tail);
  PTUNER_CHECK(fields == 4 && tail == '\n', "checkpoint {} is damaged: its seal cannot be read", path);
  PTUNER_CHECK(format == kFormat, "checkpoint {} has format {}, this ptuner reads format {}", path, format,
               kFormat);
  PTUNER_CHECK(actual.second == bytes,
               "checkpoint {} is damaged: it holds {} bytes after its seal, the seal says {} (the "
               "file was cut short or added to after it was written)",
               path, actual.second, bytes);
  PTUNER_CHECK(actual.first == crc,
               "checkpoint {} is damaged: its CRC-32 is {:08x}, its seal says {:08x} (bytes changed "
               "after it was written)",
               path, actual.first, crc);
}

}  // namespace

void Checkpoint::save(const std::string& path) const {
  check_finite(params, "refusing to write checkpoint " + path);
  const std::string tmp = path + ".tmp";
  try {
    write_file(tmp);
    sync_path(tmp);
  } catch (...) {
    std::remove(tmp.c_str());  // the previous checkpoint at `path` stays as it was
    throw;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    PTUNER_FAIL("cannot rename checkpoint {} to {}: {}", tmp, path, std::strerror(err));
  }
  // The rename reaches the disk with its directory (a filesystem that cannot sync a directory,
  // EINVAL / ENOTSUP, has nothing to do).
  const auto dir = std::filesystem::path(path).parent_path().string();
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    const int rc = ::fsync(fd);
    const int err = errno;
    ::close(fd);
    PTUNER_CHECK(rc == 0 || err == EINVAL || err == ENOTSUP || err == ENOSYS, "cannot sync directory {}: {}", dir,
                 std::strerror(err));
  }
}

void Checkpoint::write_file(const std::string& tmp) const {
  // Built in memory and written here: HDF5 itself never writes to the disk (see H5File::Mode).
  int64_t expected = 1 << 16;
  for (const auto* tensors : {&params, &optimizer})
    for (const auto& [name, t] : *tensors) expected += t.numel() * static_cast<int64_t>(t.element_size());
  std::vector<uint8_t> image;
  {
    H5File f(tmp, H5File::Mode::Memory, kSealBytes, expected);
    f.write_int("meta/format", kFormat);
    f.write_int("meta/step", step);
    f.write_string("meta/method", method);
    if (!prompt_config.empty()) f.write_string("meta/prompt", prompt_config);
    if (!init_file.empty()) {
      f.write_string("meta/init_file", init_file);
      f.write_string("meta/init_digest", init_digest);
      f.write_string("meta/init_fingerprint", init_fingerprint);
    }
    f.write_string("meta/optimizer", optimizer_name);
    f.write_string("meta/fingerprint", model_fingerprint);
    f.write_string("meta/config", config_toml);
    f.write_double("meta/best_metric", best_metric);
    f.write_int("meta/best_step", best_step);
    f.write_string("prompt/names", join_lines(params));
    for (const auto& [name, t] : params) f.write_tensor("prompt/" + name, t.detach().contiguous());
    f.write_string("optimizer/slots", join_lines(optimizer));
    for (const auto& [name, t] : optimizer) f.write_tensor("optimizer/" + name, t.contiguous());
    f.write_int("data/epoch", data_position.epoch);
    f.write_int("data/batches_in_epoch", data_position.batches_in_epoch);
    if (!data_position.sources.empty()) {
      const auto n = static_cast<int64_t>(data_position.sources.size());
      auto epochs = torch::empty({n}, torch::kLong), taken = torch::empty({n}, torch::kLong);
      for (int64_t i = 0; i < n; ++i) {
        epochs[i] = data_position.sources[static_cast<size_t>(i)].epoch;
        taken[i] = data_position.sources[static_cast<size_t>(i)].taken;
      }
      f.write_int("data/mixture_draws", data_position.mixture_draws);
      f.write_tensor("data/source_epochs", epochs);
      f.write_tensor("data/source_taken", taken);
    }
    if (rng_cpu.defined()) {
      f.write_tensor("rng/torch_cpu", rng_cpu);
      f.write_string("rng/layout", rng_layout);
    }
    if (rng_device.defined()) f.write_tensor("rng/torch_device", rng_device);
    image = f.image();
    f.close();
  }
  seal_image(image, tmp);
  write_whole_file(tmp, image);
}

Checkpoint Checkpoint::load(const std::string& path) {
  verify_seal(path);
  H5File f(path, H5File::Mode::Read);
  PTUNER_CHECK(f.has("meta/format"), "{} is not a ptuner checkpoint (no meta/format)", path);
  const int64_t format = f.read_int("meta/format");
  PTUNER_CHECK(format == kFormat, "checkpoint {} has format {}, this ptuner reads format {}", path, format, kFormat);
  Checkpoint c;
  c.step = f.read_int("meta/step");
  c.method = f.read_string("meta/method");
  if (f.has("meta/prompt")) c.prompt_config = f.read_string("meta/prompt");
  if (f.has("meta/init_file")) {
    c.init_file = f.read_string("meta/init_file");
    c.init_digest = f.read_string("meta/init_digest");
    c.init_fingerprint = f.read_string("meta/init_fingerprint");
  }
  c.optimizer_name = f.read_string("meta/optimizer");
  c.model_fingerprint = f.read_string("meta/fingerprint");
  c.config_toml = f.read_string("meta/config");
  c.best_metric = f.read_double("meta/best_metric");
  c.best_step = f.read_int("meta/best_step");
  for (const auto& name : split_lines(f.read_string("prompt/names"))) c.params[name] = f.read_tensor("prompt/" + name);
  for (const auto& name : split_lines(f.read_string("optimizer/slots")))
    c.optimizer[name] = f.read_tensor("optimizer/" + name);
  c.data_position.epoch = f.read_int("data/epoch");
  c.data_position.batches_in_epoch = f.read_int("data/batches_in_epoch");
  if (f.has("data/source_epochs")) {  // a mixture's position (absent for one task)
    c.data_position.mixture_draws = f.read_int("data/mixture_draws");
    const auto epochs = f.read_tensor("data/source_epochs").to(torch::kLong).contiguous();
    const auto taken = f.read_tensor("data/source_taken").to(torch::kLong).contiguous();
    PTUNER_CHECK(epochs.dim() == 1 && taken.dim() == 1 && epochs.numel() == taken.numel(),
                 "checkpoint {}: data/source_epochs and data/source_taken disagree ({} and {} values)", path,
                 epochs.numel(), taken.numel());
    for (int64_t i = 0; i < epochs.numel(); ++i)
      c.data_position.sources.push_back({epochs[i].item<int64_t>(), taken[i].item<int64_t>()});
  }
  if (f.has("rng/torch_cpu")) {
    c.rng_cpu = f.read_tensor("rng/torch_cpu");
    // One rank's state, as files written before per-rank states hold it.
    if (c.rng_cpu.dim() == 1) c.rng_cpu = c.rng_cpu.unsqueeze(0);
    c.rng_layout = f.has("rng/layout") ? f.read_string("rng/layout") : "tp=1 pp=1 dp=1";
  }
  if (f.has("rng/torch_device")) c.rng_device = f.read_tensor("rng/torch_device");
  check_finite(c.params, "checkpoint " + path);
  return c;
}

void Checkpoint::check_model(const std::string& fingerprint, const std::string& path) const {
  PTUNER_CHECK(model_fingerprint == fingerprint,
               "prompt checkpoint {} was trained on a different frozen model (fingerprint {}), "
               "but the configured model has fingerprint {}: refusing to load it",
               path, model_fingerprint, fingerprint);
}

}  // namespace ptuner::train
