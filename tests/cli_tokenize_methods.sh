#!/bin/sh
# vkrec tokenize --method rqvae|rkmeans|random|term on the bundled sample: each writes unique IDs and
# a tokenizer.json naming its method with the collisions before and after the uniform mapping
# (--no-balance keeps the nearest codes); rkmeans keeps its codebooks, random and term remove the
# previous scheme's weights; term lists its vocabulary and the first items' terms; GenCDR trains and
# decodes on every scheme's IDs, also with its training tasks (item2index, index2item, collab); random
# IDs need no embedding, term IDs none without --neighbors; vkrec ablate ids tabulates schemes x task mixes.
# usage: cli_tokenize_methods.sh VKREC SOURCE_DIR
. "$(dirname "$0")/cli_sample.sh"
fail() { echo "FAIL: $*"; exit 1; }
# random IDs read no embedding, nor term IDs without neighbours
"$V" tokenize "$D" --method random --device cpu --quiet
[ -f "$D/tokenizer.safetensors" ] && fail "random IDs wrote weights"
"$V" tokenize "$D" --method term --neighbors 0 --device cpu --quiet
if "$V" tokenize "$D" --method term --device cpu > "$d/out" 2>&1; then fail "term IDs found neighbours without item_emb.npy"; fi
grep -q "item_emb.npy" "$d/out" || fail "the missing embedding is not named: $(cat "$d/out")"
"$V" embed "$D" --source text --device cpu --quiet
small="--epochs 1 --patience 0 --hidden 16 --max-len 8 --blocks 1 --beam 5 --protocol full --device cpu --quiet"
for m in rqvae rkmeans random term; do
  "$V" tokenize "$D" --method $m --epochs 2 --device cpu > "$d/$m.out"
  tr -d ' \t\n' < "$D/tokenizer.json" > "$d/j"
  grep -q "\"method\":\"$m\"" "$d/j" || fail "$m: tokenizer.json does not name its method"
  grep -q '"collision_rate":' "$d/j" || fail "$m: no collision rate"
  case $m in
    random|term)
      grep -q 'before_uniform_mapping' "$d/j" && fail "$m: reports a uniform mapping"
      [ -f "$D/tokenizer.safetensors" ] && fail "$m: the previous scheme's weights were kept"
      if [ $m = term ]; then
        grep -q '"settings":{"levels":5,' "$d/j" || fail "term: not GRLM's five terms by default"
        grep -q '"terms":\["' "$d/j" || fail "term: no vocabulary"
        grep -q '"examples":\[{"item":' "$d/j" || fail "term: no examples"
        grep -q '<pad>"\]' "$d/j" || fail "term: the pad token does not end the vocabulary"
      fi;;
    *)
      grep -q '"before_uniform_mapping":{"collision_rate":' "$d/j" || fail "$m: no collisions before the mapping"
      grep -q 'before the uniform mapping' "$d/$m.out" || fail "$m: the report omits the collisions before the mapping"
      [ -f "$D/tokenizer.safetensors" ] || fail "$m: no weights";;
  esac
  "$V" train "$D" --model gencdr $small --json "$d/g-$m.json"
  tr -d ' \t\n' < "$d/g-$m.json" | grep -q '"model":"gencdr","domain":"Food","protocol":"full"' \
    || fail "$m: GenCDR did not evaluate on these IDs"
done
# GenCDR's training tasks on the last IDs: labelled, and the checkpoint (without the tasks' heads)
# recommends; seqrec is required, and the tasks are GenCDR's alone
"$V" train "$D" --model gencdr $small --tasks seqrec,item2index,index2item,collab --ckpt "$d/ck" --json "$d/t.json"
tr -d ' \t\n' < "$d/t.json" | grep -q '"model":"gencdr+item2index+index2item+collab"' || fail "the tasks are not in the label"
"$V" recommend --ckpt "$d/ck/gencdr+item2index+index2item+collab" --user '#0' --k 5 --device cpu --quiet > "$d/rec.txt"
[ -s "$d/rec.txt" ] || fail "no recommendations from a multi-task checkpoint"
if "$V" train "$D" --model gencdr $small --tasks item2index > "$d/out" 2>&1; then fail "--tasks without seqrec ran"; fi
grep -q "seqrec" "$d/out" || fail "the missing seqrec is not named"
if "$V" train "$D" --model sasrec $small --tasks seqrec,collab > "$d/out" 2>&1; then fail "SASRec took --tasks"; fi
grep -q "GenCDR's" "$d/out" || fail "the refusal does not name GenCDR"
# GenCDR's adapters: the router's weights per domain and the items the adapters moved
"$V" tokenize "$D" --adapters --epochs 2 --codes 64 --device cpu > "$d/ad.out"
tr -d ' \t\n' < "$D/tokenizer.json" > "$d/j"
grep -q '"router":{"experts":\["universal","Food","Kitchen"\],"mean_weights":{"Food":\[' "$d/j" || fail "no router report"
grep -q '"items_changed_by_adapters":' "$d/j" || fail "no count of the items the adapters changed"
grep -q 'router, Kitchen items: universal' "$d/ad.out" || fail "the routing weights are not printed"
# --no-balance keeps the nearest codes: the same collisions before and after
"$V" tokenize "$D" --method rkmeans --no-balance --device cpu --quiet
tr -d ' \t\n' < "$D/tokenizer.json" > "$d/j"
grep -q 'before_uniform_mapping' "$d/j" && fail "--no-balance reports a uniform mapping"
# vkrec ablate ids: every scheme x task mix in one table, a row each, with the tokenizer's figures
"$V" ablate ids "$D" --out "$d/ab" --schemes random,term,rqvae+adapters --tokenizer-epochs 2 --codes 64 --task-mixes "seqrec;seqrec,collab" $small
[ "$(grep -c '^| random | seqrec\|^| term | seqrec' "$d/ab/ablate-ids.md")" -eq 4 ] || fail "ablate-ids.md lacks rows: $(cat "$d/ab/ablate-ids.md")"
tr -d ' \t\n' < "$d/ab/ablate-ids.json" | grep -q '"scheme":"term","tasks":"seqrec,collab","collision_rate":' \
  || fail "ablate-ids.json lacks the term row"
tr -d ' \t\n' < "$d/ab/ablate-ids.json" | grep -q '"complete":true' || fail "the finished ablate-ids.json is not complete"
[ -f "$d/ab/ids-term/semantic_ids.npy" ] || fail "the term scheme's IDs are not in its directory"
if "$V" ablate ids "$D" --out "$d/ab" --task-mixes "collab" $small > "$d/out" 2>&1; then fail "a mix without seqrec ran"; fi
grep -q -- "--task-mixes: seqrec (next-item prediction, what the model is evaluated on) must be one of the tasks" "$d/out" || fail "the mix without seqrec is not named"
if "$V" ablate nothing "$D" $small > "$d/out" 2>&1; then fail "ablate nothing ran"; fi
# unknown methods are usage errors naming the choices
if "$V" tokenize "$D" --method frob > "$d/out" 2>&1; then fail "an unknown method was accepted"; fi
grep -q "rqvae, rkmeans, random" "$d/out" || fail "the choices are not named: $(cat "$d/out")"
echo tokenize-methods-ok
