#include "train/H5File.h"

#include "dist/Check.h"

#include <hdf5.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <type_traits>

static_assert(std::is_same_v<hid_t, int64_t>, "H5File stores hid_t as int64_t");

namespace {
// HDF5's own atexit cleanup closes files still open at exit; after a failed flush (a full disk)
// it crashes there (H5F__close_cb). Files are closed by H5File; the library need not clean up.
[[maybe_unused]] const bool kNoHdf5Atexit = (H5dont_atexit(), true);
}  // namespace

namespace ptuner::train {
namespace {

// Owns one HDF5 identifier and closes it with the matching H5?close.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle(hid_t id, Closer close) : id_(id), close_(close) {}
  ~Handle() {
    if (id_ >= 0) close_(id_);
  }
  Handle(Handle&& other) noexcept : id_(other.id_), close_(other.close_) { other.id_ = -1; }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle& operator=(Handle&&) = delete;
  hid_t get() const { return id_; }
  bool ok() const { return id_ >= 0; }

 private:
  hid_t id_;
  Closer close_;
};

// The innermost message of HDF5's error stack (where the error was detected), then clears it.
std::string h5_error() {
  std::string message;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_UPWARD,
      [](unsigned n, const H5E_error2_t* err, void* data) -> herr_t {
        if (n == 0 && err->desc != nullptr) *static_cast<std::string*>(data) = err->desc;
        return 0;
      },
      &message);
  H5Eclear2(H5E_DEFAULT);
  return message.empty() ? std::string() : " (HDF5: " + message + ")";
}

// How a tensor dtype is stored: file type, memory type, and the "dtype" attribute (or null).
struct Stored {
  hid_t file_type;
  hid_t mem_type;
  const char* tag;
};

Stored stored_form(torch::ScalarType type, const std::string& file, const std::string& path) {
  switch (type) {
    case torch::kFloat32: return {H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, nullptr};
    case torch::kFloat64: return {H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, nullptr};
    case torch::kInt64: return {H5T_STD_I64LE, H5T_NATIVE_INT64, nullptr};
    case torch::kInt32: return {H5T_STD_I32LE, H5T_NATIVE_INT32, nullptr};
    case torch::kInt16: return {H5T_STD_I16LE, H5T_NATIVE_INT16, nullptr};
    case torch::kInt8: return {H5T_STD_I8LE, H5T_NATIVE_INT8, nullptr};
    case torch::kUInt8: return {H5T_STD_U8LE, H5T_NATIVE_UINT8, nullptr};
    case torch::kBFloat16: return {H5T_STD_U16LE, H5T_NATIVE_UINT16, "bfloat16"};
    case torch::kFloat16: return {H5T_STD_U16LE, H5T_NATIVE_UINT16, "float16"};
    case torch::kBool: return {H5T_STD_U8LE, H5T_NATIVE_UINT8, "bool"};
    default:
      PTUNER_FAIL("HDF5 file {}: cannot store '{}': unsupported dtype {}", file, path,
                  c10::toString(type));
  }
}

// Variable-length UTF-8 C string type.
Handle vlen_string_type() {
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  PTUNER_CHECK(type.ok() && H5Tset_size(type.get(), H5T_VARIABLE) >= 0 &&
                   H5Tset_cset(type.get(), H5T_CSET_UTF8) >= 0,
               "HDF5: cannot build a string type{}", h5_error());
  return type;
}

