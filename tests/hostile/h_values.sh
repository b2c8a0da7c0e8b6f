#!/bin/sh
# Hostile values (issue 13, classes 1, 3 and 8): NaN, +-inf, 1e20 and -1e38 injected at random positions
# of item_emb.npy (tokenize, t-SNE, embed --import), of a trained GenCDR's checkpoint tensors, moments and
# optimizer scalars (recommend, train --resume), out-of-codebook and negative codes in semantic_ids.npy
# (train, recommend), tokenize --codes beyond the items and sampled:N beyond a domain's unseen items. Each
# must fail with a message and leave its inputs as they were; subnormal values are valid controls.
# usage: h_values.sh VKREC SOURCE_DIR
. "$(dirname "$0")/common.sh"
hostile_init values "$1"
SRC=$2

# the tiny fixture: 603 items, 16-d embeddings, 2 x 16 codes, a one-epoch GenCDR with its checkpoints
D=$W/data
"$V" prepare --format llmcdsr "$SRC/assets/food-kitchen-sample" --min-item 10 --min-user 3 \
  --domain-names Food,Kitchen --out "$D" --quiet || exit 1
"$V" embed "$D" --device cpu --dim 16 --quiet || exit 1
TOK="--device cpu --epochs 2 --hidden 32 --latent 8 --codes 16 --levels 2 --quiet"
# shellcheck disable=SC2086
"$V" tokenize "$D" $TOK || exit 1
GEN="--model gencdr --epochs 1 --max-len 8 --hidden 16 --blocks 1 --beam 5 --protocol full --device cpu --quiet"
# shellcheck disable=SC2086
"$V" train "$D" $GEN --ckpt "$W/ck" > /dev/null || exit 1
# shellcheck disable=SC2046
set -- $(head -c 256 "$D/item_emb.npy" | grep -ao "'shape': ([0-9]*, [0-9]*)" | tr -dc '0-9 ')
ITEMS=$1 DIM=$2
for f in item_emb.npy semantic_ids.npy; do cp "$D/$f" "$W/clean-$f"; done
cp -r "$W/ck" "$W/clean-ck"

# float32 little-endian bytes, as printf octal escapes
NAN='\000\000\300\177' INF='\000\000\200\177' NINF='\000\000\200\377' BIG='\354\170\255\140' NBIG='\231\166\226\376'
SUB1='\001\000\000\000' SUB2='\310\252\040\000' # 1e-45 and 3e-39: subnormal, valid
BAD="NAN INF NINF BIG NBIG"
# the kinds a checkpoint refuses (1e20 and -1e38 are finite weights)
NONFINITE="NAN INF NINF"

# put FILE OFFSET BYTES: overwrites bytes (printf escapes) at OFFSET in place.
put() {
  printf "$3" | dd of="$1" bs=1 seek="$2" count=4 conv=notrunc status=none
}

# value NAME: the bytes of one of the values above.
value() {
  eval "printf '%s' \"\$$1\""
}

# rnd VAR N: the next number of the script's sequence in [0, N) into VAR.
rnd() {
  h_rand "$2"
  eval "$1=\$H_R"
}

# pick VAR LIST: a random word of LIST into VAR.
pick() {
  p_var=$1
  set -- $2
  rnd p_k $#
  shift "$p_k"
  eval "$p_var=\$1"
}

# npy_put FILE ROWS COLS ELEMSIZE ROW COL BYTES: one element of a C-order .npy (data at its end).
npy_put() {
  put "$1" $(($(stat -c %s "$1") - $2 * $3 * $4 + ($5 * $3 + $6) * $4)) "$7"
}

# ---- item embeddings: tokenize, t-SNE, embed --import -------------------------------------------
emb_case() { # emb_case FILE KIND: the clean embedding with KIND at a random row $r and column $c
  cp "$W/clean-item_emb.npy" "$1"
  rnd r $ITEMS
  rnd c $DIM
  npy_put "$1" $ITEMS $DIM 4 "$r" "$c" "$(value "$2")"
}
for k in 1 2 3 4 5 6; do
  for kind in $BAD; do
    emb_case "$D/item_emb.npy" "$kind"
    h_guard "$D/item_emb.npy"
    # shellcheck disable=SC2086
    h_fail "tokenize: $kind at item $r, column $c" "$V" tokenize "$D" $TOK
    grep -q "row $r, column $c" "$W/out" || { H_SILENT=$((H_SILENT + 1)); echo "NO POSITION: tokenize $kind"; }
    h_check_guard "tokenize $kind"
  done
done
for kind in SUB1 SUB2; do
  emb_case "$D/item_emb.npy" "$kind"
  # shellcheck disable=SC2086
  h_ok "tokenize: subnormal $kind at item $r, column $c" "$V" tokenize "$D" $TOK
