/**
 * Maxima of a uint16 frame's consecutive groups of `group` pixels, among the values <= `cap`
 * (larger ones, detector markers, count as 0): taken by a decoder while the pixels are in cache
 * (codecs' `decodeWithMaxima`), so that peakfinder8 can skip groups that hold no seed without
 * reading them again. `values` has ceil(pixels / group) entries.
 */
export interface GroupMaxima {
  group: number;
  cap: number;
  values: Uint16Array;
}