// Reads a scalar string held by a dataset or attribute `obj` whose type is `file_type`;
// `read(mem_type, buffer)` performs the H5Dread / H5Aread. `what` names it in errors.
template <typename Read>
std::string read_string_value(hid_t file_type, Read read, const std::string& what) {
  PTUNER_CHECK(H5Tget_class(file_type) == H5T_STRING, "{} is not a string", what);
  const htri_t variable = H5Tis_variable_str(file_type);
  PTUNER_CHECK(variable >= 0, "{}: cannot inspect its string type{}", what, h5_error());
  if (variable > 0) {
    Handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
    PTUNER_CHECK(mem.ok() && H5Tset_size(mem.get(), H5T_VARIABLE) >= 0 &&
                     H5Tset_cset(mem.get(), H5Tget_cset(file_type)) >= 0,
                 "{}: cannot build a string type{}", what, h5_error());
    char* text = nullptr;
    PTUNER_CHECK(read(mem.get(), &text) >= 0, "{}: read failed{}", what, h5_error());
    std::string value = text != nullptr ? text : "";
    if (text != nullptr) H5free_memory(text);
    return value;
  }
  const size_t size = H5Tget_size(file_type);
  PTUNER_CHECK(size > 0, "{}: cannot read its string size{}", what, h5_error());
  Handle mem(H5Tcopy(file_type), H5Tclose);
  PTUNER_CHECK(mem.ok(), "{}: cannot copy its string type{}", what, h5_error());
  std::string value(size, '\0');
  PTUNER_CHECK(read(mem.get(), value.data()) >= 0, "{}: read failed{}", what, h5_error());
  if (H5Tget_strpad(file_type) == H5T_STR_SPACEPAD) {
    value.erase(value.find_last_not_of(' ') + 1);
  } else {
    const size_t nul = value.find('\0');
    if (nul != std::string::npos) value.resize(nul);
  }
  return value;
}

// The dims of a dataset's dataspace; {} for a scalar.
std::vector<int64_t> dataset_shape(hid_t dataset, const std::string& what) {
  Handle space(H5Dget_space(dataset), H5Sclose);
  PTUNER_CHECK(space.ok(), "{}: cannot get its dataspace{}", what, h5_error());
  const H5S_class_t kind = H5Sget_simple_extent_type(space.get());
  PTUNER_CHECK(kind == H5S_SCALAR || kind == H5S_SIMPLE, "{} has an empty (null) dataspace", what);
  const int ndims = H5Sget_simple_extent_ndims(space.get());
  PTUNER_CHECK(ndims >= 0, "{}: cannot get its rank{}", what, h5_error());
  std::vector<hsize_t> dims(static_cast<size_t>(ndims));
  PTUNER_CHECK(H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr) >= 0,
               "{}: cannot get its dims{}", what, h5_error());
  return std::vector<int64_t>(dims.begin(), dims.end());
}

// Scalar dataspace for 0-d, simple dataspace of `shape` otherwise.
Handle make_space(const std::vector<int64_t>& shape, const std::string& what) {
  if (shape.empty()) {
    Handle space(H5Screate(H5S_SCALAR), H5Sclose);
    PTUNER_CHECK(space.ok(), "{}: cannot create a scalar dataspace{}", what, h5_error());
    return space;
  }
  std::vector<hsize_t> dims(shape.begin(), shape.end());
  Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose);
  PTUNER_CHECK(space.ok(), "{}: cannot create a dataspace of rank {}{}", what, dims.size(),
               h5_error());
  return space;
}

const char* class_name(H5T_class_t kind) {
  switch (kind) {
    case H5T_STRING: return "string";
    case H5T_COMPOUND: return "compound";
    case H5T_ENUM: return "enum";
    case H5T_ARRAY: return "array";
    case H5T_VLEN: return "variable-length";
    case H5T_OPAQUE: return "opaque";
    case H5T_REFERENCE: return "reference";
    case H5T_BITFIELD: return "bitfield";
    case H5T_TIME: return "time";
    default: return "unknown";
  }
}

