#!/bin/bash
# cuda-sdk.sh [headers|nvcc]: unpacks what the `cuda` build needs from Debian's non-free CUDA 11.8
# packages into .build/cuda, without installing anything system-wide (apt-get download + dpkg-deb).
#
#   headers (default): nvidia-cuda-dev's headers and stub libraries (libcuda.so), enough to
#                      compile and link `-tags cuda` (make cuda-build); ~40 s, ~1 GB download.
#   nvcc:              also nvcc (nvidia-cuda-toolkit, libnvvm4), to regenerate the PTX
#                      (go generate ./gpu/kernels).
#
# Prints the folder. Idempotent: a second run finds the stamp and does nothing.
set -euo pipefail
what=${1:-headers}
root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/.build/cuda"
stamp="$dest/.stamp-$what"
if [ -f "$stamp" ] || { [ "$what" = headers ] && [ -f "$dest/.stamp-nvcc" ]; }; then echo "$dest"; exit 0; fi
debs="$root/.build/cuda-debs"
apt="$root/.build/cuda-apt"
mkdir -p "$dest" "$debs" "$apt/lists/partial" "$apt/cache/archives/partial"
# Debian's non-free component, for these downloads only (the machine's sources are untouched).
cat > "$apt/sources.list" <<'SRC'
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm non-free
SRC
opts=(-q -o Dir::Etc::SourceList="$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o Dir::State::Lists="$apt/lists" -o Dir::Cache="$apt/cache" -o APT::Sandbox::User=root)
echo "cuda-sdk: downloading Debian's CUDA 11.8 packages ($what) into $debs" >&2
apt-get "${opts[@]}" update >&2
pkgs=(nvidia-cuda-dev)
[ "$what" = nvcc ] && pkgs+=(nvidia-cuda-toolkit libnvvm4)
(cd "$debs" && apt-get "${opts[@]}" download "${pkgs[@]}" >&2)
for p in "${pkgs[@]}"; do
  deb=$(ls "$debs"/${p}_*.deb | head -1)
  echo "cuda-sdk: unpacking $(basename "$deb")" >&2
  if [ "$p" = nvidia-cuda-dev ]; then
    # Only the headers and the stubs: the static and shared libraries are most of its 2.7 GB.
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dest" ./usr/include ./usr/lib/x86_64-linux-gnu/stubs
  else
    dpkg -x "$deb" "$dest"
  fi
done
if [ "$what" = nvcc ]; then
  # Debian's nvcc.profile is a link to /etc/nvcc.profile with absolute paths; point it here.
  bin="$dest/usr/lib/nvidia-cuda-toolkit/bin"
  rm -f "$bin/nvcc.profile"
  cat > "$bin/nvcc.profile" <<PROFILE
NVVMIR_LIBRARY_DIR = $dest/usr/lib/nvidia-cuda-toolkit/libdevice
PATH += $bin:$dest/usr/bin:
INCLUDES += "-I$dest/usr/include" \$(_SPACE_)
LIBRARIES =+ \$(_SPACE_) -L$dest/usr/lib/x86_64-linux-gnu/stubs
PROFILE
fi
rm -f "$debs"/*.deb  # unpacked; a later run downloads again only without the stamp
touch "$stamp"
echo "$dest"
