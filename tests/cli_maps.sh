#!/bin/sh
# The t-SNE, alignment and viewer commands end to end, for ctest: cli_maps.sh STEP DIR, with VKR_CLI
# (the vkrec binary) and VKR_ASSETS (the bundled sample) in the environment.
#   setup  prepare a small dataset from the bundled sample (1,107 items), embed it and map it (DIR/data)
#   tsne   vkrec tsne on it: N x 2 map and CSV; a .npy input with the FFT method; bad inputs fail clearly
#   align  vkrec align: JSON for the embedding and the map; a map of the wrong shape fails clearly
#   view   vkrec view --screenshot: a non-blank PNG from tsne.npy, RUN_DIR/maps/NAME.npy and --live; errors
# Prints "STEP-ok" on success; any failed check exits non-zero with a message.
set -eu
step=$1
dir=$2
cli=${VKR_CLI:?VKR_CLI must name the vkrec binary}
data=$dir/data

fail() {
    echo "cli_maps.sh $step: $*" >&2
    exit 1
}

# Rows and columns of an .npy file, from its header, as "ROWS, COLS".
npy_shape() {
    head -c 256 "$1" | tr -d '\000' | grep -ao "'shape': ([0-9]*, [0-9]*)" | sed "s/'shape': (\(.*\))/\1/"
}

# Runs vkrec, which reports validation messages on stderr at exit (VKR_VALIDATE=1): any fails the step.
vk() {
    "$cli" "$@" 2>"$dir/$step-stderr.txt" || fail "'vkrec $*' failed: $(cat "$dir/$step-stderr.txt")"
    ! grep -q "validation reported" "$dir/$step-stderr.txt" || fail "'vkrec $*': $(cat "$dir/$step-stderr.txt")"
}

# Runs vkrec with arguments that must fail with `pattern` in the message (and no validation message).
expect_error() {
    pattern=$1
    shift
    if "$cli" "$@" >"$dir/$step-err.txt" 2>&1; then fail "'vkrec $*' succeeded; it should fail"; fi
    grep -q -- "$pattern" "$dir/$step-err.txt" || fail "'vkrec $*' failed without '$pattern': $(cat "$dir/$step-err.txt")"
    ! grep -q "validation reported" "$dir/$step-err.txt" || fail "'vkrec $*': $(cat "$dir/$step-err.txt")"
}

# A PNG whose drawing holds the scatter: a blank 640x480 map compresses to ~12 KB, a drawn one to 35-60 KB.
check_png() {
    [ "$(head -c 4 "$1" | od -An -c | tr -d ' ')" = "211PNG" ] || fail "$1 is not a PNG"
    [ "$(wc -c <"$1")" -gt 20000 ] || fail "$1 is (nearly) blank: $(wc -c <"$1") bytes"
}

case $step in
setup)
    rm -rf "$dir"
    mkdir -p "$dir"
    vk prepare --format llmcdsr "${VKR_ASSETS:?}/food-kitchen-sample" --min-item 7 --min-user 3 \
        --domain-names Food,Kitchen --out "$data" --quiet
    vk embed "$data" --quiet
    vk tsne "$data" --iters 250 --quiet
    ;;
tsne)
    n=$(npy_shape "$data/item_emb.npy" | cut -d, -f1)
    [ -n "$n" ] || fail "cannot read the row count of $data/item_emb.npy"
    vk tsne "$data" --out "$dir/exact.npy" --method exact --iters 300 --quiet
    [ "$(npy_shape "$dir/exact.npy")" = "$n, 2" ] || fail "exact.npy is $(npy_shape "$dir/exact.npy"), not $n x 2"
    [ "$(head -1 "$dir/exact.csv")" = "item,key,domain,title,x,y" ] || fail "exact.csv has no header"
    [ "$(wc -l <"$dir/exact.csv")" -eq $((n + 1)) ] || fail "exact.csv does not have $n rows"
    grep -q ',Kitchen,' "$dir/exact.csv" || fail "exact.csv has no domain names"
    vk tsne "$data/item_emb.npy" --out "$dir/fft.npy" --method fft --iters 250 --quiet
    [ "$(npy_shape "$dir/fft.npy")" = "$n, 2" ] || fail "fft.npy is not $n x 2"
    expect_error "$dir/missing.npy" tsne "$dir/missing.npy" --out "$dir/x.npy"
    # A 1-D float32 .npy of 3 values (header padded to 128 bytes).
    printf '\223NUMPY\001\000\166\000%-117s\n' "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }" >"$dir/flat.npy"
    printf '\000\000\000\000\000\000\000\000\000\000\000\000' >>"$dir/flat.npy"
    expect_error "N x D" tsne "$dir/flat.npy" --out "$dir/x.npy"
    expect_error "--out must end in .npy" tsne "$data" --out "$dir/x.png"
    ;;
align)
    vk align "$data" --json "$dir/align.json" --quiet
    [ "$(grep -o '"space":[^,]*' "$dir/align.json" | tr -d ' \t' | tr '\n' ' ')" = '"space":"embedding" "space":"map" ' ] ||
        fail "align.json lacks the embedding and map entries: $(cat "$dir/align.json")"
    grep -q '"overall"' "$dir/align.json" || fail "align.json has no overall figure"
    expect_error "expected a $(npy_shape "$data/item_emb.npy" | cut -d, -f1) x 2 map" \
        align "$data" --map "$data/item_emb.npy"
    expect_error "item domains are needed" align "$data/item_emb.npy"
    ;;
view)
    vk view "$data" --screenshot "$dir/map.png" --size 640x480 >/dev/null
    check_png "$dir/map.png"
    # The main job's layout: RUN_DIR/maps/NAME.npy, the dataset elsewhere (--data).
    mkdir -p "$dir/run/maps" "$dir/empty"
    cp "$data/tsne.npy" "$dir/run/maps/alt.npy"
    vk view "$dir/run" --data "$data" --map alt --screenshot "$dir/alt.png" --size 640x480 >/dev/null
    check_png "$dir/alt.png"
    # Live t-SNE, headless: the frames are drawn from the callback and the last one is written.
    vk view "$dir/empty" --data "$data" --live --iters 250 --screenshot "$dir/live.png" --size 640x480 >/dev/null
    check_png "$dir/live.png"
    expect_error "need --live" view "$dir/run" --data "$data" --iters 10 --screenshot "$dir/x.png"
    expect_error "no map named 'nosuch'" view "$dir/run" --data "$data" --map nosuch --screenshot "$dir/x.png"
    expect_error "neither a t-SNE map" view "$dir/empty" --screenshot "$dir/x.png"
    ;;
*)
    fail "unknown step (setup, tsne, align, view)"
    ;;
esac
echo "$step-ok"
