#!/bin/sh
# meson install script: installs the executables given after BINDIR into DESTDIR/PREFIX/BINDIR.
# Needed because controlplane/daemon/meson.build and cli/meson.build declare them without `install: true`.
set -eu
bindir=$1
shift
case "$bindir" in
  /*) target="${DESTDIR:-}$bindir" ;;
  *) target="$MESON_INSTALL_DESTDIR_PREFIX/$bindir" ;;
esac
for executable in "$@"; do
  install -D -m 0755 "$executable" "$target/$(basename "$executable")"
done
