// Direct chunk I/O over the system libhdf5 for the frames' hot path; h5wasm keeps the file
// structure and metadata. Plain C++ (no N-API), so it can be tested and reused without Node.
// Every function may be called from several threads at once. A failure throws Hdf5Error saying
// what was being done and HDF5's most specific reason, e.g.
//   "cannot read chunk [17, 0, 0] of /entry/data/data: chunk address isn't defined".
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace sx::h5 {

// An hid_t (a file or dataset identifier), as HDF5 hands it out.
using Handle = int64_t;

class Hdf5Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class ElementKind { Uint, Int, Float };

struct Filter {
  uint32_t id;
  uint32_t flags;
  std::vector<uint32_t> cdValues;
  // The name the file stores for the filter (plugins' names often say where to get them).
  std::string name;
};

// H5S_UNLIMITED in maxShape.
constexpr uint64_t kUnlimited = ~uint64_t{0};

struct DatasetInfo {
  std::vector<uint64_t> shape;
  std::vector<uint64_t> maxShape;
  // Empty unless the layout is chunked.
  std::vector<uint64_t> chunks;
  ElementKind kind;
  size_t elementBytes;
  bool littleEndian;
  std::vector<Filter> filters;
};

// What readFrames converts to: the host's own order, as typed arrays hold it.
enum class MemoryType { Uint16, Uint32, Int32, Float32 };

struct ChunkRead {
  uint64_t bytes;
  uint32_t filterMask;
};

// Opens an existing file, read-only or read-write; never creates one.
Handle openFile(const std::string& path, bool writable);
// Flushes (when writable) and closes the file and whatever is still open in it; throws when
// anything could not be written, e.g. on a full disk. The handle is gone either way.
void closeFile(Handle file);

Handle openDataset(Handle file, const std::string& path);
void closeDataset(Handle dataset);
DatasetInfo describeDataset(Handle dataset);

// The stored (filtered) size of the chunk at `offset` (element coordinates); 0 = never written.
uint64_t chunkStorageSize(Handle dataset, const std::vector<uint64_t>& offset);

// Reads the chunk at `offset` as it is stored. `destination` is called once with the chunk's
// exact size and returns where to put that many bytes; it runs under the library lock, so the
// size cannot change before the read. A chunk never written throws.
ChunkRead readChunk(Handle dataset, const std::vector<uint64_t>& offset,
                    const std::function<uint8_t*(uint64_t bytes)>& destination);

// Reads frames [start, start + count) (whole slices along the first dimension) through HDF5's
// filters and type conversion into `out`, which must hold exactly that many elements.
void readFrames(Handle dataset, uint64_t start, uint64_t count, MemoryType type, void* out,
                size_t outBytes);

// Grows the first dimension to `frames`; shrinking is refused (it would drop stored chunks).
void extendFrames(Handle dataset, uint64_t frames);

// Stores `bytes` as the chunk at `offset`; bit i of `filterMask` set = filter i was not applied.
void writeChunk(Handle dataset, const std::vector<uint64_t>& offset, uint32_t filterMask,
                const uint8_t* bytes, size_t size);

}  // namespace sx::h5
