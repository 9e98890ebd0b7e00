#!/usr/bin/env bash
# Parameter reallocation benchmark (issue 8): each model pruned to half its params with
# `--reallocate` (one global Taylor ranking) and, as the baseline, uniformly (every group the same
# fraction); each fine-tuned for one epoch of the reference 5k training subset with the original as
# teacher; then validated against the original on the full test set, latency interleaved at batch 32.
#
#   make build && bench/reallocate.sh [vit efficientvit] > realloc.txt
#
# Prints one markdown row per model and mode, then each reallocated model's width table.
set -euo pipefail
cd "$(dirname "$0")/.."
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(vit efficientvit)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
top1() { sed -n 's/^| top-1 | \([0-9.]*\)% | \([0-9.]*\)% |.*/\1 \2/p' "$1"; }
echo "$(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "| model | mode | params | MACs | top-1 original | top-1 pruned | top-1 after 1-epoch FT | p50 ms @32 (orig / FT) | speedup @32 (95% CI) | prune s | FT s |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for m in "${models[@]}"; do
  ref=$(./slimnx reference path "$m")
  for mode in uniform reallocate; do
    flag=(); [ "$mode" = reallocate ] && flag=(--reallocate)
    t0=$(date +%s.%N)
    ./slimnx prune "$ref" -o "$out/$m-$mode.onnx" --target-params 0.5 "${flag[@]}" > "$out/$m-$mode.prune" 2>/dev/null
    t1=$(date +%s.%N)
    ./slimnx finetune "$out/$m-$mode.onnx" -o "$out/$m-$mode-ft.onnx" --teacher "$ref" --epochs 1 \
      > "$out/$m-$mode.ft" 2>/dev/null
    t2=$(date +%s.%N)
    ./slimnx validate "$ref" "$out/$m-$mode.onnx" --no-latency > "$out/$m-$mode.v0" 2>/dev/null || true
    ./slimnx validate "$ref" "$out/$m-$mode-ft.onnx" --batch 32 --time 20 > "$out/$m-$mode.v1" 2>/dev/null || true
    read -r base pruned < <(top1 "$out/$m-$mode.v0")
    read -r _ tuned < <(top1 "$out/$m-$mode.v1")
    ratios=$(sed -n 's/^| ratio | [^|]* | \([0-9.]*\)× | \([0-9.]*\)× |.*/\1× \2×/p' "$out/$m-$mode.v1")
    lat=$(sed -n 's/^| 32 | \([0-9.]*\) | \([0-9.]*\) | \([^|]*\) |.*/\1 \/ \2|\3/p' "$out/$m-$mode.v1")
    printf '| %s | %s | %s | %s | %s%% | %s%% | %s%% | %s | %s | %.1f | %.1f |\n' "$m" "$mode" \
      "${ratios% *}" "${ratios#* }" "$base" "$pruned" "$tuned" "${lat%%|*}" "${lat#*|}" \
      "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" "$(awk -v a="$t1" -v b="$t2" 'BEGIN { print b - a }')"
  done
done
for m in "${models[@]}"; do
  echo; echo "### $m: --target-params 0.5 --reallocate"; echo '```'
  grep -v '^wrote ' "$out/$m-reallocate.prune"
  echo '```'
done