// The torch dtype a stored dataset reads back as, and the memory type to read it with.
std::pair<torch::ScalarType, hid_t> read_form(hid_t dataset, hid_t type, const std::string& what) {
  const htri_t has_tag = H5Aexists(dataset, "dtype");
  PTUNER_CHECK(has_tag >= 0, "{}: cannot look up its dtype attribute{}", what, h5_error());
  const H5T_class_t kind = H5Tget_class(type);
  const size_t size = H5Tget_size(type);
  if (has_tag > 0) {
    Handle attr(H5Aopen(dataset, "dtype", H5P_DEFAULT), H5Aclose);
    PTUNER_CHECK(attr.ok(), "{}: cannot open its dtype attribute{}", what, h5_error());
    Handle attr_type(H5Aget_type(attr.get()), H5Tclose);
    PTUNER_CHECK(attr_type.ok(), "{}: cannot get its dtype attribute type{}", what, h5_error());
    const std::string tag = read_string_value(
        attr_type.get(), [&](hid_t mem, void* buf) { return H5Aread(attr.get(), mem, buf); },
        what + " attribute 'dtype'");
    const bool u16 = kind == H5T_INTEGER && size == 2;
    const bool u8 = kind == H5T_INTEGER && size == 1;
    if (tag == "bfloat16" && u16) return {torch::kBFloat16, H5T_NATIVE_UINT16};
    if (tag == "float16" && u16) return {torch::kFloat16, H5T_NATIVE_UINT16};
    if (tag == "bool" && u8) return {torch::kBool, H5T_NATIVE_UINT8};
    PTUNER_FAIL("{}: dtype attribute '{}' does not match its stored {}-byte type", what, tag, size);
  }
  if (kind == H5T_FLOAT) {
    if (size == 8) return {torch::kFloat64, H5T_NATIVE_DOUBLE};
    if (size == 4) return {torch::kFloat32, H5T_NATIVE_FLOAT};
    if (size == 2) return {torch::kFloat32, H5T_NATIVE_FLOAT};  // IEEE half, widened by HDF5
    PTUNER_FAIL("{}: floating-point data of {} bytes is not supported", what, size);
  }
  if (kind == H5T_INTEGER) {
    const bool is_signed = H5Tget_sign(type) == H5T_SGN_2;
    if (size == 1) return is_signed ? std::pair{torch::kInt8, H5T_NATIVE_INT8}
                                    : std::pair{torch::kUInt8, H5T_NATIVE_UINT8};
    if (size == 2) return is_signed ? std::pair{torch::kInt16, H5T_NATIVE_INT16}
                                    : std::pair{torch::kInt32, H5T_NATIVE_INT32};
    if (size == 4) return is_signed ? std::pair{torch::kInt32, H5T_NATIVE_INT32}
                                    : std::pair{torch::kInt64, H5T_NATIVE_INT64};
    if (size == 8 && is_signed) return {torch::kInt64, H5T_NATIVE_INT64};
    PTUNER_FAIL("{}: {} integer data of {} bytes is not supported", what,
                is_signed ? "signed" : "unsigned", size);
  }
  PTUNER_FAIL("{} holds {} data, not numbers", what, class_name(kind));
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  size_t begin = 0;
  while (begin <= path.size()) {
    size_t end = path.find('/', begin);
    if (end == std::string::npos) end = path.size();
    if (end > begin) parts.push_back(path.substr(begin, end - begin));
    begin = end + 1;
  }
  return parts;
}

}  // namespace

