; Simulated by sxarchive: tiny (one 256 x 256 px panel), 256 x 256 px.
; Lab x/y of data coordinate (fs, ss) = (fs - 131.4, ss - 124.7) pixels;
; gap pixels are in no panel and hold 2^bits - 1.
photon_energy = 12000 eV
clen = 0.05
res = 13333.333
adu_per_photon = 1
max_adu = 65534
data = /entry/data/data
dim0 = %
dim1 = ss
dim2 = fs

p0/min_fs = 0
p0/max_fs = 255
p0/min_ss = 0
p0/max_ss = 255
p0/fs = +1.0x
p0/ss = +1.0y
p0/corner_x = -131.4
p0/corner_y = -124.7

; Beamstop disc and the arm holding it (along +x to the detector edge).
bad_beamstop/min_x = -6.0
bad_beamstop/max_x = 6.0
bad_beamstop/min_y = -6.0
bad_beamstop/max_y = 6.0
bad_beamstop_arm/min_x = 0.0
bad_beamstop_arm/max_x = 124.6
bad_beamstop_arm/min_y = -2.0
bad_beamstop_arm/max_y = 2.0
