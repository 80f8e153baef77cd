import { beamstopOf, type DetectorSpec } from './detectors.ts';

/**
 * CrystFEL geometry for a simulated file, as text.
 *
 * Convention: lab x/y (in pixels) of the continuous data coordinate (fs, ss) is
 * (fs - cx, ss - cy), where (cx, cy) is the beam centre and fs = 0 is the outer edge of the
 * first pixel. Hence every panel has fs = +1.0x, ss = +1.0y and corner_x = min_fs - cx,
 * corner_y = min_ss - cy. Gap pixels belong to no panel, so CrystFEL never reads them.
 * The beamstop is a bad region in lab coordinates, so it needs no panel even where the
 * disc straddles several modules.
 *
 * @example
 * await writeFile('eiger4m.geom', formatGeometry(DETECTORS.eiger4m, 16));
 */
export function formatGeometry(spec: DetectorSpec, bits: 16 | 32): string {
  const { x: cx, y: cy } = spec.beamCenter;
  const { radius, armHalfWidth } = beamstopOf(spec);
  const lines = [
    `; Simulated by sxarchive: ${spec.name} (${spec.description}), ${spec.width} x ${spec.height} px.`,
    `; Lab x/y of data coordinate (fs, ss) = (fs - ${num(cx)}, ss - ${num(cy)}) pixels;`,
    '; gap pixels are in no panel and hold 2^bits - 1.',
    `photon_energy = ${spec.photonEnergyEv} eV`,
    `clen = ${num(spec.clen)}`,
    `res = ${(1 / spec.pixelSize).toFixed(3)}`,
    'adu_per_photon = 1',
    `max_adu = ${2 ** bits - 2}`,
    'data = /entry/data/data',
    'dim0 = %',
    'dim1 = ss',
    'dim2 = fs',
  ];
  for (const p of spec.panels) {
    lines.push(
      '',
      `${p.name}/min_fs = ${p.minFs}`,
      `${p.name}/max_fs = ${p.maxFs}`,
      `${p.name}/min_ss = ${p.minSs}`,
      `${p.name}/max_ss = ${p.maxSs}`,
      `${p.name}/fs = +1.0x`,
      `${p.name}/ss = +1.0y`,
      `${p.name}/corner_x = ${num(p.minFs - cx)}`,
      `${p.name}/corner_y = ${num(p.minSs - cy)}`,
    );
  }
  lines.push(
    '',
    '; Beamstop disc and the arm holding it (along +x to the detector edge).',
    ...badRegion('bad_beamstop', -radius, radius, -radius, radius),
    ...badRegion('bad_beamstop_arm', 0, spec.width - cx, -armHalfWidth, armHalfWidth),
  );
  return `${lines.join('\n')}\n`;
}

function badRegion(name: string, minX: number, maxX: number, minY: number, maxY: number): string[] {
  return [`${name}/min_x = ${num(minX)}`, `${name}/max_x = ${num(maxX)}`, `${name}/min_y = ${num(minY)}`, `${name}/max_y = ${num(maxY)}`];
}

/** At least one decimal, as CrystFEL's own files write them, and no binary-rounding noise. */
function num(value: number): string {
  const rounded = Number(value.toFixed(4));
  return Number.isInteger(rounded) ? rounded.toFixed(1) : String(rounded);
}
