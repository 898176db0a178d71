#!/bin/sh
# Outputs do not depend on the thread count: a cross-section of the zoo
# (every family, folded and BatchNorm-kept exports, a dynamic-batch one,
# a TensorFlow-style graph) runs its first data set at 1, 2 and 3 threads,
# at the CPU's best instruction set and at AVX2 where the CPU has it, and
# every output file must be the same bytes as at one thread.  The exports
# are the zoo's (keel zoo export; cached under $KEEL_CACHE).
keel="${KEEL:-./cli/keel}"
entries="${KEEL_DETERMINISM_ENTRIES:-resnet18 resnet50 vgg16 googlenet inception_v3 inception_resnet_v2 \
darknet19 mobilenet_v2 mobilenet_v3_small mobilenet_v3_large_op11_nofold squeezenet1_1 shufflenet_v2_x1_0 \
shufflenet_v1_g3 efficientnet_b0 efficientnet_b0_op17_nofold resnet18_dyn3 tf_resnet50 tf_mobilenet_v2 \
convnext_tiny swin_t vit_b_16}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/keel-determinism.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
# shellcheck disable=SC2086
cases=$("$keel" zoo export $entries | awk '{print $2}')
[ -n "$cases" ] || { echo "determinism: nothing exported"; exit 1; }
isas="auto"
"$keel" check --list-isas | grep -qw avx2 && isas="auto avx2"
runs=0 differ=0
for c in $cases; do
    name=$(basename "$c")
    before=$differ
    for isa in $isas; do
        for t in 1 2 3; do
            OPENBLAS_NUM_THREADS=1 "$keel" run "$c/model.onnx" -i "$c/test_data_set_0/input_0.pb" \
                -o "$tmp/$t" --threads "$t" --isa "$isa" >/dev/null 2>"$tmp/err" ||
                { echo "determinism: $name at $t threads ($isa) failed:"; cat "$tmp/err"; exit 1; }
            runs=$((runs + 1))
        done
        for f in "$tmp"/1/*.pb; do
            for t in 2 3; do
                if ! cmp -s "$f" "$tmp/$t/$(basename "$f")"; then
                    echo "FAIL $name ($isa): $(basename "$f") at $t threads differs from one thread"
                    differ=$((differ + 1))
                fi
            done
        done
        rm -rf "$tmp/1" "$tmp/2" "$tmp/3"
    done
    [ "$differ" -eq "$before" ] && echo "ok   $name: the same bytes at 1, 2 and 3 threads ($isas)"
done
echo "determinism: $(echo "$cases" | wc -l) models, $runs runs, $differ outputs that differ"
[ "$differ" -eq 0 ]
