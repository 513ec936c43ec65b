#include "data/SentencePieceLibrary.h"

#include <dlfcn.h>
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>
#include <spdlog/spdlog.h>

#include <exception>
#include <new>

#include "dist/Check.h"

namespace ptuner::data {

using sentencepiece::SentencePieceProcessor;
// What the library's calls return: its own util::Status up to sentencepiece 0.2.0, abseil's
// Status from 0.2.1 on (CMake reads which from the header).
#if PTUNER_SENTENCEPIECE_ABSL_STATUS
using Status = absl::Status;
#else
using sentencepiece::util::Status;
#endif
using TrainKwargs = std::unordered_map<std::string, std::string>;

namespace {

constexpr const char* kLibrary = "libsentencepiece.so.0";
constexpr const char* kTrainLibrary = "libsentencepiece_train.so.0";

// Itanium C++ ABI names of the non-virtual functions used (std::string = std::__cxx11).
constexpr const char* kProcessorCtor = "_ZN13sentencepiece22SentencePieceProcessorC1Ev";
#if !PTUNER_SENTENCEPIECE_ABSL_STATUS
constexpr const char* kStatusDtor = "_ZN13sentencepiece4util6StatusD1Ev";
constexpr const char* kStatusMessage = "_ZNK13sentencepiece4util6Status13error_messageEv";
#endif
constexpr const char* kSetSeed = "_ZN13sentencepiece22SetRandomGeneratorSeedEj";
constexpr const char* kTrainKwargs =
    "_ZN13sentencepiece20SentencePieceTrainer5TrainERKSt13unordered_mapINSt7__cxx1112basic_"
    "stringIcSt11char_traitsIcESaIcEEES7_St4hashIS7_ESt8equal_toIS7_ESaISt4pairIKS7_S7_EEEPNS_"
    "16SentenceIteratorEPS7_";

// A protobuf symbol both libprotobuf and sentencepiece's bundled copy export: present in the
// global scope when some other protobuf (LibTorch's libprotobuf) was loaded first.
constexpr const char* kProtobufProbe = "_ZN6google8protobuf8internal13VerifyVersionEiiPKc";

// RTLD_DEEPBIND only when another protobuf is in the process, the one case that needs it:
// sanitizer runtimes refuse the flag, so the libFuzzer target for the tokenizer (which links
// no LibTorch) loads sentencepiece without it.
void* open_library(const char* name) {
  const bool other_protobuf = dlsym(RTLD_DEFAULT, kProtobufProbe) != nullptr;
  dlerror();
  void* handle = dlopen(name, RTLD_NOW | RTLD_LOCAL | (other_protobuf ? RTLD_DEEPBIND : 0));
  if (handle == nullptr) {
    const char* err = dlerror();
    PTUNER_FAIL("SentencePieceLibrary: cannot load {}: {}", name, err ? err : "unknown error");
  }
  return handle;
}

template <class Fn>
Fn find_symbol(void* handle, const char* library, const char* symbol) {
  dlerror();
  void* p = dlsym(handle, symbol);
  PTUNER_CHECK(p != nullptr, "SentencePieceLibrary: {} lacks symbol {} (not sentencepiece 0.1.9x or 0.2.x?)",
               library, symbol);
  return reinterpret_cast<Fn>(p);
}

}  // namespace

struct SentencePieceLibrary::Symbols {
  void (*processor_ctor)(void* self) = nullptr;
  void (*set_seed)(unsigned int seed) = nullptr;
  Status (*train)(const TrainKwargs& kwargs, sentencepiece::SentenceIterator* it,
                  std::string* serialized) = nullptr;
#if PTUNER_SENTENCEPIECE_ABSL_STATUS
  // Runs `call` (returning an absl::Status) and turns the Status into "" or its message.
  // absl::Status's members are inline or in libabsl_status, which holds no protobuf: nothing of
  // sentencepiece's is referenced. An exception from inside sentencepiece becomes the message.
  template <class Call>
  std::string status_of(Call&& call) const {
    try {
      const Status status = call();
      if (status.ok()) return "";
      return status.message().empty() ? "unknown sentencepiece error" : std::string(status.message());
    } catch (const std::exception& e) {
      return std::string("sentencepiece threw: ") + e.what();
    }
  }
#else
  void (*status_dtor)(Status* self) = nullptr;
  const char* (*status_message)(const Status* self) = nullptr;