done
cp "$W/clean-item_emb.npy" "$D/item_emb.npy"
# shellcheck disable=SC2086
"$V" tokenize "$D" $TOK || exit 1 # the fixture's IDs again

# embed --import: the file is refused before the dataset's embedding is touched
cp -r "$D" "$W/imp"
for k in 1 2 3; do
  for kind in $BAD; do
    emb_case "$W/in.npy" "$kind"
    h_guard "$W/in.npy" "$W/imp/item_emb.npy"
    h_fail "embed --import: $kind at row $r, column $c" "$V" embed "$W/imp" --import "$W/in.npy" --quiet
    h_check_guard "embed --import $kind"
  done
done
emb_case "$W/in.npy" SUB1
h_ok "embed --import: a subnormal value" "$V" embed "$W/imp" --import "$W/in.npy" --quiet

# t-SNE needs a Vulkan device (lavapipe in CI): no map may be written from a bad input
TSNE="--out $W/map.npy --iters 60 --early-iters 20 --quiet"
if "$V" devices > /dev/null 2>&1; then
  for k in 1 2 3; do
    for kind in $BAD; do
      emb_case "$W/t.npy" "$kind"
      rm -f "$W/map.npy" "$W/map.csv"
      h_guard "$W/t.npy"
      # shellcheck disable=SC2086
      h_fail "tsne: $kind at row $r, column $c" "$V" tsne "$W/t.npy" $TSNE
      [ ! -e "$W/map.npy" ] || { H_SILENT=$((H_SILENT + 1)); echo "MAP WRITTEN: tsne $kind"; }
      h_check_guard "tsne $kind"
    done
  done
  emb_case "$W/t.npy" SUB2
  # shellcheck disable=SC2086
  h_ok "tsne: a subnormal value" "$V" tsne "$W/t.npy" $TSNE
fi

# ---- checkpoints: parameters, moments, optimizer scalars ----------------------------------------
# st_tensors FILE: "name begin end" of every F32 tensor, data offsets relative to the data buffer.
st_tensors() {
  n=$(od -An -tu8 -N8 "$1" | tr -d ' ')
  head -c $((8 + n)) "$1" | tail -c +9 | tr '}' '\n' |
    sed -n 's/^[,{]*"\([^"]*\)":{"dtype":"F32","shape":\[[0-9,]*\],"data_offsets":\[\([0-9]*\),\([0-9]*\)\]$/\1 \2 \3/p'
}
# st_put FILE NAME ELEM BYTES: one float of a tensor (re-signed: the digest must not be what refuses it)
st_put() {
  n=$(od -An -tu8 -N8 "$1" | tr -d ' ')
  b=$(head -c $((8 + n)) "$1" | tail -c +9 | tr '}' '\n' |
    sed -n "s/^[,{]*\"$2\":{\"dtype\":\"[A-Z0-9]*\",\"shape\":\[[0-9,]*\],\"data_offsets\":\[\([0-9]*\),.*/\1/p")
  put "$1" $((8 + n + b + $3 * 4)) "$4"
  h_sign "$1" "$1"
}
ck_case() { # ck_case FILE KIND: a bad value in a random element of a random F32 tensor of checkpoint FILE
  rm -rf "$W/ck"
  cp -r "$W/clean-ck" "$W/ck"
  st_tensors "$W/ck/gencdr/$1" > "$W/tensors"
  rnd j "$(wc -l < "$W/tensors")"
  set -- "$1" "$2" $(sed -n "$((j + 1))p" "$W/tensors")
  t=$3
  rnd e $((($5 - $4) / 4))
  st_put "$W/ck/gencdr/$1" "$t" "$e" "$(value "$2")"
}
for k in 1 2 3 4 5 6; do
  for kind in $NONFINITE; do
    ck_case best.safetensors "$kind"
    h_guard "$W/ck/gencdr/best.safetensors"
    h_fail "recommend: $kind in $t[$e]" "$V" recommend --ckpt "$W/ck/gencdr" --user '#0' --k 3 --device cpu
    grep -q "$t" "$W/out" || { H_SILENT=$((H_SILENT + 1)); echo "TENSOR NOT NAMED: $t"; }
    h_check_guard "recommend $kind"
  done
done
for k in 1 2 3 4 5 6; do
  for kind in $NONFINITE; do
    pick f "last.safetensors best.safetensors"
    ck_case "$f" "$kind"
    h_guard "$W/ck/gencdr/last.safetensors" "$W/ck/gencdr/best.safetensors"
    # shellcheck disable=SC2086
    h_fail "train --resume: $kind in $f $t[$e]" "$V" train "$D" $GEN --epochs 2 --ckpt "$W/ck" --resume
    h_check_guard "train --resume $kind"
  done
