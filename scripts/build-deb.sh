#!/usr/bin/env bash
# README command: builds the Debian package from this checkout and prints the path of
# sluice_<version>_<arch>.deb on stdout (everything else goes to stderr, so
# `deb=$(scripts/build-deb.sh)` works). The -dbgsym package, .buildinfo and .changes land next to it.
#
# The package is the debian/ source package (dh, meson, hardening flags) built with
# `dpkg-buildpackage -us -uc -b`. dpkg-buildpackage writes its results into the parent of the
# source tree, so it runs on a copy in build-deb/src: the results land in build-deb/, not beside
# the checkout. The copy holds the checkout's files as they are (committed or not), without .git
# and build directories.
set -euo pipefail
cd "$(dirname "$0")/.."
exec 3>&1 1>&2

scripts/bootstrap.sh
out=build-deb
src=$out/src

version=${SLUICE_DEB_VERSION:-}
if [ -z "$version" ]; then
  version=$(sed -n "s/^ *version: *'\([^']*\)'.*/\1/p" meson.build | head -n1)
  if git rev-parse --git-dir >/dev/null 2>&1; then
    # The commit count orders successive builds, so each commit upgrades the one before.
    version="$version+$(git rev-list --count HEAD).g$(git rev-parse --short HEAD)"
  fi
fi

rm -rf "$src" "$out"/sluice_* "$out"/sluice-dbgsym_*
mkdir -p "$src"
if git rev-parse --git-dir >/dev/null 2>&1; then
  git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' file; do [ -e "$file" ] && printf '%s\0' "$file"; done |
    tar --null -T - -cf - | tar -C "$src" -xf -
else
  tar --exclude='./build*' --exclude=./sluice-demo-out -cf - . | tar -C "$src" -xf -
fi
# The snapshot's version on the changelog's newest entry (the checked-in one names the release).
sed -i "1s/^sluice ([^)]*)/sluice ($version)/" "$src/debian/changelog"

# Reproducible timestamps: the commit's, when there is one.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
export SOURCE_DATE_EPOCH
# debhelper gives the build a fresh HOME; the shared compiler cache stays where it is.
if command -v ccache >/dev/null; then
  CCACHE_DIR=$(ccache -k cache_dir)
  export CCACHE_DIR
fi
start=$(date +%s)
(cd "$src" && dpkg-buildpackage -us -uc -b -J2)
echo "build-deb: dpkg-buildpackage took $(( $(date +%s) - start )) s"

arch=$(dpkg --print-architecture)
deb="$out/sluice_${version}_${arch}.deb"
[ -f "$deb" ] || { echo "build-deb: $deb was not built" >&2; exit 1; }
dpkg-deb --info "$deb" | sed -n 's/^ \(Version\|Depends\):/  \1:/p'
echo "$PWD/$deb" >&3