H5File::H5File(const std::string& path, Mode mode, int64_t userblock_bytes, int64_t expected_bytes)
    : path_(path), mode_(mode), userblock_bytes_(userblock_bytes) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  if (mode == Mode::Read) {
    std::error_code ec;
    PTUNER_CHECK(std::filesystem::is_regular_file(path, ec), "HDF5 file {}: no such file", path);
    const htri_t is_hdf5 = H5Fis_hdf5(path.c_str());
    PTUNER_CHECK(is_hdf5 > 0, "HDF5 file {}: not an HDF5 file{}", path, h5_error());
    file_ = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    PTUNER_CHECK(file_ >= 0, "HDF5 file {}: cannot open for reading{}", path, h5_error());
  } else {
    // No modification time on the root group either (see create_dataset).
    Handle create_props(H5Pcreate(H5P_FILE_CREATE), H5Pclose);
    PTUNER_CHECK(create_props.ok() && H5Pset_obj_track_times(create_props.get(), 0) >= 0,
                 "HDF5 file {}: cannot set up file creation{}", path, h5_error());
    PTUNER_CHECK(userblock_bytes == 0 ||
                     H5Pset_userblock(create_props.get(), static_cast<hsize_t>(userblock_bytes)) >= 0,
                 "HDF5 file {}: cannot reserve a {}-byte user block{}", path, userblock_bytes,
                 h5_error());
    Handle access_props(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
    if (mode == Mode::Memory) {
      // The image grows by this much at a time: the expected size and 1 MiB to spare.
      const auto increment = static_cast<size_t>(std::max<int64_t>(expected_bytes, 0) + userblock_bytes + (1 << 20));
      PTUNER_CHECK(access_props.ok() && H5Pset_fapl_core(access_props.get(), increment, /*backing_store=*/0) >= 0,
                   "HDF5 file {}: cannot set up an in-memory file{}", path, h5_error());
    }
    file_ = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, create_props.get(),
                      mode == Mode::Memory ? access_props.get() : H5P_DEFAULT);
    PTUNER_CHECK(file_ >= 0, "HDF5 file {}: cannot create{}{}", path, mode == Mode::Memory ? " in memory" : "",
                 h5_error());
  }
}

H5File::~H5File() {
  if (file_ >= 0) H5Fclose(file_);
}

void H5File::close() {
  if (file_ < 0) return;
  const hid_t file = file_;
  file_ = -1;
  const bool flushed = mode_ == Mode::Read || H5Fflush(file, H5F_SCOPE_LOCAL) >= 0;
  const bool closed = H5Fclose(file) >= 0;
  PTUNER_CHECK(flushed && closed, "HDF5 file {}: {} failed{}", path_,
               flushed ? "close" : "flush", h5_error());
}

std::vector<uint8_t> H5File::image() {
  const hid_t file = id();
  PTUNER_CHECK(mode_ == Mode::Memory, "HDF5 file {}: image() of a file not made in memory", path_);
  PTUNER_CHECK(H5Fflush(file, H5F_SCOPE_LOCAL) >= 0, "HDF5 file {}: flush failed{}", path_, h5_error());
  const ssize_t size = H5Fget_file_image(file, nullptr, 0);
  PTUNER_CHECK(size > 0, "HDF5 file {}: cannot size its image{}", path_, h5_error());
  // HDF5 1.10's image starts at the superblock, without the user block.
  const auto at = [](const std::vector<uint8_t>& b, size_t offset) {
    constexpr char kSignature[] = "\x89HDF\r\n\x1a\n";
    return b.size() >= offset + 8 && std::memcmp(b.data() + offset, kSignature, 8) == 0;
  };
  // Read behind room for the user block; an image that holds it (zeros, then the signature)
  // gives up the room again.
  const auto userblock = static_cast<size_t>(userblock_bytes_);
  std::vector<uint8_t> bytes(userblock + static_cast<size_t>(size), 0);
  PTUNER_CHECK(H5Fget_file_image(file, bytes.data() + userblock, static_cast<size_t>(size)) == size,
               "HDF5 file {}: cannot copy its image{}", path_, h5_error());
  if (userblock > 0 && !at(bytes, userblock)) bytes.erase(bytes.begin(), bytes.begin() + static_cast<long>(userblock));
  PTUNER_CHECK(at(bytes, userblock), "HDF5 file {}: its image has no HDF5 signature at byte {}", path_, userblock);
  return bytes;
}

int64_t H5File::id() const {
  PTUNER_CHECK(file_ >= 0, "HDF5 file {}: used after close()", path_);
  return file_;
}

