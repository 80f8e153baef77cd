// The per-pixel geometry maps of one data array (src/core/pixel-map.ts): panel, never-usable
// pixels, lab position, radius and resolution. Plain C++ on raw pointers;
// src/core/pixel-map-reference.ts is the same computation in TypeScript, and the tests require
// identical maps: keep the formulas and their order in step.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sx {

// One panel as the maps need it, in pixels of the panel. Pixel (fs, ss) has its centre at
// (x0, y0, z0) + (fs - minFs + 0.5) fs + (ss - minSs + 0.5) ss.
struct PanelPlacement {
  uint32_t minFs, maxFs, minSs, maxSs;
  double x0, y0, z0;
  double fsX, fsY, fsZ;
  double ssX, ssY, ssZ;
  uint8_t noIndex;  // every pixel of the panel is bad
  uint32_t edge;    // mask_edge_pixels
};

// A bad region in lab coordinates: pixels whose (float32) centre lies inside are bad.
struct LabBox {
  double minX, maxX, minY, maxY;
};

// Caller-allocated outputs of width x height elements; invResolution may be null (no camera
// length or wavelength), else lambdaA is the wavelength in Å.
struct PixelMapOut {
  int16_t* panel;
  uint8_t* bad;
  float* x;
  float* y;
  float* radius;
  float* invResolution;
};

void buildPixelMap(const PanelPlacement* panels, size_t nPanels, const LabBox* boxes,
                   size_t nBoxes, size_t width, size_t height, double lambdaA,
                   const PixelMapOut& out);

}  // namespace sx
