#!/usr/bin/env bash
# README command: builds the Debian package from this checkout and prints its path on stdout
# (everything else goes to stderr, so `deb=$(scripts/build-deb.sh)` works).
# A separate build in build-deb/ (prefix /usr, tests off) is installed into a staging
# root by `meson install` (packaging/meson.build says what) and wrapped with dpkg-deb.
set -euo pipefail
cd "$(dirname "$0")/.."
exec 3>&1 1>&2

scripts/bootstrap.sh
builddir=build-deb
stage=$builddir/staging
root=$PWD/$stage

# The project's own buildtype (debugoptimized, -O2): what the tests run. -O3 (release) trips a
# GCC 12 false positive (-Wrestrict in std::string) under -Werror.
if [ ! -f "$builddir/build.ninja" ]; then
  meson setup "$builddir" --prefix=/usr -Dunit_tests=false -Dgolden_tests=false
fi
ninja -C "$builddir"
if [ ! -f "$builddir/packaging/sluice.service" ]; then
  echo "build-deb: packaging/ is not part of the build; add subdir('packaging') after" \
       "subdir('controlplane') and subdir('cli') in meson.build" >&2
  exit 1
fi

rm -rf "$stage"
meson install -C "$builddir" --destdir "$root" --no-rebuild --quiet
# Debug symbols stay in build-deb/; appliances get the smaller binaries.
strip --strip-unneeded "$stage"/usr/bin/sluiced "$stage"/usr/bin/sluicectl

version=${SLUICE_DEB_VERSION:-}
if [ -z "$version" ]; then
  version=$(meson introspect --projectinfo "$builddir" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')
  if git rev-parse --git-dir >/dev/null 2>&1; then
    # The commit count orders successive builds, so each commit upgrades the one before.
    version="$version+$(git rev-list --count HEAD).g$(git rev-parse --short HEAD)"
  fi
fi
arch=$(dpkg --print-architecture)

# Libraries the binaries link, with versions, as Debian's own packages compute them.
shlibs_dir=$(mktemp -d)
trap 'rm -rf "$shlibs_dir"' EXIT
mkdir "$shlibs_dir/debian"
printf 'Source: sluice\n\nPackage: sluice\nArchitecture: any\n' > "$shlibs_dir/debian/control"
linked=$(cd "$shlibs_dir" && dpkg-shlibdeps -O -e"$root/usr/bin/sluiced" -e"$root/usr/bin/sluicectl" \
  2> >(grep -v "should already be installed in their package's directory" >&2) \
  | sed -n 's/^shlibs:Depends=//p')
[ -n "$linked" ] || { echo "build-deb: dpkg-shlibdeps found no libraries" >&2; exit 1; }
# Loaded by EAL at run time from the PMD directory, read as data (publicsuffix), or run by the
# unit: invisible to dpkg-shlibdeps.
runtime="librte-bus-pci23, librte-bus-vdev23, librte-mempool-ring23, librte-net-pcap23, librte-net-af-packet23, publicsuffix"

mkdir -p "$stage/DEBIAN"
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" \
    -e "s/@INSTALLED_SIZE@/$(du -sk --exclude=DEBIAN "$stage" | cut -f1)/" \
    -e "s/@DEPENDS@/$linked, $runtime/" packaging/debian/control.in > "$stage/DEBIAN/control"
install -m 0755 packaging/debian/postinst packaging/debian/prerm packaging/debian/postrm "$stage/DEBIAN/"
# Everything under /etc is operator-owned: an upgrade must not overwrite local edits.
(cd "$stage" && find etc -type f -printf '/%p\n' | sort) > "$stage/DEBIAN/conffiles"

# Reproducible timestamps: the commit's, when there is one.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
export SOURCE_DATE_EPOCH
deb="$builddir/sluice_${version}_${arch}.deb"
rm -f "$builddir"/sluice_*.deb
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
dpkg-deb --info "$deb" | sed -n 's/^ \(Version\|Depends\):/  \1:/p'
echo "$PWD/$deb" >&3
