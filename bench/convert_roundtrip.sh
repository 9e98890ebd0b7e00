#!/usr/bin/env bash
# Load + save benchmark (issue 2): `slimnx convert` against Python onnx.load/onnx.save on the same
# model, interleaved in one run, reporting wall time and peak RSS of each process.
#
#   /usr/bin/python3 reference-models/recipes/vit_b16_scale.py --out scratch/vit_b16.onnx
#   make build && bench/convert_roundtrip.sh scratch/vit_b16.onnx 5
#
# Needs /usr/bin/time (Debian package `time`) and python3-onnx for the comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-scratch/vit_b16.onnx}
runs=${2:-5}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
[ -f "$model" ] || { echo "no model at $model; see the header of this script" >&2; exit 2; }
size=$(stat -c %s "$model")
echo "model: $model ($size bytes), runs: $runs, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
printf '%-8s %-4s %10s %14s %12s\n' tool run wall_s peak_rss_MiB rss/file
for i in $(seq "$runs"); do
  /usr/bin/time -o "$out/t" -f "%e %M" ./slimnx convert "$model" -o "$out/slimnx.onnx" >/dev/null
  read -r wall kb < "$out/t"
  awk -v t=slimnx -v i="$i" -v w="$wall" -v kb="$kb" -v s="$size" \
    'BEGIN { printf "%-8s %-4s %10.2f %14.1f %12.2f\n", t, i, w, kb/1024, kb*1024/s }'
  /usr/bin/time -o "$out/t" -f "%e %M" /usr/bin/python3 -c \
    'import onnx, sys; onnx.save(onnx.load(sys.argv[1]), sys.argv[2])' "$model" "$out/python.onnx"
  read -r wall kb < "$out/t"
  awk -v t=python -v i="$i" -v w="$wall" -v kb="$kb" -v s="$size" \
    'BEGIN { printf "%-8s %-4s %10.2f %14.1f %12.2f\n", t, i, w, kb/1024, kb*1024/s }'
done
cmp -s "$model" "$out/slimnx.onnx" && echo "slimnx output is byte-identical to the input" \
  || echo "slimnx output differs in bytes from the input (field order); see the conformance suite for message equality"
