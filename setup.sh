#!/usr/bin/env bash
# Sets up sxarchive on this machine: the system libraries the native addon links (LZ4, zstd,
# Blosc, HDF5), then the npm packages and the addon (`npm ci`). With --test it also installs what
# `npm test` needs: h5py with Debian's HDF5 filter plugins, Ceph's RGW for the real-S3 tests, and
# Chromium for the pages sxarchive renders.
# Installs with apt-get on Debian and Ubuntu (as root, or through sudo); elsewhere it prints the
# dnf or brew line and stops. Run it again at any time: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")"

usage() {
  cat <<'EOF'
usage: ./setup.sh [--test]
  Installs the system packages the native addon needs (LZ4, zstd, Blosc, HDF5 and a C++ toolchain)
  when they are missing, then the npm packages and the native addon (npm ci).
  --test   also what `npm test` needs: h5py, Debian's HDF5 filter plugins, zstandard, Chromium, Ceph's
           RGW with curl (the real-S3 tests start a throwaway gateway) and PostgreSQL (a throwaway server
           for the catalog's tests)
EOF
}

with_tests=0
for arg in "$@"; do
  case $arg in
    --test) with_tests=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "setup.sh: unknown option '$arg'" >&2; usage >&2; exit 2 ;;
  esac
done

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }

# --- Node.js: setup does not install it (Debian's nodejs is too old) ---------------------------
command -v node >/dev/null || die "Node.js is missing: install Node.js 20.19+ or 22+ (https://nodejs.org), then run ./setup.sh again"
node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit((a === 20 && b >= 19) || a >= 22 ? 0 : 1)' \
  || die "Node.js $(node -v) is too old: sxarchive needs 20.19+ or 22+"
command -v npm >/dev/null || die "npm is missing (it comes with Node.js)"

# Homebrew keeps headers and libraries outside the compiler's default paths.
if command -v brew >/dev/null; then
  brew_prefix=$(brew --prefix)
  export CPATH="$brew_prefix/include${CPATH:+:$CPATH}" LIBRARY_PATH="$brew_prefix/lib${LIBRARY_PATH:+:$LIBRARY_PATH}"
fi

# --- What is missing ---------------------------------------------------------------------------
CXX=${CXX:-c++}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# A library is there when a program using it compiles and links, as the addon will.
has_lib() { # header, expression (0 when fine), compiler and linker flags
  local header=$1 expression=$2
  shift 2
  if command -v "$CXX" >/dev/null; then
    printf '#include <%s>\nint main() { return %s; }\n' "$header" "$expression" >"$scratch/t.cpp"
    "$CXX" "$scratch/t.cpp" -o "$scratch/t" "$@" >/dev/null 2>&1
  else
    [ -f "/usr/include/$header" ] || [ -f "/usr/local/include/$header" ] || [ -f "/usr/include/hdf5/serial/$header" ]
  fi
}
# HDF5's flags as native/binding.gyp finds them: Debian keeps the serial build under hdf5/serial.
hdf5_flags() {
  if command -v pkg-config >/dev/null && pkg-config --exists hdf5; then
    pkg-config --cflags --libs hdf5
  elif [ -d /usr/include/hdf5/serial ]; then
    echo "-I/usr/include/hdf5/serial -lhdf5_serial"
  else
    echo "-lhdf5"
  fi
}
has_cmd() { PATH="$PATH:/usr/sbin:/usr/bin:/sbin" command -v "$1" >/dev/null; }
# The tests run Debian's interpreter with its h5py (test/helpers/h5py.ts).
has_py() { [ -x /usr/bin/python3 ] && /usr/bin/python3 -c "import $1" >/dev/null 2>&1; }
has_hdf5_plugin() { compgen -G "/usr/lib/*/hdf5/serial/plugins/$1" >/dev/null || compgen -G "/usr/lib/hdf5/serial/plugins/$1" >/dev/null; }

missing=""    # what is missing, for people
packages=""   # the Debian packages that provide it
need() { missing="$missing${missing:+, }$1"; packages="$packages $2"; }

check() {
  missing="" packages=""
  has_cmd "$CXX" || need "a C++ compiler" g++
  has_cmd make || need make make
  has_cmd python3 || need python3 python3
  has_lib lz4.h 'LZ4_versionNumber() > 0 ? 0 : 1' -llz4 || need "LZ4 (lz4.h, -llz4)" liblz4-dev
  has_lib zstd.h 'ZSTD_versionNumber() > 0 ? 0 : 1' -lzstd || need "zstd (zstd.h, -lzstd)" libzstd-dev
  has_lib blosc.h 'blosc_get_version_string()[0] ? 0 : 1' -lblosc || need "Blosc (blosc.h, -lblosc)" libblosc-dev
  # shellcheck disable=SC2046 # the flags are words
  has_lib hdf5.h 'H5open() >= 0 ? 0 : 1' $(hdf5_flags) || need "HDF5 (hdf5.h, -lhdf5)" libhdf5-dev
  if [ "$with_tests" = 1 ]; then
    has_py h5py || need "h5py" python3-h5py
    has_py hdf5plugin || need "hdf5plugin" python3-hdf5plugin
    has_py bitshuffle.h5 || need "bitshuffle for h5py" bitshuffle
    has_py zstandard || need "zstandard for Python" python3-zstandard
    has_hdf5_plugin libh5lz4.so || need "the HDF5 LZ4 filter plugin" hdf5-filter-plugin
    has_hdf5_plugin libH5Zblosc.so || need "the HDF5 Blosc filter plugin" hdf5-filter-plugin-blosc-serial
    # The HTML report and the web view are tested in Debian's Chromium (playwright-core drives it).
    [ -x /usr/bin/chromium ] || need "Chromium" chromium
    # test/services/ceph-rgw/start.sh runs a throwaway cluster with these tools
    for tool in ceph-mon:ceph-mon ceph-osd:ceph-osd radosgw:radosgw ceph:ceph-common radosgw-admin:ceph-common \
                monmaptool:ceph-base ceph-authtool:ceph-common curl:curl; do
      has_cmd "${tool%%:*}" || need "${tool%%:*}" "${tool#*:}"
    done
  fi
  return 0
}