  // Runs `call` (returning a Status) and turns the Status into "" or its message. The Status
  // is built in place (C++17 guaranteed elision) and destroyed through the library's
  // destructor, so this file references no sentencepiece symbol. An exception from inside
  // sentencepiece (its bundled darts-clone throws on a model with an empty piece) becomes the
  // message too.
  template <class Call>
  std::string status_of(Call&& call) const {
    alignas(Status) unsigned char storage[sizeof(Status)];
    Status* status = nullptr;
    try {
      status = ::new (static_cast<void*>(storage)) Status(call());
    } catch (const std::exception& e) {
      return std::string("sentencepiece threw: ") + e.what();
    }
    std::string message;
    if (!status->ok()) {
      const char* m = status_message(status);
      message = (m != nullptr && *m != '\0') ? m : "unknown sentencepiece error";
    }
    status_dtor(status);
    return message;
  }
#endif
};

SentencePieceLibrary::SentencePieceLibrary() {
  // RTLD_NOLOAD only answers whether it is already mapped (and then it is not ours).
  if (void* already = dlopen(kLibrary, RTLD_NOW | RTLD_NOLOAD); already != nullptr) {
    isolated_ = false;
    spdlog::warn(
        "SentencePieceLibrary: {} was linked into this program directly; its bundled protobuf "
        "may clash with LibTorch's libprotobuf",
        kLibrary);
  }
  void* lib = open_library(kLibrary);
  void* train_lib = open_library(kTrainLibrary);
  auto sym = std::make_shared<Symbols>();
  sym->processor_ctor = find_symbol<decltype(sym->processor_ctor)>(lib, kLibrary, kProcessorCtor);
#if !PTUNER_SENTENCEPIECE_ABSL_STATUS
  sym->status_dtor = find_symbol<decltype(sym->status_dtor)>(lib, kLibrary, kStatusDtor);
  sym->status_message = find_symbol<decltype(sym->status_message)>(lib, kLibrary, kStatusMessage);
#endif
  sym->set_seed = find_symbol<decltype(sym->set_seed)>(lib, kLibrary, kSetSeed);
  sym->train = find_symbol<decltype(sym->train)>(train_lib, kTrainLibrary, kTrainKwargs);
  sym_ = std::move(sym);
  // The libraries stay loaded for the life of the process.
}

const SentencePieceLibrary& SentencePieceLibrary::instance() {
  static const SentencePieceLibrary library;
  return library;
}

std::shared_ptr<SentencePieceProcessor> SentencePieceLibrary::new_processor() const {
  void* memory = ::operator new(sizeof(SentencePieceProcessor));
  try {
    sym_->processor_ctor(memory);
  } catch (...) {
    ::operator delete(memory);
    throw;
  }
  // The destructor is virtual: `delete` goes through the vtable into the library.
  return std::shared_ptr<SentencePieceProcessor>(static_cast<SentencePieceProcessor*>(memory),
                                                 [](SentencePieceProcessor* p) { delete p; });
}

std::string SentencePieceLibrary::load(SentencePieceProcessor& sp, const std::string& path) const {
  return sym_->status_of([&] { return sp.Load(path); });
}

std::string SentencePieceLibrary::load_serialized(SentencePieceProcessor& sp,
                                                  const std::string& serialized) const {
  return sym_->status_of([&] { return sp.LoadFromSerializedProto(serialized); });
}

std::string SentencePieceLibrary::encode(const SentencePieceProcessor& sp, const std::string& text,
                                         std::vector<int>& ids) const {
  return sym_->status_of([&] { return sp.Encode(text, &ids); });
}

std::string SentencePieceLibrary::decode(const SentencePieceProcessor& sp,
                                         const std::vector<int>& ids, std::string& text) const {
  return sym_->status_of([&] { return sp.Decode(ids, &text); });
}

std::string SentencePieceLibrary::train(const TrainKwargs& kwargs,
                                        std::string* serialized_model) const {
  return sym_->status_of([&] { return sym_->train(kwargs, nullptr, serialized_model); });
}

void SentencePieceLibrary::set_random_seed(unsigned int seed) const { sym_->set_seed(seed); }

}  // namespace ptuner::data
