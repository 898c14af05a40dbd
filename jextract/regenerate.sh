#!/bin/sh
# Regenerates the oneDNN bindings (src/main/java/io/vae4j/backend/onednn/ffm/dnnl_h.java and the struct classes) and
# the two OpenMP calls (omp_h.java) with jextract, from the installed headers and the symbol lists in this folder.
#
# jextract is not a Debian package and our build and CI machines cannot download it (it ships as binaries from
# https://jdk.java.net/jextract and needs libclang), so the generated files are checked in and kept by hand in
# jextract's shape; run this on a machine that has jextract 22+ on the PATH and libdnnl-dev installed, then read
# `git diff` and re-apply the hand edits that README.md lists.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
here="$root/jextract"
out="$root/src/main/java"
pkg=io.vae4j.backend.onednn.ffm

if ! command -v jextract >/dev/null 2>&1; then
  echo "regenerate.sh: jextract is not on the PATH (get it from https://jdk.java.net/jextract); nothing changed" >&2
  exit 1
fi
header=/usr/include/oneapi/dnnl/dnnl.h
[ -f "$header" ] || header=/usr/include/dnnl.h
if [ ! -f "$header" ]; then
  echo "regenerate.sh: no dnnl.h; install the headers: apt-get install -y libdnnl-dev" >&2
  exit 1
fi
omp=$(gcc -print-file-name=include 2>/dev/null)/omp.h
if [ ! -f "$omp" ]; then
  echo "regenerate.sh: no omp.h (GCC's); install gcc" >&2
  exit 1
fi

jextract --output "$out" --target-package "$pkg" --header-class-name dnnl_h --library :libdnnl.so.2 \
  --include-dir /usr/include @"$here/includes.txt" "$header"
jextract --output "$out" --target-package "$pkg" --header-class-name omp_h --library :libgomp.so.1 \
  @"$here/omp-includes.txt" "$omp"

echo "regenerate.sh: regenerated $pkg; now review 'git diff' and re-apply the hand edits in jextract/README.md," >&2
echo "then run jextract/check.sh and ./mvnw test -Dtest='OneDnn*'" >&2
