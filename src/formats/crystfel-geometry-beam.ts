/** Beam energy from a geometry, as photon energy or wavelength, with a clear error where it is missing. */
import { SxError } from '../errors.ts';
import type { Geometry } from './crystfel-geometry-types.ts';

/** Planck constant x speed of light / elementary charge, in eV·m (exact SI constants). */
export const HC_EV_M = (6.62607015e-34 * 299792458) / 1.602176634e-19;
const PLANCK = 6.62607015e-34;
const ELECTRON_MASS = 9.1093837015e-31;
const ELEMENTARY_CHARGE = 1.602176634e-19;
const LIGHT_SPEED = 299792458;

/**
 * The incident wavelength in metres: photon energies and wavelengths directly, electron
 * accelerating voltages with the relativistic correction. Throws `SxError('input')` when the
 * file gives no energy or only a header path (a per-frame value the caller must supply).
 *
 * @example
 * wavelengthMetres(readGeometry('det1024.geom')); // 1.0332e-10 (12 keV)
 */
export function wavelengthMetres(g: Geometry): number {
  const e = g.beam.energy;
  switch (e.kind) {
    case 'wavelength':
      return e.metres;
    case 'photon-energy':
      return HC_EV_M / e.ev;
    case 'electron-voltage': {
      const energy = ELEMENTARY_CHARGE * e.volts;
      const momentum = Math.sqrt(2 * ELECTRON_MASS * energy * (1 + energy / (2 * ELECTRON_MASS * LIGHT_SPEED ** 2)));
      return PLANCK / momentum;
    }
    default:
      throw missingEnergy(g);
  }
}

/**
 * The photon energy in eV (from `photon_energy` or `wavelength`). Throws `SxError('input')` for
 * files without a beam energy, with only a header path, or describing an electron beam.
 *
 * @example
 * photonEnergyEv(readGeometry('det1024.geom')); // 12000
 */
export function photonEnergyEv(g: Geometry): number {
  const e = g.beam.energy;
  if (e.kind === 'photon-energy') return e.ev;
  if (e.kind === 'wavelength') return HC_EV_M / e.metres;
  if (e.kind === 'electron-voltage') {
    throw new SxError('input', `${g.file}:${g.beam.line}: the beam is electrons (electron_voltage = ${e.volts} V), ` +
      'so there is no photon energy; use the wavelength instead');
  }
  throw missingEnergy(g);
}

function missingEnergy(g: Geometry): SxError {
  const e = g.beam.energy;
  if (e.kind === 'header') {
    return new SxError('input', `${g.file}:${g.beam.line}: no beam energy: ${e.quantity} is only a header path ` +
      `(${e.headerPath}), read per frame; add photon_energy or wavelength, or give the frame's energy`);
  }
  return new SxError('input', `${g.file}: no beam energy: add photon_energy or wavelength`);
}
