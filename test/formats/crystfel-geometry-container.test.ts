import test from 'ava';
import { CONTAINER_DIMS, containerGeometry, parseGeometry } from '../../src/formats/crystfel-geometry.ts';

const SOURCE = `photon_energy = /entry/instrument/beam/energy eV
clen = 0.1
res = 13333.3
data = /entry/data/data
dim0 = %
dim1 = ss
dim2 = fs
mask0_data = /entry/instrument/detector/pixel_mask
mask0_goodbits = 0x0
mask0_badbits = 0xffff
mask1_file = /masks/hot.h5
mask1_data = /hot
mask1_goodbits = 0x0
mask1_badbits = 0x1

p0/min_fs = 0
p0/max_fs = 99
p0/min_ss = 0
p0/max_ss = 49
p0/corner_x = -50
p0/corner_y = -25
p0/fs = +1.0x
p0/ss = +1.0y

bad_stop/min_x = -3
bad_stop/max_x = 3
bad_stop/min_y = -3
bad_stop/max_y = 3
`;

test('a container geometry reads the container: its data path, masks of the source dropped, the rest kept', (t) => {
  const source = parseGeometry(SOURCE, 'src.geom');
  const text = containerGeometry(source, { product: 'raw', data: '/entry_1/data_1/data' });
  const g = parseGeometry(text, 'container.geom');
  t.is(g.panels[0].data, '/entry_1/data_1/data');
  t.deepEqual(g.panels[0].dims, [...CONTAINER_DIMS]);
  t.deepEqual(g.panels[0].masks, [{ data: '/hot', file: '/masks/hot.h5', goodBits: 0, badBits: 1 }], 'a mask in a file of its own stays');
  t.regex(text, /Dropped, as they were in the source file: mask \/entry\/instrument\/detector\/pixel_mask\./);
  t.regex(text, /Read from the source's headers, which this container does not hold: photon_energy \/entry\/instrument\/beam\/energy\./);
  t.deepEqual(g.badRegions, source.badRegions.map((r) => ({ ...r, line: g.badRegions[0].line })));
  t.like(g.panels[0], { minFs: 0, maxFs: 99, minSs: 0, maxSs: 49, cornerX: -50, cornerY: -25, res: 13333.3 });
  t.is(g.peakList, undefined);
});

test('a peaks container geometry names its CXI peak list', (t) => {
  const source = parseGeometry(SOURCE, 'src.geom');
  const g = parseGeometry(containerGeometry(source, { product: 'peaks', data: '/entry_1/data_1/data', peakList: '/entry_1/result_1' }), 'peaks.geom');
  t.is(g.peakList, '/entry_1/result_1');
  t.is(g.peakListType, 'cxi');
});