other_systems() {
  echo "Install it with your package manager, then run ./setup.sh again:"
  echo "  Fedora/RHEL: sudo dnf install gcc-c++ make python3 lz4-devel libzstd-devel blosc-devel hdf5-devel"
  echo "  macOS:       brew install lz4 zstd c-blosc hdf5   (and the Xcode command-line tools: xcode-select --install)"
  if [ "$with_tests" = 1 ]; then
    echo "The test suite is set up for Debian and Ubuntu (/usr/bin/python3 with Debian's HDF5 filter plugins,"
    echo "and Ceph's RGW). On Fedora/RHEL, roughly (untested):"
    echo "  sudo dnf install python3-h5py python3-zstandard ceph-radosgw ceph-mon ceph-osd curl chromium"
    echo "  /usr/bin/python3 -m pip install --user hdf5plugin bitshuffle"
  fi
}

check
if [ -n "$missing" ]; then
  say "missing: $missing"
  if ! command -v apt-get >/dev/null || ! command -v dpkg-query >/dev/null; then
    other_systems >&2
    exit 1
  fi
  # Only the packages not installed yet (hdf5plugin fails to import without h5py, for one).
  install=""
  for p in $packages; do
    case " $install " in *" $p "*) continue ;; esac
    [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || install="$install $p"
  done
  [ -n "$install" ] || die "the Debian packages for that are installed ($packages ), yet it is still missing: check your system"
  if [ "$(id -u)" = 0 ]; then
    as_root=""
  elif command -v sudo >/dev/null; then
    as_root="sudo"
  else
    die "installing needs root: run as root   apt-get update && apt-get install --no-install-recommends$install   then ./setup.sh again"
  fi
  say "installing with apt-get:$install"
  $as_root apt-get update -qq
  $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $install >/dev/null
  check
  [ -z "$missing" ] || die "still missing after apt-get install: $missing"
else
  say "system packages: everything is there"
fi

# PostgreSQL for the catalog's tests on a server (test/services/postgres/start.sh runs a throwaway
# one). Apart, and not fatal: its packages' set-up writes a certificate into /etc/ssl, which some
# machines keep read-only; then only the tests on PostgreSQL fail, saying why.
if [ "$with_tests" = 1 ] && ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  if command -v apt-get >/dev/null && { [ "$(id -u)" = 0 ] || command -v sudo >/dev/null; }; then
    as_root=$([ "$(id -u)" = 0 ] || echo sudo)
    say "installing with apt-get: postgresql (the catalog's tests on PostgreSQL)"
    if ! { $as_root apt-get update -qq && $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null 2>&1; }; then
      say "postgresql did not install (apt-get install postgresql failed): the catalog's tests on PostgreSQL will fail; everything else is set up"
    fi
  else
    say "postgresql is not installed: the catalog's tests on PostgreSQL will fail (install it: apt-get install postgresql)"
  fi
fi

# --- npm packages and the native addon ---------------------------------------------------------
# Build native addons against the system's Node headers when they match this Node (no download).
if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node_version.h ]; then
  headers_major=$(sed -n 's/^#define NODE_MAJOR_VERSION \([0-9]*\).*/\1/p' /usr/include/node/node_version.h)
  if [ "$headers_major" = "$(node -p 'process.versions.node.split(".")[0]')" ]; then export npm_config_nodedir=/usr; fi
fi

# node_modules is current when it was installed by this Node from these manifests and these addon sources.
stamp=node_modules/.sxarchive-setup
fingerprint() {
  { node -v; cat package.json package-lock.json 2>/dev/null; find native -path native/build -prune -o -type f -print | LC_ALL=C sort | xargs cat; } | cksum
}
if [ -f "$stamp" ] && [ -f native/build/Release/sxnative.node ] && [ "$(cat "$stamp")" = "$(fingerprint)" ]; then
  say "npm packages and the native addon: up to date"
else
  if [ -f package-lock.json ]; then
    say "npm ci${npm_config_nodedir:+ (Node headers from $npm_config_nodedir)}"
    npm ci --no-audit --no-fund
  else
    say "npm install${npm_config_nodedir:+ (Node headers from $npm_config_nodedir)}"
    npm install --no-audit --no-fund
  fi
  fingerprint >"$stamp"
fi
if [ "$with_tests" = 1 ]; then say "done: npm start runs the demo, npm test the tests"; else say "done: npm start runs the demo (npm test needs ./setup.sh --test)"; fi