done
for word in 1 2 3; do # lr, beta1^t, beta2^t of optim.scalars
  rm -rf "$W/ck"
  cp -r "$W/clean-ck" "$W/ck"
  pick kind "$NONFINITE"
  st_put "$W/ck/gencdr/last.safetensors" optim.scalars "$word" "$(value "$kind")"
  h_guard "$W/ck/gencdr/last.safetensors"
  # shellcheck disable=SC2086
  h_fail "train --resume: optimizer scalar $word" "$V" train "$D" $GEN --epochs 2 --ckpt "$W/ck" --resume
  h_check_guard "train --resume scalar $word"
done
for kind in SUB1 SUB2; do
  ck_case best.safetensors "$kind"
  h_ok "recommend: subnormal $kind in $t[$e]" "$V" recommend --ckpt "$W/ck/gencdr" --user '#0' --k 3 --device cpu
done

# ---- semantic IDs outside the tokenizer's codebooks ---------------------------------------------
vocab=$(tr -d ' \t\n' < "$D/tokenizer.json" | sed 's/.*"token_vocab":\[\([0-9,]*\)\].*/\1/')
WIDTH=$(echo "$vocab" | tr ',' '\n' | wc -l)
for k in $(seq 1 16); do
  cp "$W/clean-semantic_ids.npy" "$D/semantic_ids.npy"
  rnd i $ITEMS
  rnd l "$WIDTH"
  size=$(echo "$vocab" | cut -d, -f$((l + 1)))
  rnd code $((65536 - size))
  code=$((size + code))
  npy_put "$D/semantic_ids.npy" $ITEMS "$WIDTH" 2 "$i" "$l" "$(printf '\\%03o\\%03o' $((code % 256)) $((code / 256)))"
  h_guard "$D/semantic_ids.npy" "$D/tokenizer.json"
  if [ $((k % 4)) -eq 1 ]; then
    h_fail "trie: code $code at item $i, level $((l + 1))" "$V" trie "$D"
  elif [ $((k % 2)) -eq 0 ]; then
    # shellcheck disable=SC2086
    h_fail "train: code $code at item $i, level $((l + 1))" "$V" train "$D" $GEN
  else
    h_fail "recommend: code $code at item $i, level $((l + 1))" "$V" recommend --ckpt "$W/clean-ck/gencdr" \
      --user '#0' --k 3 --device cpu
  fi
  # recommend may refuse earlier, by the checkpoint's fingerprint of the IDs it was trained on
  grep -q "item $i \|trained on other semantic IDs" "$W/out" || { H_SILENT=$((H_SILENT + 1)); echo "ITEM NOT NAMED: $i"; }
  h_check_guard "semantic IDs code $code"
done
# negative codes: the same file as int16 with a -1
for k in 1 2 3 4; do
  cp "$W/clean-semantic_ids.npy" "$D/semantic_ids.npy"
  at=$(grep -abo "<u2" "$D/semantic_ids.npy" | head -1 | cut -d: -f1)
  printf '<i2' | dd of="$D/semantic_ids.npy" bs=1 seek="$at" conv=notrunc status=none
  rnd i $ITEMS
  rnd l "$WIDTH"
  npy_put "$D/semantic_ids.npy" $ITEMS "$WIDTH" 2 "$i" "$l" '\377\377'
  h_guard "$D/semantic_ids.npy"
  # shellcheck disable=SC2086
  h_fail "train: a negative code (int16)" "$V" train "$D" $GEN
  h_check_guard "semantic IDs negative"
done
cp "$W/clean-semantic_ids.npy" "$D/semantic_ids.npy"
h_ok "recommend: the clean IDs" "$V" recommend --ckpt "$W/clean-ck/gencdr" --user '#0' --k 3 --device cpu

# ---- out-of-range work: codes beyond the items, sampled:N beyond a domain's unseen items -----------
for k in 1 2 3 4; do
  rnd codes $((65535 - ITEMS))
  codes=$((ITEMS + 1 + codes))
  h_guard "$D/item_emb.npy" "$D/semantic_ids.npy"
  h_fail "tokenize --codes $codes on $ITEMS items" "$V" tokenize "$D" --codes "$codes" --device cpu --quiet
  grep -q "at most $ITEMS codes" "$W/out" || { H_SILENT=$((H_SILENT + 1)); echo "NO BOUND: --codes $codes"; }
  h_check_guard "tokenize --codes $codes"
done
for k in 1 2 3 4; do
  rnd n 5000
  n=$((ITEMS + 1 + n)) # more than any domain holds
  h_fail "train pop --protocol full,sampled:$n" "$V" train "$D" --model pop --protocol "full,sampled:$n" --quiet
  grep -q "N <= " "$W/out" || { H_SILENT=$((H_SILENT + 1)); echo "NO LIMIT: sampled:$n"; }
done
h_ok "train pop --protocol sampled:100" "$V" train "$D" --model pop --protocol sampled:100 --quiet
hostile_finish