int64_t H5File::create_dataset(const std::string& path_in_file, int64_t file_type, int64_t space,
                               int64_t create_props) {
  const hid_t file = id();
  PTUNER_CHECK(mode_ != Mode::Read, "HDF5 file {}: cannot write '{}': opened read-only", path_,
               path_in_file);
  PTUNER_CHECK(!split_path(path_in_file).empty(), "HDF5 file {}: empty dataset path '{}'", path_,
               path_in_file);
  PTUNER_CHECK(!has(path_in_file), "HDF5 file {}: '{}' already exists", path_, path_in_file);
  // Objects carry no modification times: a checkpoint's bytes depend on what it holds, not on
  // the second it was written (and a file built in memory is the file HDF5 writes to disk).
  const std::vector<std::string> parts = split_path(path_in_file);
  std::string parent;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    parent += "/" + parts[i];
    if (!has(parent)) {
      Handle group_props(H5Pcreate(H5P_GROUP_CREATE), H5Pclose);
      PTUNER_CHECK(group_props.ok() && H5Pset_obj_track_times(group_props.get(), 0) >= 0,
                   "HDF5 file {}: cannot set up group creation for '{}'{}", path_, parent.substr(1), h5_error());
      Handle group(H5Gcreate2(file, parent.c_str(), H5P_DEFAULT, group_props.get(), H5P_DEFAULT), H5Gclose);
      PTUNER_CHECK(group.ok(), "HDF5 file {}: cannot create group '{}'{}", path_, parent.substr(1), h5_error());
      continue;
    }
    Handle object(H5Oopen(file, parent.c_str(), H5P_DEFAULT), H5Oclose);
    PTUNER_CHECK(object.ok() && H5Iget_type(object.get()) == H5I_GROUP,
                 "HDF5 file {}: cannot write '{}': '{}' is not a group", path_, path_in_file,
                 parent.substr(1));
  }
  Handle own_props(create_props >= 0 ? H5Pcopy(create_props) : H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  PTUNER_CHECK(own_props.ok() && H5Pset_obj_track_times(own_props.get(), 0) >= 0,
               "HDF5 file {}: cannot set up dataset creation for '{}'{}", path_, path_in_file, h5_error());
  const hid_t dataset = H5Dcreate2(file, path_in_file.c_str(), file_type, space, H5P_DEFAULT, own_props.get(),
                                   H5P_DEFAULT);
  PTUNER_CHECK(dataset >= 0, "HDF5 file {}: cannot create dataset '{}'{}", path_, path_in_file,
               h5_error());
  return dataset;
}

int64_t H5File::open_dataset(const std::string& path_in_file) const {
  const hid_t file = id();
  PTUNER_CHECK(has(path_in_file), "HDF5 file {}: no dataset '{}'", path_, path_in_file);
  const hid_t dataset = H5Dopen2(file, path_in_file.c_str(), H5P_DEFAULT);
  PTUNER_CHECK(dataset >= 0, "HDF5 file {}: '{}' is not a dataset{}", path_, path_in_file,
               h5_error());
  return dataset;
}

bool H5File::has(const std::string& path_in_file) const {
  const hid_t file = id();
  std::string prefix;
  const std::vector<std::string> parts = split_path(path_in_file);
  for (size_t i = 0; i < parts.size(); ++i) {
    prefix += "/" + parts[i];
    const htri_t exists = H5Lexists(file, prefix.c_str(), H5P_DEFAULT);
    PTUNER_CHECK(exists >= 0, "HDF5 file {}: cannot look up '{}'{}", path_, prefix, h5_error());
    if (exists == 0) return false;
    if (i + 1 < parts.size()) {  // the next lookup needs this one to be a group
      Handle object(H5Oopen(file, prefix.c_str(), H5P_DEFAULT), H5Oclose);
      if (!object.ok()) {
        h5_error();
        return false;
      }
      if (H5Iget_type(object.get()) != H5I_GROUP) return false;
    }
  }
  return true;
}

