#include "h5-chunks.hpp"

#include <hdf5.h>

#include <algorithm>
#include <mutex>
#include <string>
#include <utility>

namespace sx::h5 {
namespace {

static_assert(sizeof(hsize_t) == sizeof(uint64_t), "hsize_t must be 64 bits");
static_assert(sizeof(hid_t) == sizeof(Handle), "hid_t must be 64 bits (HDF5 1.10+)");

// Every libhdf5 call holds this lock: a library built without thread-safety keeps global state
// (identifiers, caches, the error stack), and the addon is shared by all of Node's threads.
std::mutex& libraryMutex() {
  static std::mutex mutex;
  return mutex;
}

class Locked {
 public:
  Locked() : guard_(libraryMutex()) {
    // Per thread, because a thread-safe build keeps one error stack per thread; unsilenced,
    // HDF5 prints every failure's whole stack to stderr before we can report it ourselves.
    thread_local bool silenced = false;
    if (!silenced) {
      H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
      silenced = true;
    }
  }

 private:
  std::lock_guard<std::mutex> guard_;
};

// An identifier closed when it goes out of scope; declared after the Locked that covers it.
class Id {
 public:
  Id(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  Id(const Id&) = delete;
  Id& operator=(const Id&) = delete;
  ~Id() {
    if (id_ >= 0) close_(id_);
  }
  operator hid_t() const { return id_; }
  bool ok() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

struct Innermost {
  std::string desc;
  hid_t minor = -1;
};

herr_t takeInnermost(unsigned n, const H5E_error2_t* entry, void* data) {
  if (n == 0 && entry->desc != nullptr) *static_cast<Innermost*>(data) = {entry->desc, entry->min_num};
  return 1;  // the first entry walking upward is the most specific; stop there
}

// HDF5's most specific explanation of the last failure, which it then forgets.
std::string reason() {
  Innermost innermost;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, takeInnermost, &innermost);
  H5Eclear2(H5E_DEFAULT);
  std::string desc = innermost.desc.empty() ? "HDF5 gave no reason" : innermost.desc;
  // The file drivers report a system call's failure as "what: name = ..., errno = ..., error
  // message = '...', ..." over several lines; what failed and the system's message say it all.
  const std::string marker = "error message = '";
  const size_t message = desc.find(marker);
  const size_t colon = desc.find(':');
  if (message != std::string::npos && colon < message) {
    const size_t start = message + marker.size();
    desc = desc.substr(0, colon) + ": " + desc.substr(start, desc.find('\'', start) - start);
  }
  if (innermost.minor == H5E_NOTHDF5) desc += " (not an HDF5 file)";
  return desc;
}

[[noreturn]] void fail(const std::string& what) { throw Hdf5Error(what + ": " + reason()); }

std::string nameOf(hid_t id) {
  const ssize_t length = H5Iget_name(id, nullptr, 0);
  if (length <= 0) {
    H5Eclear2(H5E_DEFAULT);
    return "(unnamed)";
  }
  std::string name(static_cast<size_t>(length), '\0');
  H5Iget_name(id, name.data(), name.size() + 1);
  return name;
}

void expectKind(hid_t id, H5I_type_t kind, const char* what) {
  if (H5Iget_type(id) != kind) {
    H5Eclear2(H5E_DEFAULT);
    throw Hdf5Error(std::string("not an open ") + what + " handle");
  }
}

std::string formatOffset(const std::vector<uint64_t>& offset) {
  std::string text = "[";
  for (size_t i = 0; i < offset.size(); ++i) text += (i > 0 ? ", " : "") + std::to_string(offset[i]);
  return text + "]";
}

std::vector<hsize_t> dimsOf(hid_t dataset, const std::string& what) {
  Id space(H5Dget_space(dataset), H5Sclose);
  const int rank = space.ok() ? H5Sget_simple_extent_ndims(space) : -1;
  if (rank < 0) fail(what);
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  if (H5Sget_simple_extent_dims(space, dims.data(), nullptr) < 0) fail(what);
  return dims;
}

// The checked offset of a chunk, in HDF5's type; HDF5 reads exactly rank coordinates from it.
std::vector<hsize_t> chunkOffset(hid_t dataset, const std::vector<uint64_t>& offset,
                                 const std::string& what) {
  const std::vector<hsize_t> dims = dimsOf(dataset, what);
  if (offset.size() != dims.size()) {
    throw Hdf5Error(what + ": expected " + std::to_string(dims.size()) + " coordinates");
  }
  return {offset.begin(), offset.end()};
}

std::string chunkWhat(const char* action, hid_t dataset, const std::vector<uint64_t>& offset) {
  return std::string(action) + " chunk " + formatOffset(offset) + " of " + nameOf(dataset);
}

// The stored size of a chunk, 0 when it was never written. H5Dget_chunk_storage_size would fail
// for such a chunk in HDF5 1.10 ("chunk storage is not allocated"), like any real failure.
hsize_t storedSize(hid_t dataset, const std::vector<hsize_t>& at, const std::string& what) {
  unsigned mask = 0;
  haddr_t address = HADDR_UNDEF;
  hsize_t bytes = 0;
  if (H5Dget_chunk_info_by_coord(dataset, at.data(), &mask, &address, &bytes) < 0) fail(what);
  return bytes;
}

ElementKind elementKindOf(hid_t type, const std::string& what) {
  switch (H5Tget_class(type)) {
    case H5T_INTEGER: return H5Tget_sign(type) == H5T_SGN_NONE ? ElementKind::Uint : ElementKind::Int;
    case H5T_FLOAT: return ElementKind::Float;
    case H5T_STRING: throw Hdf5Error(what + ": it holds strings, not numbers");
    case H5T_COMPOUND: throw Hdf5Error(what + ": it holds compound elements, not numbers");
    case H5T_NO_CLASS: fail(what);
    default: throw Hdf5Error(what + ": its elements are neither integers nor floats");
  }
}

std::vector<Filter> filtersOf(hid_t dcpl, const std::string& what) {
  const int count = H5Pget_nfilters(dcpl);
  if (count < 0) fail(what);
  std::vector<Filter> filters;
  for (unsigned i = 0; i < static_cast<unsigned>(count); ++i) {
    Filter filter{};
    std::vector<unsigned> values(16);
    char name[256] = "";
    for (;;) {
      size_t n = values.size();
      unsigned config = 0;
      const H5Z_filter_t id = H5Pget_filter2(dcpl, i, &filter.flags, &n, values.data(), sizeof name, name, &config);
      if (id < 0) fail(what);
      filter.id = static_cast<uint32_t>(id);
      if (n <= values.size()) {
        values.resize(n);
        break;
      }
      values.resize(n);
    }
    filter.cdValues.assign(values.begin(), values.end());
    filter.name = name;
    filters.push_back(std::move(filter));
  }
  return filters;
}

hid_t memoryTypeOf(MemoryType type) {
  switch (type) {
    case MemoryType::Uint16: return H5T_NATIVE_UINT16;
    case MemoryType::Uint32: return H5T_NATIVE_UINT32;
    case MemoryType::Int32: return H5T_NATIVE_INT32;
    case MemoryType::Float32: return H5T_NATIVE_FLOAT;
  }
  throw Hdf5Error("unknown memory type");
}

}  // namespace

Handle openFile(const std::string& path, bool writable) {
  Locked lock;
  const std::string what = std::string("cannot open ") + path + (writable ? " for writing" : "");
  Id fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  // Closing the file must close everything opened through it, or a forgotten dataset would keep
  // the file open (and unflushed) behind a close that reported success.
  if (!fapl.ok() || H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0) fail(what);
  const hid_t file = H5Fopen(path.c_str(), writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, fapl);
  if (file < 0) fail(what);
  return file;
}

void closeFile(Handle file) {
  Locked lock;
  expectKind(file, H5I_FILE, "file");
  std::string name(static_cast<size_t>(std::max<ssize_t>(H5Fget_name(file, nullptr, 0), 0)), '\0');
  H5Fget_name(file, name.data(), name.size() + 1);
  unsigned intent = 0;
  if (H5Fget_intent(file, &intent) < 0) fail("cannot close " + name);
  // Flushed apart from the close: a close that fails may leave nothing to retry with, and the
  // flush is where a full disk shows (raw chunks are written at once, metadata only now).
  std::string flushError;
  if ((intent & H5F_ACC_RDWR) != 0 && H5Fflush(file, H5F_SCOPE_LOCAL) < 0) flushError = reason();
  const herr_t closed = H5Fclose(file);
  if (!flushError.empty()) throw Hdf5Error("cannot finish writing " + name + ": " + flushError);
  if (closed < 0) fail("cannot close " + name);
}

Handle openDataset(Handle file, const std::string& path) {
  Locked lock;
  expectKind(file, H5I_FILE, "file");
  const hid_t dataset = H5Dopen2(file, path.c_str(), H5P_DEFAULT);
  if (dataset < 0) fail("cannot open dataset " + path);
  return dataset;
}

void closeDataset(Handle dataset) {
  Locked lock;
  expectKind(dataset, H5I_DATASET, "dataset");
  const std::string what = "cannot close dataset " + nameOf(dataset);
  if (H5Dclose(dataset) < 0) fail(what);
}

DatasetInfo describeDataset(Handle dataset) {
  Locked lock;
  expectKind(dataset, H5I_DATASET, "dataset");
  const std::string what = "cannot describe dataset " + nameOf(dataset);
  DatasetInfo info{};
  Id space(H5Dget_space(dataset), H5Sclose);
  const int rank = space.ok() ? H5Sget_simple_extent_ndims(space) : -1;
  if (rank < 0) fail(what);
  std::vector<hsize_t> dims(static_cast<size_t>(rank)), maxDims(static_cast<size_t>(rank));
  if (H5Sget_simple_extent_dims(space, dims.data(), maxDims.data()) < 0) fail(what);
  info.shape.assign(dims.begin(), dims.end());
  info.maxShape.assign(maxDims.begin(), maxDims.end());

  Id dcpl(H5Dget_create_plist(dataset), H5Pclose);
  if (!dcpl.ok()) fail(what);
  const H5D_layout_t layout = H5Pget_layout(dcpl);
  if (layout < 0) fail(what);
  if (layout == H5D_CHUNKED) {
    std::vector<hsize_t> chunks(static_cast<size_t>(rank));
    if (H5Pget_chunk(dcpl, rank, chunks.data()) < 0) fail(what);
    info.chunks.assign(chunks.begin(), chunks.end());
  }
  info.filters = filtersOf(dcpl, what);

  Id type(H5Dget_type(dataset), H5Tclose);
  if (!type.ok()) fail(what);
  info.kind = elementKindOf(type, what);
  info.elementBytes = H5Tget_size(type);
  const H5T_order_t order = H5Tget_order(type);
  if (info.elementBytes == 0 || order == H5T_ORDER_ERROR) fail(what);
  // Single bytes have no order (H5T_ORDER_NONE); they read the same either way.
  info.littleEndian = order != H5T_ORDER_BE;
  if (order == H5T_ORDER_VAX || order == H5T_ORDER_MIXED) {
    throw Hdf5Error(what + ": its elements are in neither little- nor big-endian order");
  }
  return info;
}

uint64_t chunkStorageSize(Handle dataset, const std::vector<uint64_t>& offset) {
  Locked lock;
  expectKind(dataset, H5I_DATASET, "dataset");
  const std::string what = chunkWhat("cannot find the size of", dataset, offset);
  const std::vector<hsize_t> at = chunkOffset(dataset, offset, what);
  return storedSize(dataset, at, what);
}

ChunkRead readChunk(Handle dataset, const std::vector<uint64_t>& offset,
                    const std::function<uint8_t*(uint64_t bytes)>& destination) {
  Locked lock;
  expectKind(dataset, H5I_DATASET, "dataset");
  const std::string what = chunkWhat("cannot read", dataset, offset);
  const std::vector<hsize_t> at = chunkOffset(dataset, offset, what);
  const hsize_t bytes = storedSize(dataset, at, what);
  // H5Dread_chunk would only say "chunk address isn't defined".
  if (bytes == 0) throw Hdf5Error(what + ": the chunk was never written");
  uint8_t* out = destination(bytes);
  uint32_t mask = 0;
  if (H5Dread_chunk(dataset, H5P_DEFAULT, at.data(), &mask, out) < 0) fail(what);
  return {bytes, mask};
}

void readFrames(Handle dataset, uint64_t start, uint64_t count, MemoryType type, void* out,
                size_t outBytes) {
  Locked lock;
  expectKind(dataset, H5I_DATASET, "dataset");
  const std::string what = "cannot read frames " + std::to_string(start) + " to " +
                           std::to_string(start + count) + " of " + nameOf(dataset);
  const std::vector<hsize_t> dims = dimsOf(dataset, what);
  if (dims.empty()) throw Hdf5Error(what + ": it is a scalar, not a stack of frames");
  if (start > dims[0] || count > dims[0] - start) {
    throw Hdf5Error(what + ": it has " + std::to_string(dims[0]) + " frames");
  }
  uint64_t elements = count;
  for (size_t i = 1; i < dims.size(); ++i) elements *= dims[i];
  const hid_t memoryType = memoryTypeOf(type);
  if (elements * H5Tget_size(memoryType) != outBytes) {
    throw Hdf5Error(what + ": they hold " + std::to_string(elements) + " elements but out holds " +
                    std::to_string(outBytes / H5Tget_size(memoryType)));
  }
  if (count == 0) return;
  Id fileSpace(H5Dget_space(dataset), H5Sclose);
  std::vector<hsize_t> first(dims.size(), 0), extent(dims);
  first[0] = start;
  extent[0] = count;
  if (!fileSpace.ok() ||
      H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, first.data(), nullptr, extent.data(), nullptr) < 0) {
    fail(what);
  }
  // Shaped like the file selection: with a flat memory space HDF5 gathers element by element
  // through its conversion buffer (a 4096 x 4096 bitshuffle frame took 690 ms instead of 50).
  Id memorySpace(H5Screate_simple(static_cast<int>(extent.size()), extent.data(), nullptr), H5Sclose);
  if (!memorySpace.ok() || H5Dread(dataset, memoryType, memorySpace, fileSpace, H5P_DEFAULT, out) < 0) {
    fail(what);
  }
}

void extendFrames(Handle dataset, uint64_t frames) {
  Locked lock;
  expectKind(dataset, H5I_DATASET, "dataset");
  const std::string what = "cannot extend " + nameOf(dataset) + " to " + std::to_string(frames) + " frames";
  std::vector<hsize_t> dims = dimsOf(dataset, what);
  if (dims.empty()) throw Hdf5Error(what + ": it is a scalar");
  if (frames < dims[0]) throw Hdf5Error(what + ": it has " + std::to_string(dims[0]) + " already");
  dims[0] = frames;
  if (H5Dset_extent(dataset, dims.data()) < 0) fail(what);
}

void writeChunk(Handle dataset, const std::vector<uint64_t>& offset, uint32_t filterMask,
                const uint8_t* bytes, size_t size) {
  Locked lock;
  expectKind(dataset, H5I_DATASET, "dataset");
  const std::string what = chunkWhat("cannot write", dataset, offset);
  const std::vector<hsize_t> at = chunkOffset(dataset, offset, what);
  if (H5Dwrite_chunk(dataset, H5P_DEFAULT, filterMask, at.data(), size, bytes) < 0) fail(what);
}

}  // namespace sx::h5
