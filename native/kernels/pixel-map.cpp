#include "pixel-map.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace sx {

void buildPixelMap(const PanelPlacement* panels, size_t nPanels, const LabBox* boxes,
                   size_t nBoxes, size_t width, size_t height, double lambdaA,
                   const PixelMapOut& out) {
  const size_t n = width * height;
  // Gaps are found from the panel map afterwards, so the (much larger) position maps are
  // written once, not filled first.
  std::fill(out.panel, out.panel + n, int16_t(-1));
  for (size_t k = 0; k < nPanels; ++k) {
    const PanelPlacement& p = panels[k];
    const size_t columns = p.maxFs >= p.minFs ? p.maxFs - p.minFs + 1 : 0;
    for (uint32_t ss = p.minSs; ss <= p.maxSs && columns > 0; ++ss) {
      const double ds = static_cast<double>(ss - p.minSs) + 0.5;
      const double rowX = p.x0 + ds * p.ssX;
      const double rowY = p.y0 + ds * p.ssY;
      const double rowZ = p.z0 + ds * p.ssZ;
      const size_t first = static_cast<size_t>(ss) * width + p.minFs;
      float* x = out.x + first;
      float* y = out.y + first;
      float* radius = out.radius + first;
      // Branch-free arithmetic with a 32-bit counter, so that the compiler vectorises the row.
      for (int32_t j = 0; j < static_cast<int32_t>(columns); ++j) {
        const double df = static_cast<double>(j) + 0.5;
        const double px = rowX + df * p.fsX;
        const double py = rowY + df * p.fsY;
        x[j] = static_cast<float>(px);
        y[j] = static_cast<float>(py);
        radius[j] = static_cast<float>(std::sqrt(px * px + py * py));
      }
      if (out.invResolution != nullptr) {
        float* inv = out.invResolution + first;
        for (int32_t j = 0; j < static_cast<int32_t>(columns); ++j) {
          const double df = static_cast<double>(j) + 0.5;
          const double px = rowX + df * p.fsX;
          const double py = rowY + df * p.fsY;
          const double pz = rowZ + df * p.fsZ;
          const double r2 = px * px + py * py;
          // sin θ from cos 2θ = z / |v| via the half-angle formula: no trig per pixel.
          const double cos2t = pz / std::sqrt(r2 + pz * pz);
          inv[j] = static_cast<float>((2 * std::sqrt((1 - cos2t) / 2)) / lambdaA);
        }
      }
      const bool edgeRow = ss - p.minSs < p.edge || p.maxSs - ss < p.edge;
      int16_t* panel = out.panel + first;
      uint8_t* bad = out.bad + first;
      for (size_t j = 0; j < columns; ++j) {
        panel[j] = static_cast<int16_t>(k);
        bool isBad = edgeRow || j < p.edge || columns - 1 - j < p.edge || p.noIndex != 0;
        // Lab regions test the centre as the map stores it (float32).
        for (size_t b = 0; b < nBoxes && !isBad; ++b) {
          const LabBox& box = boxes[b];
          isBad = x[j] >= box.minX && x[j] <= box.maxX && y[j] >= box.minY && y[j] <= box.maxY;
        }
        bad[j] = isBad ? 1 : 0;
      }
    }
  }
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (size_t i = 0; i < n; ++i) {
    if (out.panel[i] >= 0) continue;
    out.bad[i] = 1;
    out.x[i] = nan;
    out.y[i] = nan;
    out.radius[i] = nan;
    if (out.invResolution != nullptr) out.invResolution[i] = nan;
  }
}

}  // namespace sx