std::vector<std::string> H5File::list(const std::string& group) const {
  const hid_t file = id();
  const std::string name = split_path(group).empty() ? "/" : group;
  PTUNER_CHECK(name == "/" || has(name), "HDF5 file {}: no group '{}'", path_, group);
  Handle handle(H5Gopen2(file, name.c_str(), H5P_DEFAULT), H5Gclose);
  PTUNER_CHECK(handle.ok(), "HDF5 file {}: '{}' is not a group{}", path_, group, h5_error());
  std::vector<std::string> names;
  hsize_t index = 0;
  const herr_t status = H5Literate(
      handle.get(), H5_INDEX_NAME, H5_ITER_INC, &index,
      [](hid_t, const char* child, const H5L_info_t*, void* data) -> herr_t {
        static_cast<std::vector<std::string>*>(data)->emplace_back(child);
        return 0;
      },
      &names);
  PTUNER_CHECK(status >= 0, "HDF5 file {}: cannot list group '{}'{}", path_, group, h5_error());
  return names;  // H5_INDEX_NAME + H5_ITER_INC: sorted by name
}

void H5File::write_tensor(const std::string& path_in_file, const torch::Tensor& t) {
  PTUNER_CHECK(t.defined(), "HDF5 file {}: tensor for '{}' is undefined", path_, path_in_file);
  const Stored form = stored_form(t.scalar_type(), path_, path_in_file);
  const std::string what = fmt::format("HDF5 file {}: dataset '{}'", path_, path_in_file);
  const torch::Tensor data = t.to(torch::kCPU).contiguous();
  Handle space = make_space(data.sizes().vec(), what);
  // Arrays are stored as one chunk with HDF5's Fletcher-32 checksum: a flipped byte fails the
  // read instead of loading silently (scalars and empty arrays cannot be chunked).
  Handle props(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  PTUNER_CHECK(props.ok(), "{}: cannot make its creation properties{}", what, h5_error());
  if (data.dim() >= 1 && data.numel() > 0) {
    std::vector<hsize_t> chunk(data.sizes().begin(), data.sizes().end());
    PTUNER_CHECK(H5Pset_chunk(props.get(), static_cast<int>(chunk.size()), chunk.data()) >= 0 &&
                     H5Pset_fletcher32(props.get()) >= 0,
                 "{}: cannot set up its checksum{}", what, h5_error());
  }
  Handle dataset(create_dataset(path_in_file, form.file_type, space.get(), props.get()), H5Dclose);
  if (data.numel() > 0)
    PTUNER_CHECK(H5Dwrite(dataset.get(), form.mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                          data.data_ptr()) >= 0,
                 "{}: write failed{}", what, h5_error());
  if (form.tag != nullptr) {
    Handle str = vlen_string_type();
    Handle scalar = make_space({}, what);
    Handle attr(H5Acreate2(dataset.get(), "dtype", str.get(), scalar.get(), H5P_DEFAULT,
                           H5P_DEFAULT),
                H5Aclose);
    PTUNER_CHECK(attr.ok() && H5Awrite(attr.get(), str.get(), &form.tag) >= 0,
                 "{}: cannot write its dtype attribute{}", what, h5_error());
  }
}

torch::Tensor H5File::read_tensor(const std::string& path_in_file) const {
  const std::string what = fmt::format("HDF5 file {}: dataset '{}'", path_, path_in_file);
  Handle dataset(open_dataset(path_in_file), H5Dclose);
  Handle type(H5Dget_type(dataset.get()), H5Tclose);
  PTUNER_CHECK(type.ok(), "{}: cannot get its type{}", what, h5_error());
  const auto [dtype, mem_type] = read_form(dataset.get(), type.get(), what);
  torch::Tensor out = torch::empty(dataset_shape(dataset.get(), what),
                                   torch::TensorOptions().dtype(dtype));
  if (out.numel() > 0)
    PTUNER_CHECK(H5Dread(dataset.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                         out.data_ptr()) >= 0,
                 "{}: read failed (a corrupt file fails its checksum here){}", what, h5_error());
  if (H5Tget_class(type.get()) == H5T_FLOAT && H5Tget_size(type.get()) == 2)
    return out.to(torch::kFloat16);
  return out;
}

void H5File::write_string(const std::string& path_in_file, const std::string& value) {
  const size_t nul = value.find('\0');
  PTUNER_CHECK(nul == std::string::npos,
               "HDF5 file {}: string '{}' has a NUL byte at offset {} (use write_bytes)", path_,
               path_in_file, nul);
  const std::string what = fmt::format("HDF5 file {}: string '{}'", path_, path_in_file);
  Handle type = vlen_string_type();
  Handle space = make_space({}, what);
  Handle dataset(create_dataset(path_in_file, type.get(), space.get()), H5Dclose);
  const char* text = value.c_str();
  PTUNER_CHECK(H5Dwrite(dataset.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, &text) >= 0,
               "{}: write failed{}", what, h5_error());
}

std::string H5File::read_string(const std::string& path_in_file) const {
  const std::string what = fmt::format("HDF5 file {}: string '{}'", path_, path_in_file);
  Handle dataset(open_dataset(path_in_file), H5Dclose);
  PTUNER_CHECK(dataset_shape(dataset.get(), what).empty(), "{} is not a scalar", what);
  Handle type(H5Dget_type(dataset.get()), H5Tclose);
  PTUNER_CHECK(type.ok(), "{}: cannot get its type{}", what, h5_error());
  return read_string_value(
      type.get(),
      [&](hid_t mem, void* buf) {
        return H5Dread(dataset.get(), mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
      },
      what);
}

void H5File::write_int(const std::string& path_in_file, int64_t value) {
  write_tensor(path_in_file, torch::scalar_tensor(value, torch::kInt64));
}

int64_t H5File::read_int(const std::string& path_in_file) const {
  const torch::Tensor t = read_tensor(path_in_file);
  PTUNER_CHECK(t.dim() == 0 && !t.is_floating_point() && t.scalar_type() != torch::kBool,
               "HDF5 file {}: '{}' is not a scalar integer (dtype {}, {} dims)", path_,
               path_in_file, c10::toString(t.scalar_type()), t.dim());
  return t.item<int64_t>();
}

void H5File::write_double(const std::string& path_in_file, double value) {
  write_tensor(path_in_file, torch::scalar_tensor(value, torch::kFloat64));
}

double H5File::read_double(const std::string& path_in_file) const {
  const torch::Tensor t = read_tensor(path_in_file);
  PTUNER_CHECK(t.dim() == 0 && t.is_floating_point(),
               "HDF5 file {}: '{}' is not a scalar float (dtype {}, {} dims)", path_,
               path_in_file, c10::toString(t.scalar_type()), t.dim());
  return t.item<double>();
}

void H5File::write_bytes(const std::string& path_in_file, const std::vector<uint8_t>& value) {
  torch::Tensor t = torch::empty({static_cast<int64_t>(value.size())}, torch::kUInt8);
  if (!value.empty()) std::memcpy(t.data_ptr(), value.data(), value.size());
  write_tensor(path_in_file, t);
}

std::vector<uint8_t> H5File::read_bytes(const std::string& path_in_file) const {
  const torch::Tensor t = read_tensor(path_in_file);
  PTUNER_CHECK(t.dim() == 1 && t.scalar_type() == torch::kUInt8,
               "HDF5 file {}: '{}' is not a 1-d u8 byte array (dtype {}, {} dims)", path_,
               path_in_file, c10::toString(t.scalar_type()), t.dim());
  const auto* data = t.data_ptr<uint8_t>();
  return std::vector<uint8_t>(data, data + t.numel());
}

}  // namespace ptuner::train
