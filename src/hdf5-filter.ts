/**
 * An HDF5 filter as a dataset's creation property list holds it: the registered filter id and
 * its client data values (`cd_values`), as h5py's `get_filter` reports them. The codecs know
 * which filter and values a codec config means (`ContainerCodec.hdf5Filter`); the store only
 * applies them.
 */
export interface Hdf5Filter {
  id: number;
  cd_values: number[];
}
