// buildPixelMap(panels, boxes, width, height, lambdaA, panel, bad, x, y, radius, invResolution | null)
//   panels: Float64Array of PANEL_FIELDS numbers per panel (src/core/pixel-map.ts packs them);
//   boxes: Float64Array of [minX, maxX, minY, maxY] per lab bad region.
// The maps are allocated by the caller (shared memory, for the worker threads).
#include "../kernels/pixel-map.hpp"
#include "convert.hpp"

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace sx {
namespace {

constexpr size_t kPanelFields = 15;

uint32_t panelIndex(const Napi::Env& env, double v, const char* what) {
  if (!(v >= 0 && v <= std::numeric_limits<uint32_t>::max() && v == std::floor(v))) {
    throw Napi::RangeError::New(env, std::string("Expected panel ") + what + " to be a pixel index");
  }
  return static_cast<uint32_t>(v);
}

// Packed records come in any number: the length is checked against the record size instead.
size_t lengthOf(const Napi::Value& value) {
  return value.IsTypedArray() ? value.As<Napi::TypedArray>().ElementLength() : 0;
}

}  // namespace

Napi::Value BuildPixelMap(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  if (info.Length() != 11) throw Napi::TypeError::New(env, "Expected 11 arguments for buildPixelMap");
  const size_t width = toUint32(info[2], "width", 1, std::numeric_limits<uint32_t>::max());
  const size_t height = toUint32(info[3], "height", 1, std::numeric_limits<uint32_t>::max());
  const double lambdaA = toNumber(info[4], "lambdaA");
  const size_t n = width * height;

  const ArrayView<double> fields = toArrayView<double>(info[0], "panels", lengthOf(info[0]));
  if (fields.length % kPanelFields != 0) throw Napi::RangeError::New(env, "Expected 15 numbers per panel");
  std::vector<PanelPlacement> panels(fields.length / kPanelFields);
  for (size_t k = 0; k < panels.size(); ++k) {
    const double* f = fields.data + k * kPanelFields;
    PanelPlacement& p = panels[k];
    p.minFs = panelIndex(env, f[0], "minFs");
    p.maxFs = panelIndex(env, f[1], "maxFs");
    p.minSs = panelIndex(env, f[2], "minSs");
    p.maxSs = panelIndex(env, f[3], "maxSs");
    if (p.maxFs >= width || p.maxSs >= height) throw Napi::RangeError::New(env, "Expected panels inside width x height");
    p.x0 = f[4], p.y0 = f[5], p.z0 = f[6];
    p.fsX = f[7], p.fsY = f[8], p.fsZ = f[9];
    p.ssX = f[10], p.ssY = f[11], p.ssZ = f[12];
    p.noIndex = f[13] != 0 ? 1 : 0;
    p.edge = panelIndex(env, f[14], "edge");
  }
  const ArrayView<double> boxFields = toArrayView<double>(info[1], "boxes", lengthOf(info[1]));
  if (boxFields.length % 4 != 0) throw Napi::RangeError::New(env, "Expected 4 numbers per lab region");
  std::vector<LabBox> boxes(boxFields.length / 4);
  for (size_t b = 0; b < boxes.size(); ++b) {
    const double* f = boxFields.data + b * 4;
    boxes[b] = LabBox{f[0], f[1], f[2], f[3]};
  }

  PixelMapOut out{};
  out.panel = toArrayView<int16_t>(info[5], "panel", n).data;
  out.bad = toArrayView<uint8_t>(info[6], "bad", n).data;
  out.x = toArrayView<float>(info[7], "x", n).data;
  out.y = toArrayView<float>(info[8], "y", n).data;
  out.radius = toArrayView<float>(info[9], "radius", n).data;
  out.invResolution = info[10].IsNull() ? nullptr : toArrayView<float>(info[10], "invResolution", n).data;
  buildPixelMap(panels.data(), panels.size(), boxes.data(), boxes.size(), width, height, lambdaA, out);
  return env.Undefined();
}

}  // namespace sx
