# Shared by the hostile-input campaign (tests/hostile/h_*.sh): each script generates its cases from a
# fixed seed, runs vkrec on them and counts the three failure classes of issue 13:
#   crash  - killed by a signal, a sanitizer report, or over the time limit;
#   silent - bad input accepted (exit 0) or an error without a message;
#   lost   - an input file changed by the command that read it.
# A script sources this file, calls hostile_init NAME VKREC, runs cases and ends with hostile_finish.
# Runs under plain sh (dash).

# hostile_init NAME VKREC: sets $V (the binary) and $W (a scratch directory removed at exit).
hostile_init() {
  H_NAME=$1
  V=$2
  W=$(mktemp -d)
  trap 'rm -rf "$W"' EXIT
  H_CASES=0 H_CRASH=0 H_SILENT=0 H_LOST=0
  H_SEED=${HOSTILE_SEED:-1}
  H_LIMIT=${HOSTILE_TIMEOUT:-60}
}

# h_rand N: sets H_R to a pseudo-random integer in [0, N) from the script's own deterministic sequence.
# (A variable, not output: inside $(...) the sequence would not advance.)
h_rand() {
  H_SEED=$(( (H_SEED * 1103515245 + 12345) % 2147483648 ))
  H_R=$(( (H_SEED / 65536) % $1 ))
}

# h_run DESC CMD...: runs CMD with the time limit; stores its exit status in H_RC, output in $W/out.
h_run() {
  h_desc=$1
  shift
  timeout -s KILL "$H_LIMIT" "$@" > "$W/out" 2>&1
  H_RC=$?
  H_CASES=$((H_CASES + 1))
  if [ "$H_RC" -ge 124 ] || grep -q 'Sanitizer\|runtime error:' "$W/out"; then
    H_CRASH=$((H_CRASH + 1))
    echo "CRASH ($H_RC): $h_desc"
    tail -5 "$W/out"
    return 1
  fi
  return 0
}

# h_fail DESC CMD...: CMD must fail (exit 1 or 2) with a message on its output.
h_fail() {
  h_run "$@" || return 0
  if [ "$H_RC" -eq 0 ] || [ ! -s "$W/out" ]; then
    H_SILENT=$((H_SILENT + 1))
    echo "SILENT (exit $H_RC): $1"
  fi
}

# h_ok DESC CMD...: CMD must succeed (a case of valid input, kept to show the checks do not over-reject).
h_ok() {
  h_run "$@" || return 0
  if [ "$H_RC" -ne 0 ]; then
    H_SILENT=$((H_SILENT + 1))
    echo "REJECTED VALID INPUT (exit $H_RC): $1"
    tail -3 "$W/out"
  fi
}

# h_guard PATH...: records checksums of inputs; h_check_guard counts a case whose inputs changed.
h_guard() {
  sha256sum "$@" > "$W/guard.sha"
}
h_check_guard() {
  if ! sha256sum -c --quiet "$W/guard.sha" > /dev/null 2>&1; then
    H_LOST=$((H_LOST + 1))
    echo "LOST INPUT: $1"
  fi
}

# h_flip FILE OFFSET BIT: flips one bit of FILE in place.
h_flip() {
  h_byte=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
  printf "$(printf '\\%03o' $((h_byte ^ (1 << $3))))" |
    dd of="$1" bs=1 seek="$2" count=1 conv=notrunc status=none
}

# h_sign IN OUT [KEY VALUE]: copies checkpoint IN to OUT with metadata KEY set to VALUE ("-": dropped)
# and vkrec's digest recomputed (graph/vkr_safetensors.h), so that a deliberately damaged value or
# header reaches the checks behind the digest. Needs python3.
h_sign() {
  python3 - "$@" <<'EOF'
import json, struct, sys
src, dst, edit = sys.argv[1], sys.argv[2], sys.argv[3:]
raw = open(src, 'rb').read()
n = struct.unpack('<Q', raw[:8])[0]
data = raw[8 + n:]
DT = ['F32', 'F16', 'BF16', 'F64', 'I8', 'I16', 'I32', 'I64', 'U8', 'U16', 'U32', 'U64', 'BOOL']
def fnv(h, b):
    for c in b:
        h = ((h ^ c) * 0x100000001b3) & 0xffffffffffffffff
    return h
head = json.loads(raw[8:8 + n])
meta = head.setdefault('__metadata__', {})
meta.pop('vkrec.digest', None)
if edit and edit[1] == '-':
    meta.pop(edit[0], None)
elif edit:
    meta[edit[0]] = edit[1]
h = 0xcbf29ce484222325
for k, v in meta.items():
    h = fnv(h, k.encode() + b'\0' + v.encode() + b'\0')
for name, t in head.items():
    if name != '__metadata__':
        fields = [DT.index(t['dtype']), len(t['shape']), t['data_offsets'][0]] + t['shape']
        h = fnv(h, name.encode() + b'\0' + b''.join(struct.pack('<Q', f) for f in fields))
meta['vkrec.digest'] = 'fnv1a64:%016x' % fnv(h, data)
text = json.dumps(head, separators=(',', ':')).encode()
text += b' ' * (-len(text) % 8)
open(dst, 'wb').write(struct.pack('<Q', len(text)) + text + data)
EOF
}

# hostile_finish: prints the counts and fails when any case crashed, passed silently or lost input.
hostile_finish() {
  echo "hostile $H_NAME: $H_CASES cases, $H_CRASH crashes, $H_SILENT silent, $H_LOST lost"
  [ $((H_CRASH + H_SILENT + H_LOST)) -eq 0 ] && echo hostile-ok
}
