#!/usr/bin/env bash
# Plugin bodies are single-quoted on purpose; checks read as "test && ok || bad".
# shellcheck disable=SC2016,SC1003
# test-sdk.sh: checks of rune.sh (the Bash SDK) against jq.
#
# Usage: actions/lib/test-sdk.sh [-v]
# Needs bash >= 4.4, coreutils and jq (jq only here, never in plugins).
# Exits 0 when every check passes, 1 otherwise. Not part of any action bundle.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SDK=$HERE/rune.sh
VERBOSE=${1-}
command -v jq >/dev/null || {
    echo "test-sdk.sh: jq is required to run the SDK tests" >&2
    exit 2
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/rune-sdk-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/lib" "$WORK/p"
cp "$SDK" "$WORK/lib/rune.sh"

PASS=0
FAIL=0
ok() {
    PASS=$((PASS + 1))
    [[ $VERBOSE != -v ]] || printf 'ok   %s\n' "$1"
}
bad() {
    FAIL=$((FAIL + 1))
    printf 'FAIL %s\n' "$1"
    [[ -z ${2-} ]] || printf '     %s\n' "$2"
}
check() { # NAME COMMAND...: passes when COMMAND succeeds
    local name=$1
    shift
    if "$@"; then ok "$name"; else bad "$name"; fi
}

# --- fixtures -------------------------------------------------------------

EXAMPLE=/work/shared/examples/bpcs-input.json
if [[ ! -f $EXAMPLE ]]; then
    EXAMPLE=$WORK/example.json
    cat >"$EXAMPLE" <<'JSON'
{"message_metadata":{"version":"1.0","message_id":"01937a52-9c1e-7c2a-8f3d-2b7e5a1c4d90","correlation_id":"01937a52-9c1d-7b11-a0c4-6f1e2d3c4b5a","created_at":"2026-11-24T03:12:45.118Z"},"payload":{"input_parameters":{"unit":"nginx.service","lines":200,"follow_redirects":false},"context":{"node":"web-1","triggered_by":"console","requested_by":"alice@ops-laptop","action":"tail-logs","incident_id":"01937a40-0f00-7a00-b000-000000000001","transport":"ssh"}},"observability":{"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7"}}
JSON
fi

# envelope PARAMS_JSON [jq flags]: the example envelope with other parameters.
envelope() {
    local params=$1
    shift
    jq "$@" --argjson p "$params" '.payload.input_parameters = $p' "$EXAMPLE"
}

# plugin BODY: writes $WORK/p/run.sh with the SDK sourced as a real entry does.
plugin() {
    {
        printf '#!/usr/bin/env bash\nset -euo pipefail\n'
        printf 'source "$(dirname "${BASH_SOURCE[0]}")/../lib/rune.sh"\n'
        printf '%s\n' "$1"
    } >"$WORK/p/run.sh"
}

# run INPUT_FILE: runs the plugin from its folder; sets OUT, ERR, RC.
run() {
    RC=0
    (cd "$WORK/p" && bash ./run.sh <"$1" >"$WORK/out" 2>"$WORK/err") || RC=$?
    OUT=$(cat "$WORK/out")
    ERR=$(cat "$WORK/err")
}

# one_object: stdout is exactly one JSON object (jq -s sees one value).
one_object() {
    [[ $(jq -s 'length' "$WORK/out" 2>/dev/null) == 1 ]] &&
        [[ $(jq -r 'type' "$WORK/out" 2>/dev/null) == object ]]
}

# shape_ok: the BPCS output rules (success xor error, exit status agrees).
shape_ok() {
    one_object || return 1
    jq -e --argjson rc "$RC" '
      (.message_metadata.version == "1.0")
      and (.message_metadata.created_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$"))
      and (has("observability"))
      and (if $rc == 0
           then .payload.result == "success" and (.payload.output_data | type) == "object" and .error == null
           else .payload == null and (.error.code | type) == "number"
                and (.error.message | type) == "string" and (.error.details | type) == "object" end)
    ' "$WORK/out" >/dev/null
}

expect_error() { # NAME CODE EXIT [MESSAGE-PHRASE]
    if shape_ok && [[ $RC == "$3" ]] && [[ $(jq -r .error.code "$WORK/out") == "$2" ]] &&
        [[ -z ${4-} || $(jq -r .error.message "$WORK/out") == *"$4"* ]]; then
        ok "$1"
    else
        bad "$1" "rc=$RC out=${OUT:0:400} err=${ERR:0:300}"
    fi
}

expect_success() { # NAME [JQ-FILTER that must be true]
    if shape_ok && [[ $RC == 0 ]] && jq -e "${2:-true}" "$WORK/out" >/dev/null; then
        ok "$1"
    else
        bad "$1" "rc=$RC out=${OUT:0:400} err=${ERR:0:300}"
    fi
}

# --- 1. rune_json_str round trips ----------------------------------------

# shellcheck source=rune.sh
source "$SDK"

roundtrip() { # NAME STRING [EXPECTED]: JSON-encode, decode with jq, compare bytes
    local name=$1 s=$2 want=${3-$2}
    rune_json_str "$s" >"$WORK/enc"
    if ! jq -e 'type == "string"' "$WORK/enc" >/dev/null 2>&1; then
        bad "json_str $name: not a JSON string" "$(head -c 300 "$WORK/enc" | od -c | head -5)"
        return
    fi
    printf '%s' "$want" >"$WORK/want"
    jq -j . "$WORK/enc" >"$WORK/got"
    if cmp -s "$WORK/want" "$WORK/got"; then
        ok "json_str $name"
    else
        bad "json_str $name: round trip differs" "$(head -c 200 "$WORK/enc")"
    fi
}

FFFD=$'\xef\xbf\xbd'
roundtrip empty ''
roundtrip plain 'hello world'
roundtrip quotes 'say "hi" ""'
roundtrip backslashes 'C:\path\to\ \\ end\'
roundtrip escape-lookalikes '\n \t \u0041 \"'
roundtrip newlines $'line1\nline2\n\n'
roundtrip tabs-cr $'a\tb\r\nc'
roundtrip esc $'\x1b[31mred\x1b[0m'
roundtrip ctl-01 $'\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x10\x1f'
roundtrip del $'x\x7fy'
roundtrip unicode 'ünïcødé ✓ 日本'
roundtrip emoji '😀 🚀 👩‍💻 🇫🇷'
roundtrip mixed $'"\\\n\t\x1b ✓ 😀 \x7f'
roundtrip dollar-backtick 'a $HOME `id` $(id) & * ? [x]'
roundtrip ampersand 'a & b && c'
roundtrip invalid-ff $'a\xffb' "a${FFFD}b"
roundtrip invalid-lone-lead $'x\xc3' "x${FFFD}"
roundtrip invalid-truncated3 $'\xe2\x82 ok' "${FFFD}${FFFD} ok"
roundtrip invalid-overlong $'\xc0\xaf' "${FFFD}${FFFD}"
roundtrip invalid-surrogate $'\xed\xa0\x80' "${FFFD}${FFFD}${FFFD}"
roundtrip invalid-too-big $'\xf4\x90\x80\x80' "${FFFD}${FFFD}${FFFD}${FFFD}"
roundtrip invalid-cont-only $'\x80\xbf' "${FFFD}${FFFD}"
roundtrip invalid-mixed $'✓\xff✓\xfe"' "✓${FFFD}✓${FFFD}\""

# Under a UTF-8 locale too (the SDK switches to byte semantics itself).
for loc in C.UTF-8 C.utf8; do
    if LC_ALL=$loc bash -c 'source "$1"; rune_json_str "$2"' _ "$SDK" $'ü"\x01\xff' 2>/dev/null >"$WORK/enc"; then
        if [[ $(jq -j . "$WORK/enc") == "ü\""$'\x01'"${FFFD}" ]]; then ok "json_str under $loc"; else bad "json_str under $loc"; fi
        break
    fi
done

# Big strings: ~1 MiB, chunked internally; must stay correct and reasonably fast.
big=''
for ((i = 0; i < 14000; i++)); do
    big+="line $i \"quoted\" back\\slash tab"$'\t'"ünïcødé ✓ 日本 😀 ctl"$'\x01'" end"$'\n'
done
LC_ALL=C
echo "big string: ${#big} bytes"
SECONDS=0
roundtrip big-1MiB "$big"
t=$SECONDS
if ((t <= 10)); then ok "json_str big-1MiB took ${t}s"; else bad "json_str big-1MiB too slow: ${t}s"; fi
big_bad=${big//日/$'\xff'}
SECONDS=0
roundtrip big-invalid "$big_bad" "${big//日/$FFFD}"
t=$SECONDS
if ((t <= 20)); then ok "json_str big-invalid took ${t}s"; else bad "json_str big-invalid too slow: ${t}s"; fi
single=$(head -c 600000 /dev/zero | tr '\0' 'x')
roundtrip big-single-line "${single}\"✓\"${single}"

# --- 2. builders ------------------------------------------------------------

jeq() { # NAME JSON JQ-EXPECTED: JSON must equal the jq expression's value
    if jq -e --argjson got "$2" "\$got == ($3)" -n >/dev/null 2>&1; then ok "$1"; else bad "$1" "got: $2"; fi
}
for n in 0 -0 1 -1 3.25 1e3 1E-3 -2.5e+10 123456789012345678901234567890; do
    if [[ $(rune_json_num "$n") == "$n" ]]; then ok "json_num accepts $n"; else bad "json_num accepts $n"; fi
done
for n in '' 01 1. .5 +1 0x1 1e 'NaN' 'inf' '1 2' '-' '1,5' 42%; do
    if rune_json_num "$n" >/dev/null 2>&1; then bad "json_num rejects '$n'"; else ok "json_num rejects '$n'"; fi
done
jeq "obj/kv" "$(rune_obj "$(rune_kv_str 'k"1' $'v\n')" "" "$(rune_kv_num n -4.5)" "$(rune_kv_bool b 0)" \
    "$(rune_kv_null z)" "$(rune_kv_num e '')" "$(rune_kv_str_or_null s '')" "$(rune_kv_str_or_null s2 x)" \
    "$(rune_kv_raw r '{"a":[1,2]}')")" '{"k\"1":"v\n","n":-4.5,"b":false,"z":null,"e":null,"s":null,"s2":"x","r":{"a":[1,2]}}'
jeq "obj empty" "$(rune_obj)" '{}'
# The _to forms assign instead of printing, whatever the variable is called
# (names the SDK uses inside must not shadow the caller's).
for var in out a b i k tok ip v; do
    rune_kv_str_to m1 'k"1' $'v\n'
    rune_kv_raw_to m2 r '{"a":[1,2]}'
    rune_obj_to "$var" "$m1" "" "$m2"
    jeq "obj_to into \$$var" "${!var}" '{"k\"1":"v\n","r":{"a":[1,2]}}'
done
if rune_kv_raw_to m3 r '' 2>/dev/null; then bad "kv_raw_to refuses empty JSON"; else ok "kv_raw_to refuses empty JSON"; fi
jeq "arr" "$(rune_arr 1 '' '"a"' '{}')" '[1,"a",{}]'
jeq "strs" "$(rune_strs a 'b"c' '' $'\t')" '["a","b\"c","","\t"]'
jeq "strs none" "$(rune_strs)" '[]'
jeq "str_array" "$(printf 'one\n"two"\n\nlast-no-newline' | rune_str_array)" '["one","\"two\"","","last-no-newline"]'
jeq "str_array crlf" "$(printf 'a\r\nb\r\n' | rune_str_array)" '["a\r","b\r"]'
jeq "str_array empty" "$(rune_str_array </dev/null)" '[]'
jeq "str_array one empty line" "$(printf '\n' | rune_str_array)" '[""]'
jeq "str_array two empty lines" "$(printf '\n\n' | rune_str_array)" '["",""]'
if rune_kv_num x 1.2.3 >/dev/null 2>&1; then bad "kv_num rejects 1.2.3"; else ok "kv_num rejects 1.2.3"; fi
if rune_kv_bool x maybe >/dev/null 2>&1; then bad "kv_bool rejects maybe"; else ok "kv_bool rejects maybe"; fi

# rune_truncate keeps whole UTF-8 characters.
v='aé日😀'
rune_truncate v 4
if [[ $v == 'aé' && $RUNE_TRUNCATED == true ]]; then ok "truncate utf-8 boundary"; else bad "truncate utf-8 boundary" "$v"; fi
v='abc'
rune_truncate v 10
if [[ $v == abc && $RUNE_TRUNCATED == false ]]; then ok "truncate no-op"; else bad "truncate no-op"; fi
v='日本'
rune_truncate v 5
if [[ $v == '日' ]]; then ok "truncate mid-sequence"; else bad "truncate mid-sequence" "$v"; fi

# rune_now
if [[ $(rune_now) =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$ ]]; then ok "now format"; else bad "now format" "$(rune_now)"; fi

# --- 3. reading input -------------------------------------------------------

plugin 'rune_read_input
rune_success "$(rune_obj "$(rune_kv_raw params "$(rune_params_json)")" \
  "$(rune_kv_str node "$RUNE_NODE")" "$(rune_kv_str action "$RUNE_ACTION")" \
  "$(rune_kv_str mid "$RUNE_MESSAGE_ID")" "$(rune_kv_str trace "$RUNE_TRACE_ID")")"'

jq -c . "$EXAMPLE" >"$WORK/in.json"
exp_common='.payload.output_data.params == {"unit":"nginx.service","lines":200,"follow_redirects":false}
  and .payload.output_data.node == "web-1" and .payload.output_data.action == "tail-logs"
  and .payload.output_data.mid == "01937a52-9c1e-7c2a-8f3d-2b7e5a1c4d90"
  and .message_metadata.message_id == "01937a52-9c1e-7c2a-8f3d-2b7e5a1c4d90"
  and .message_metadata.correlation_id == "01937a52-9c1d-7b11-a0c4-6f1e2d3c4b5a"
  and .observability == {"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7"}'
run "$WORK/in.json"
expect_success "example compact" "$exp_common"
cp "$EXAMPLE" "$WORK/in.json"
run "$WORK/in.json"
expect_success "example pretty-printed" "$exp_common"
jq --indent 7 . "$EXAMPLE" | sed 's/^/\t /; s/:/ \r\n:  /' >"$WORK/in.json"
run "$WORK/in.json"
expect_success "example odd whitespace (tabs, CRLF, space before colon)" "$exp_common"
if [[ $(head -c 5 "$WORK/out") == '{"mes' ]]; then ok "stdout starts with the object"; else bad "stdout starts with the object"; fi

# Parameters with nasty strings, compact, pretty, and all-ASCII (\uXXXX, surrogate pairs).
plugin 'rune_read_input
rune_param_to s s
printf "%s" "$s" > "$OUTFILE"
rune_success'
nasty=$'q"uote b\\ack /slash\nnl\ttab\r\x01\x1b ünïcødé ✓ 日本 😀 \x7f end\n\n'
params=$(jq -nc --arg s "$nasty" '{s: $s, n: -1.5e3, t: true, f: false, z: null, o: {"a": [1, {"b": "}"}], "c": "]"}, a: ["x", [], {}], after: "ok"}')
printf '%s' "$nasty" >"$WORK/nasty.want"
for flags in -c "" -ac -a; do
    # shellcheck disable=SC2086
    envelope "$params" $flags >"$WORK/in.json"
    export OUTFILE=$WORK/nasty.got
    run "$WORK/in.json"
    if [[ $RC == 0 ]] && cmp -s "$WORK/nasty.want" "$WORK/nasty.got"; then
        ok "param string decode (jq ${flags:-pretty})"
    else
        bad "param string decode (jq ${flags:-pretty})" "rc=$RC err=${ERR:0:300}"
    fi
done
unset OUTFILE

# Hand-written \u escapes: BMP, surrogate pair, lone surrogates, \u0000, upper/lower hex, \/.
plugin 'rune_read_input
rune_success "$(rune_obj "$(rune_kv_str s "$(rune_param s)")" "$(rune_kv_str k "$(rune_param "k\"ey")")")"'
cat >"$WORK/in.json" <<'JSON'
{"message_metadata":{"version":"1.0","message_id":"m-1"},"payload":{"input_parameters":{
  "s": "\u00fc\u65E5 \ud83d\ude00 lone:\ud800x \udc00 nul:\u0000 \/ \\u0041 \\\\ end",
  "k\"ey": "v"},"context":{"node":"n"}},"observability":{}}
JSON
run "$WORK/in.json"
want=$'ü日 😀 lone:\xef\xbf\xbdx \xef\xbf\xbd nul:\xef\xbf\xbd / \\u0041 \\\\ end'
if [[ $RC == 0 && $(jq -j .payload.output_data.s "$WORK/out") == "$want" && $(jq -r .payload.output_data.k "$WORK/out") == v ]]; then
    ok "hand-written \\u escapes"
else
    bad "hand-written \\u escapes" "$OUT"
fi
if jq -e '.message_metadata.correlation_id == null and .observability == {"trace_id":null,"span_id":null}' "$WORK/out" >/dev/null; then
    ok "absent correlation_id/trace ids echo null"
else
    bad "absent correlation_id/trace ids echo null" "$OUT"
fi

# Parameter accessors.
plugin 'rune_read_input
o=$(rune_obj \
  "$(rune_kv_str num "$(rune_param n)")" \
  "$(rune_kv_str bool "$(rune_param t)")" \
  "$(rune_kv_str obj "$(rune_param o)")" \
  "$(rune_kv_str dflt "$(rune_param missing fallback)")" \
  "$(rune_kv_str nulldflt "$(rune_param z fallback)")" \
  "$(rune_kv_str type_o "$(rune_param_type o)")" \
  "$(rune_kv_str type_z "$(rune_param_type z)")" \
  "$(rune_kv_raw json_a "$(rune_param_json a)")" \
  "$(rune_kv_raw json_missing "$(rune_param_json missing)")" \
  "$(rune_kv_bool has_z "$(rune_has_param z && echo true || echo false)")" \
  "$(rune_kv_bool has_t "$(rune_has_param t && echo true || echo false)")" \
  "$(rune_kv_bool absent_status "$(rune_param missing >/dev/null && echo false || echo true)")" \
  "$(rune_kv_str ctx "$(rune_get payload.context.requested_by)")")
rune_param_to nl nl
rune_success "$(rune_obj "$(rune_kv_raw o "$o")" "$(rune_kv_str nl "$nl")")"'
# Literal text: jq would normalise -1.5e3.
params='{"n": -1.5e3, "t": true, "z": null, "o": {"a": [1, {"b": "}"}], "c": "]"}, "a": ["x", [], {}], "nl": "x\n\n"}'
env_text=$(jq -c '.payload.input_parameters = "@P@"' "$EXAMPLE")
printf '%s' "${env_text/'"@P@"'/$params}" >"$WORK/in.json"
run "$WORK/in.json"
expect_success "parameter accessors" '.payload.output_data.o == {"num":"-1.5e3","bool":"true","obj":"{\"a\":[1,{\"b\":\"}\"}],\"c\":\"]\"}",
  "dflt":"fallback","nulldflt":"fallback","type_o":"object","type_z":"null","json_a":["x",[],{}],"json_missing":null,
  "has_z":false,"has_t":true,"absent_status":true,"ctx":"alice@ops-laptop"} and .payload.output_data.nl == "x\n\n"'

# Nested values elsewhere are skipped; keys that look like ours are not confused.
cat >"$WORK/in.json" <<'JSON'
{"extra":[{"payload":{"input_parameters":{"s":"WRONG"}}},[[[]]],"\"payload\""],
 "message_metadata":{"version":"1.0","message_id":"m","extra":{"message_id":"WRONG"}},
 "payload":{"context":{"node":"n","deep":{"x":[1,2,{"y":"z"}]}},"input_parameters":{"s":"right","deep":{"s":"WRONG"}}},
 "observability":{"trace_id":"t","span_id":"s","baggage":{"k":"v"}}}
JSON
plugin 'rune_read_input
rune_success "$(rune_obj "$(rune_kv_str s "$(rune_param s)")")"'
run "$WORK/in.json"
expect_success "nested values skipped" '.payload.output_data.s == "right" and .message_metadata.message_id == "m" and .observability.trace_id == "t"'

# Invalid envelopes: code 1, exit 1, one valid object.
plugin 'rune_read_input
rune_success'
i=0
while IFS= read -r bad_json; do
    i=$((i + 1))
    printf '%s' "$bad_json" >"$WORK/in.json"
    run "$WORK/in.json"
    expect_error "invalid input #$i: ${bad_json:0:40}" 1 1
done <<'CASES'

   
{
{"a":}
{"a":1,}
{"a" 1}
{"a":1}}
{"a":1} {"b":2}
{"a":"unterminated}
{"a":"bad \x escape"}
{"a":"bad \u12 escape"}
{"a":tru}
{"a":01}
{"a":1.}
{"a":-}
{"a":[1,2}
{"a":[1 2]}
{a:1}
{'a':1}
["not","an","object"]
"just a string"
42
{"a":NaN}
{"a":"x"]
{"message_metadata":{"version":"2.0"},"payload":{}}
{"payload":[1]}
{"payload":{"input_parameters":[1]}}
CASES
printf '{"a":"raw\ttab"}' >"$WORK/in.json"
run "$WORK/in.json"
expect_error "invalid input: raw control char in string" 1 1 "control character"
{
    printf '{"a":'
    for ((i = 0; i < 100; i++)); do printf '['; done
    for ((i = 0; i < 100; i++)); do printf ']'; done
    printf '}'
} >"$WORK/in.json"
run "$WORK/in.json"
expect_error "invalid input: nesting too deep" 1 1 "nesting"
printf '{"message_metadata":{"message_id":"abc-1","correlation_id":"c-1"},"payload":{' >"$WORK/in.json"
run "$WORK/in.json"
expect_error "invalid input echoes salvaged ids" 1 1
if [[ $(jq -r .message_metadata.message_id "$WORK/out") == abc-1 ]]; then ok "salvaged message_id"; else bad "salvaged message_id" "$OUT"; fi
printf '{"payload":' >"$WORK/in.json"
run "$WORK/in.json"
if jq -e '.message_metadata.message_id | type == "string" and length > 0' "$WORK/out" >/dev/null; then ok "unsalvageable input still gets a message_id"; else bad "unsalvageable input still gets a message_id" "$OUT"; fi
printf '{"payload":{"input_parameters":{}}}' >"$WORK/in.json"
run "$WORK/in.json"
expect_success "input without metadata gets a fresh message_id" '.message_metadata.message_id | test("^[0-9a-f-]{36}$")'

# --- 4. envelopes, exit codes and safety nets ------------------------------

envelope '{}' -c >"$WORK/in.json"
errcase() { # NAME BODY CODE EXIT [PHRASE]
    plugin "rune_read_input
$2"
    run "$WORK/in.json"
    expect_error "$1" "$3" "$4" "${5-}"
}
errcase "rune_error 3" 'rune_error 3 "forced failure"' 3 3 "forced failure"
errcase "rune_error 2 details" 'rune_error 2 "x" "$(rune_obj "$(rune_kv_str dependency jq)")"' 2 2
errcase "rune_error 1001 exits 100" 'rune_error 1001 "custom"' 1001 100
errcase "rune_error 1001 exit 233" 'rune_error 1001 "custom" "" 233' 1001 233
errcase "rune_error 4" 'rune_error 4 "config"' 4 4
errcase "rune_error -5 exits 100" 'rune_error -5 "neg"' -5 100
errcase "rune_error bad code" 'rune_error abc "msg"' 100 100 "invalid error code"
errcase "rune_error bad details" 'rune_error 3 "msg" "not json"' 3 3
if jq -e '.error.details.sdk_warning' "$WORK/out" >/dev/null; then ok "bad details replaced"; else bad "bad details replaced"; fi
errcase "rune_error exit 0 ignored" 'rune_error 3 "msg" "{}" 0' 3 3
errcase "no result: falls off the end" 'echo "just text"' 100 100 "without reporting a result"
errcase "no result: exit 7" 'exit 7' 100 7 "status 7"
errcase "set -e failure -> 100" 'false
rune_success' 100 100 "'false'"
errcase "failing command in a function -> 100" 'f() { ls /nonexistent-dir-xyz; }
f
rune_success' 100 100 "ls /nonexistent"
errcase "failing command substitution -> 100" 'x=$(cat /nonexistent-file-xyz)
rune_success' 100 100 "exited with status"
errcase "pipefail -> 100" 'cat /nonexistent | wc -l
rune_success' 100 100
errcase "rune_error inside \$(...) -> one envelope" 'x=$(rune_error 3 "inner")
rune_success' 100 100
errcase "rune_require missing" 'rune_require bash no-such-tool-xyz' 2 2 "no-such-tool-xyz is required but not installed on this host"
errcase "rune_require two missing" 'rune_require nope-a nope-b' 2 2 "nope-a, nope-b are required"
errcase "invalid output_data -> 100" 'rune_success "{\"a\":}"' 100 100 "invalid output_data"
errcase "output_data array -> 100" 'rune_success "[1]"' 100 100 "invalid output_data"
errcase "error inside an if is not trapped" 'if ! false; then rune_error 3 "handled"; fi' 3 3 "handled"
if [[ $ERR == *"error 3: handled"* ]]; then ok "rune_error logs to stderr"; else bad "rune_error logs to stderr" "$ERR"; fi

plugin 'rune_read_input
echo "stray stdout line"
printf "more stray\n"
rune_log "diag" "line"
rune_success "$(rune_obj "$(rune_kv_num n 1)")"'
run "$WORK/in.json"
expect_success "stray stdout goes to stderr" '.payload.output_data.n == 1'
if [[ $ERR == *"stray stdout line"* && $ERR == *"diag line"* ]]; then ok "stray output and rune_log on stderr"; else bad "stray output and rune_log on stderr" "$ERR"; fi

plugin 'rune_read_input
rune_success ""'
run "$WORK/in.json"
expect_success "empty output_data is {}" '.payload.output_data == {}'

# Typed parameter helpers.
typed='rune_read_input
rune_str_param unit unit "^[A-Za-z0-9@._:-]+$"
rune_str_param opt opt "^[a-z]+$" ""
rune_int_param lines lines 1 5000 100
rune_bool_param follow follow_redirects false
rune_enum_param by by "cpu memory" cpu
rune_success "$(rune_obj "$(rune_kv_str unit "$unit")" "$(rune_kv_str opt "$opt")" "$(rune_kv_num lines "$lines")" "$(rune_kv_bool follow "$follow")" "$(rune_kv_str by "$by")")"'
plugin "$typed"
tp() { # NAME PARAMS then expectation via following call
    envelope "$2" -c >"$WORK/in.json"
    run "$WORK/in.json"
}
tp ok '{"unit":"nginx.service","lines":200,"follow_redirects":true,"by":"memory"}'
expect_success "typed: all given" '.payload.output_data == {"unit":"nginx.service","opt":"","lines":200,"follow":true,"by":"memory"}'
tp defaults '{"unit":"a@b:c"}'
expect_success "typed: defaults" '.payload.output_data == {"unit":"a@b:c","opt":"","lines":100,"follow":false,"by":"cpu"}'
tp null-default '{"unit":"u","lines":null}'
expect_success "typed: null takes default" '.payload.output_data.lines == 100'
tp int-as-string '{"unit":"u","lines":"0042"}'
expect_success "typed: integer given as digits" '.payload.output_data.lines == 42'
tp missing '{}'
expect_error "typed: missing required" 1 1 "missing required parameter 'unit'"
tp pattern '{"unit":"nginx; rm -rf /"}'
expect_error "typed: pattern mismatch" 1 1 "parameter 'unit' does not match"
if [[ $OUT != *"rm -rf"* ]]; then ok "typed: pattern error hides the value"; else bad "typed: pattern error hides the value"; fi
tp range '{"unit":"u","lines":5001}'
expect_error "typed: int above max" 1 1 "between 1 and 5000"
tp range0 '{"unit":"u","lines":0}'
expect_error "typed: int below min" 1 1
tp float '{"unit":"u","lines":1.5}'
expect_error "typed: int rejects 1.5" 1 1
tp huge '{"unit":"u","lines":123456789012345678901234}'
expect_error "typed: int rejects huge" 1 1
tp bool '{"unit":"u","follow_redirects":"maybe"}'
expect_error "typed: bool rejects maybe" 1 1
tp bool-yes '{"unit":"u","follow_redirects":"YES"}'
expect_success "typed: bool accepts YES" '.payload.output_data.follow == true'
tp enum '{"unit":"u","by":"disk"}'
expect_error "typed: enum rejects" 1 1 "one of: cpu, memory"
tp obj '{"unit":{"a":1}}'
expect_error "typed: object for string" 1 1 "must be a scalar"
tp opt-bad '{"unit":"u","opt":"ABC"}'
expect_error "typed: optional pattern checked when given" 1 1

# Secret-ish parameters come from the envelope, not the environment.
plugin 'rune_read_input
rune_str_param pw password ""
rune_success "$(rune_obj "$(rune_kv_num len "${#pw}")" "$(rune_kv_str env "${RUNE_PARAM_PASSWORD-unset}")")"'
envelope '{"password":"s3cr3t \"x\""}' -c >"$WORK/in.json"
run "$WORK/in.json"
expect_success "secret read from envelope only" '.payload.output_data == {"len":10,"env":"unset"}'

# Big parameter (~1 MiB string) and big output.
plugin 'rune_read_input
rune_param_to s s
printf "%s" "$s" > "$OUTFILE"
mapfile -t -n 3000 lines <<<"$s"
rune_success "$(rune_obj "$(rune_kv_num len "${#s}")" "$(rune_kv_raw lines "$(printf "%s\n" "${lines[@]}" | rune_str_array)")")"'
export OUTFILE=$WORK/big.got
printf '%s' "$big" >"$WORK/big.want"
jq -nc --rawfile s "$WORK/big.want" '{s: $s}' >"$WORK/params.json"
jq -c --slurpfile p "$WORK/params.json" '.payload.input_parameters = $p[0]' "$EXAMPLE" >"$WORK/in.json"
SECONDS=0
run "$WORK/in.json"
t=$SECONDS
unset OUTFILE
if [[ $RC == 0 ]] && cmp -s "$WORK/big.want" "$WORK/big.got" && jq -e '.payload.output_data.lines | length == 3000' "$WORK/out" >/dev/null; then
    ok "1 MiB parameter in, 3000 lines out (${t}s)"
else
    bad "1 MiB parameter in, 3000 lines out" "rc=$RC err=${ERR:0:300}"
fi
if ((t <= 20)); then ok "big round trip time ${t}s"; else bad "big round trip too slow: ${t}s"; fi
# The same envelope through a pipe, as the transports deliver it: the shell
# reads the first 64 KiB itself and cat the rest.
export OUTFILE=$WORK/big.got
RC=0
(cd "$WORK/p" && cat "$WORK/in.json" | bash ./run.sh >"$WORK/out" 2>"$WORK/err") || RC=$?
unset OUTFILE
if [[ $RC == 0 ]] && cmp -s "$WORK/big.want" "$WORK/big.got"; then
    ok "1 MiB parameter through a pipe"
else
    bad "1 MiB parameter through a pipe" "rc=$RC err=$(head -c 300 "$WORK/err")"
fi

echo "test-sdk.sh: $PASS passed, $FAIL failed"
((FAIL == 0))
