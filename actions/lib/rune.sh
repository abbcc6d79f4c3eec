# shellcheck shell=bash
# Globs on purpose ([[ $c == $cont ]]), printf formats built from octal codes, and
# public globals the SDK sets for plugins:
# shellcheck disable=SC2053,SC2059,SC2295,SC1003,SC2034
# rune.sh: the Bash SDK for RUNE actions (BPCS plugin contract).
#
# A plugin reads one JSON envelope on stdin and writes exactly one JSON object
# on stdout; stderr is free-form diagnostics streamed to the operator. This
# library does the JSON on both sides with bash (>= 4.4) and coreutils only:
# no jq, no python. Source it from an entry with
#
#   source "$(dirname "${BASH_SOURCE[0]}")/../lib/rune.sh"
#
# Minimal plugin:
#
#   #!/usr/bin/env bash
#   set -euo pipefail
#   source "$(dirname "${BASH_SOURCE[0]}")/../lib/rune.sh"
#   rune_read_input
#   rune_str_param name name '^[a-z]+$' world
#   rune_log "greeting $name"
#   rune_success "$(rune_obj "$(rune_kv_str greeting "hello $name")")"
#
# Reading the input
#   rune_read_input [FILE]        Read the envelope (stdin, or FILE) once, parse it, set
#                                 the globals below and arm the safety nets (see "Safety").
#                                 Bad JSON or a non-object envelope: rune_error 1.
#   rune_param NAME [DEFAULT]     Print a parameter of payload.input_parameters: strings
#                                 unescaped, numbers and booleans as their literal text,
#                                 objects and arrays as compact JSON. Absent or null:
#                                 print DEFAULT (status 0) or, without DEFAULT, nothing
#                                 with status 1. Note that $(...) strips trailing newlines;
#                                 rune_param_to keeps them.
#   rune_param_to VAR NAME [DEFAULT]  Same, into variable VAR.
#   rune_has_param NAME           Status 0 when NAME is present and not null.
#   rune_param_type NAME          Print string|number|boolean|null|object|array (status 1
#                                 when absent).
#   rune_param_json NAME          Print the parameter as compact JSON ("null" when absent).
#   rune_params_json              Print the whole input_parameters object as compact JSON.
#   rune_get PATH [DEFAULT]       Like rune_param for any scalar of the envelope, PATH
#                                 dotted from the root: payload.context.node.
#   Globals after rune_read_input (empty when absent): RUNE_INPUT (raw text),
#   RUNE_MESSAGE_ID RUNE_CORRELATION_ID RUNE_CREATED_AT RUNE_TRACE_ID RUNE_SPAN_ID,
#   RUNE_NODE RUNE_ACTION RUNE_INCIDENT_ID RUNE_REQUESTED_BY RUNE_TRIGGERED_BY
#   RUNE_TRANSPORT.
#
# Typed parameter helpers: validate, assign VAR, or end the run with rune_error 1
# naming the parameter. Without DEFAULT the parameter is required; with DEFAULT
# (even "") it is optional and DEFAULT is used when absent or null.
#   rune_str_param  VAR NAME PATTERN [DEFAULT]   PATTERN is a bash ERE matched against
#                                                 the whole value ("" = any); a non-empty
#                                                 DEFAULT is not re-checked. Values are
#                                                 never echoed in errors (may be secret).
#   rune_int_param  VAR NAME MIN MAX [DEFAULT]   Decimal integer (JSON number or digits).
#   rune_bool_param VAR NAME [DEFAULT]           VAR becomes "true" or "false" (accepts
#                                                 true/false, 1/0, yes/no, on/off).
#   rune_enum_param VAR NAME "V1 V2 .." [DEFAULT]
#
# Writing JSON (each prints one JSON fragment without a newline; use inside $(...))
#   rune_json_str STRING          JSON string literal: escapes " \ and every control char
#                                 (\n \t \r \b \f, others and DEL as \u00XX); valid UTF-8
#                                 passes through, each invalid byte becomes \ufffd.
#   rune_json_str_to VAR STRING   Same, into variable VAR (no subshell: for loops).
#   rune_json_num VALUE           VALUE if it is a JSON number, else status 1 (message on
#                                 stderr).
#   rune_is_num VALUE             Status 0 when VALUE is a JSON number (prints nothing).
#   rune_json_bool VALUE          true|false from true/false/1/0, else status 1.
#   rune_kv_str KEY STRING        "KEY":"STRING"
#   rune_kv_str_or_null KEY STR   "KEY":"STR", or "KEY":null when STR is empty.
#   rune_kv_num KEY NUMBER        "KEY":NUMBER (checked; empty NUMBER gives null).
#   rune_kv_bool KEY BOOL         "KEY":true|false (empty gives null).
#   rune_kv_null KEY              "KEY":null
#   rune_kv_raw KEY JSON          "KEY":JSON, JSON inserted as is (rune_success checks the
#                                 final output_data).
#   rune_kv_str_to VAR KEY STR    rune_kv_str, rune_kv_raw, rune_obj and rune_params_json
#   rune_kv_raw_to VAR KEY JSON   each have a _to form that assigns VAR instead of
#   rune_obj_to VAR [MEMBER...]   printing: no $(...) subshell, which costs a fork
#   rune_params_json_to VAR       (~0.5 ms) per call.
#   rune_obj [MEMBER...]          {m1,m2,...}; empty arguments are skipped, so a member
#                                 can be left out with "$(cond && rune_kv_str ...)".
#   rune_arr [VALUE...]           [v1,v2,...]; empty arguments are skipped.
#   rune_strs [STRING...]         JSON array of the argument strings.
#   rune_str_array                JSON array of the lines read on stdin (without "\n").
#
# Finishing (call from the main shell, never inside $(...) or a pipeline)
#   rune_success [OUTPUT_DATA]    Print the success envelope and exit 0. OUTPUT_DATA must
#                                 be a JSON object (default {}); it is parsed first and an
#                                 invalid one turns into rune_error 100.
#   rune_error CODE MESSAGE [DETAILS] [EXIT]
#                                 Print the error envelope (payload null) and exit.
#                                 CODE: any integer (a non-integer becomes 100). DETAILS:
#                                 a JSON object (default {}). Exit status: EXIT when given
#                                 and in 1..255; else CODE when CODE is 1, 2, 3, 4 or 100;
#                                 else 100. Codes: 1 validation, 2 resource or dependency
#                                 missing, 3 business logic, 4 configuration, 100 unhandled.
#   Both echo message_id, correlation_id (null when the input had none), trace_id and
#   span_id from the input, and stamp created_at with the current UTC time. An input
#   without a usable message_id gets a fresh UUID (RUNE requires a non-empty one).
#
# Utilities
#   rune_log MSG...               One line on stderr (newlines folded into spaces).
#   rune_require TOOL...          rune_error 2 "<tool> is required but not installed on
#                                 this host" unless every TOOL is found by command -v.
#   rune_truncate VAR MAXBYTES    Cut VAR to at most MAXBYTES bytes on a UTF-8 character
#                                 boundary; sets RUNE_TRUNCATED to true or false.
#   rune_now                      Print the current UTC time, RFC 3339 with milliseconds.
#
# Safety (armed by rune_read_input)
#   - The real stdout is kept on a private descriptor and fd 1 is pointed at stderr,
#     so stray output of commands (systemctl, openssl, ...) cannot corrupt the one JSON
#     object on stdout. Builders still work inside $(...).
#   - errtrace, inherit_errexit and an ERR trap: a failing command that set -e would
#     stop on ends in rune_error 100 naming the command (its source text, never
#     expanded values), file and line.
#   - An EXIT trap: a script that ends without rune_success/rune_error still prints an
#     error envelope (code 100).
#
# Internal names start with _rune_ / RUNE__ and may change.

if [[ -n ${RUNE__SDK_LOADED-} ]]; then
    return 0
fi

if ((BASH_VERSINFO[0] < 4 || (BASH_VERSINFO[0] == 4 && BASH_VERSINFO[1] < 4))); then
    # The SDK needs local - and inherit_errexit (bash 4.4). Answer with a valid envelope anyway.
    printf 'rune.sh: bash >= 4.4 is required (this is %s)\n' "$BASH_VERSION" >&2
    printf '{"message_metadata":{"version":"1.0","message_id":null,"correlation_id":null,"created_at":null},"payload":null,"observability":{"trace_id":null,"span_id":null},"error":{"code":2,"message":"bash >= 4.4 is required but this host has %s","details":{}}}\n' "${BASH_VERSION//[!0-9.]/}"
    exit 2
fi

RUNE__SDK_LOADED=1
RUNE_SDK_VERSION=1.0.0
RUNE__PID=$BASHPID
RUNE__EMITTED=
RUNE__READ=
RUNE__OUT=
RUNE_TRUNCATED=false

# Path separator inside the parsed-value tables: a byte that no sane key holds.
RUNE__SEP=$'\x1f'
# Parsed input: type (s n b z o a), scalar value, token range of containers;
# the tokens, with strings apart (see _rune_tokenize).
declare -gA RUNE__T=() RUNE__V=() RUNE__R=()
declare -ga RUNE__TOK=() RUNE__STR=()

# Deepest nesting the parser accepts (recursion in bash is costly; envelopes are flat).
RUNE__MAX_DEPTH=64
# Strings longer than this are escaped in chunks: bash's ${v//x/y} is superlinear.
RUNE__CHUNK=32768

RUNE__NUM_RE='^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$'
# Glob for a character that a JSON string cannot hold as is: anything but
# printable ASCII other than " and \ (listed, not ranges: ranges follow the locale).
RUNE__NOT_PLAIN="[!]abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 !#\$%&'()*+,./:;<=>?@^_\`{|}~[-]"
# One well-formed UTF-8 sequence or ASCII byte (RFC 3629: no overlongs, no surrogates).
RUNE__UTF8_SEQ=$'[\x01-\x7f]|[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf][\x80-\xbf]|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf][\x80-\xbf]|[\xf1-\xf3][\x80-\xbf][\x80-\xbf][\x80-\xbf]|\xf4[\x80-\x8f][\x80-\xbf][\x80-\xbf]'
RUNE__UTF8_ALL="^(${RUNE__UTF8_SEQ})*\$"
RUNE__HIGH=$'[\x80-\xff]'
RUNE__CTRL=$'[\x01-\x1f\x7f]'
RUNE__FFFD=$'\xef\xbf\xbd'
# JSON escapes of the control characters other than \n and \t, filled on first
# use (most plugins never meet one; filling it costs ~100 printf calls).
declare -gA RUNE__CTRL_ESC=()
_rune_init_ctrl() {
    local -i k
    local c oct
    for k in {1..31} 127; do
        printf -v oct '%03o' "$k"
        printf -v c "\\$oct"
        printf -v oct '\\u%04x' "$k"
        RUNE__CTRL_ESC[$c]=$oct
    done
    RUNE__CTRL_ESC[$'\r']='\r'
    RUNE__CTRL_ESC[$'\b']='\b'
    RUNE__CTRL_ESC[$'\f']='\f'
}

# ---------------------------------------------------------------------------
# Writing JSON
# ---------------------------------------------------------------------------

# Replace each invalid UTF-8 byte of _rune_e by U+FFFD (RFC 3629: no overlongs,
# no surrogates, nothing above U+10FFFF). Caller has LC_ALL=C. Globs, not regexes:
# bash compiles a regex at every =~, which made binary input crawl.
_rune_utf8_fix() {
    local out='' w='' a c2 c3 c4 cont=$'[\x80-\xbf]'
    local -i pos=0 len=${#_rune_e} n
    while :; do
        # A small window (each ${big:i} copies the whole string); 8 bytes ahead
        # always hold a whole sequence.
        if ((${#w} < 8 && pos < len)); then
            w+=${_rune_e:pos:256}
            pos+=256
        fi
        [[ -n $w ]] || break
        a=${w%%[!$'\x01'-$'\x7f']*}
        if [[ -n $a ]]; then
            out+=$a
            w=${w:${#a}}
            continue
        fi
        c2=${w:1:1} c3=${w:2:1} c4=${w:3:1} n=0
        case ${w:0:1} in
            [$'\xc2'-$'\xdf'])
                if [[ $c2 == $cont ]]; then n=2; fi
                ;;
            $'\xe0')
                if [[ $c2 == [$'\xa0'-$'\xbf'] && $c3 == $cont ]]; then n=3; fi
                ;;
            [$'\xe1'-$'\xec'$'\xee'$'\xef'])
                if [[ $c2 == $cont && $c3 == $cont ]]; then n=3; fi
                ;;
            $'\xed')
                if [[ $c2 == [$'\x80'-$'\x9f'] && $c3 == $cont ]]; then n=3; fi
                ;;
            $'\xf0')
                if [[ $c2 == [$'\x90'-$'\xbf'] && $c3 == $cont && $c4 == $cont ]]; then n=4; fi
                ;;
            [$'\xf1'-$'\xf3'])
                if [[ $c2 == $cont && $c3 == $cont && $c4 == $cont ]]; then n=4; fi
                ;;
            $'\xf4')
                if [[ $c2 == [$'\x80'-$'\x8f'] && $c3 == $cont && $c4 == $cont ]]; then n=4; fi
                ;;
        esac
        if ((n > 0)); then
            out+=${w:0:n}
            w=${w:n}
        else
            out+=$RUNE__FFFD
            w=${w:1}
        fi
    done
    _rune_e=$out
}

# Escape one chunk held in _rune_e (no surrounding quotes). With $1 = lines, a
# newline becomes "," (the separator of a string array). Caller has LC_ALL=C.
_rune_esc_chunk() {
    local b='\' q='"' c pre
    if [[ $_rune_e == *$RUNE__HIGH* ]] && ! [[ $_rune_e =~ $RUNE__UTF8_ALL ]]; then
        _rune_utf8_fix
    fi
    if [[ $_rune_e == *[\\\"]* ]]; then
        _rune_e=${_rune_e//"$b"/"$b$b"}
        _rune_e=${_rune_e//"$q"/"$b$q"}
    fi
    if [[ $_rune_e == *$RUNE__CTRL* ]]; then
        if [[ ${1-} == lines ]]; then
            _rune_e=${_rune_e//$'\n'/'","'}
        else
            _rune_e=${_rune_e//$'\n'/'\n'}
        fi
        _rune_e=${_rune_e//$'\t'/'\t'}
        # The rarer ones: one pass per distinct control character present.
        ((${#RUNE__CTRL_ESC[@]})) || _rune_init_ctrl
        while [[ $_rune_e == *$RUNE__CTRL* ]]; do
            pre=${_rune_e%%$RUNE__CTRL*}
            c=${_rune_e:${#pre}:1}
            _rune_e=${_rune_e//"$c"/"${RUNE__CTRL_ESC[$c]}"}
        done
    fi
    return 0
}

# Escape $1 into _rune_e (content of a JSON string, without the quotes); $2 as
# for _rune_esc_chunk. Long strings go in chunks: ${v//x/y} is superlinear.
_rune_esc() {
    # Fast path, in the caller's locale: printable ASCII other than " and \ needs
    # no escaping (most keys, ids and values); switching LC_ALL costs ~15 us.
    if [[ $1 != *$RUNE__NOT_PLAIN* ]]; then
        _rune_e=$1
        return 0
    fi
    local LC_ALL=C
    _rune_e=$1
    if ((${#_rune_e} <= RUNE__CHUNK)); then
        _rune_esc_chunk "${2-}"
        return 0
    fi
    local src=$1 out='' chunk
    local -i pos=0 len=${#src} cut back
    while ((pos < len)); do
        # One byte of lookahead tells whether the cut splits a UTF-8 sequence.
        chunk=${src:pos:RUNE__CHUNK+1}
        cut=${#chunk}
        if ((cut > RUNE__CHUNK)); then
            cut=RUNE__CHUNK
            back=0
            while ((back < 3)) && [[ ${chunk:cut-back:1} == [$'\x80'-$'\xbf'] ]]; do
                back+=1
            done
            cut=$((cut - back))
            chunk=${chunk:0:cut}
        fi
        _rune_e=$chunk
        _rune_esc_chunk "${2-}"
        out+=$_rune_e
        pos=$((pos + cut))
    done
    _rune_e=$out
    return 0
}

rune_json_str() {
    _rune_esc "${1-}"
    printf '"%s"' "$_rune_e"
}

rune_json_str_to() {
    _rune_esc "${2-}"
    printf -v "$1" '"%s"' "$_rune_e"
}

rune_json_num() {
    if [[ ${1-} =~ $RUNE__NUM_RE ]]; then
        printf '%s' "$1"
        return 0
    fi
    printf 'rune_json_num: not a JSON number: %q\n' "${1-}" >&2
    return 1
}

rune_is_num() {
    [[ ${1-} =~ $RUNE__NUM_RE ]]
}

rune_json_bool() {
    case ${1-} in
        true | 1) printf 'true' ;;
        false | 0) printf 'false' ;;
        *)
            printf 'rune_json_bool: not a boolean: %q\n' "${1-}" >&2
            return 1
            ;;
    esac
}

rune_kv_str() {
    _rune_esc "$1"
    local k=$_rune_e
    _rune_esc "${2-}"
    printf '"%s":"%s"' "$k" "$_rune_e"
}

rune_kv_str_or_null() {
    if [[ -z ${2-} ]]; then
        rune_kv_null "$1"
    else
        rune_kv_str "$1" "$2"
    fi
}

rune_kv_num() {
    _rune_esc "$1"
    if [[ -z ${2-} ]]; then
        printf '"%s":null' "$_rune_e"
        return 0
    fi
    if ! [[ $2 =~ $RUNE__NUM_RE ]]; then
        printf 'rune_kv_num: %s is not a JSON number: %q\n' "$1" "$2" >&2
        return 1
    fi
    printf '"%s":%s' "$_rune_e" "$2"
}

rune_kv_bool() {
    _rune_esc "$1"
    case ${2-} in
        '') printf '"%s":null' "$_rune_e" ;;
        true | 1) printf '"%s":true' "$_rune_e" ;;
        false | 0) printf '"%s":false' "$_rune_e" ;;
        *)
            printf 'rune_kv_bool: %s is not a boolean: %q\n' "$1" "$2" >&2
            return 1
            ;;
    esac
}

rune_kv_null() {
    _rune_esc "$1"
    printf '"%s":null' "$_rune_e"
}

rune_kv_str_to() {
    _rune_esc "$2"
    local __rune_k=$_rune_e
    _rune_esc "${3-}"
    printf -v "$1" '"%s":"%s"' "$__rune_k" "$_rune_e"
}

rune_kv_raw_to() {
    if [[ -z ${3-} ]]; then
        printf 'rune_kv_raw: empty JSON for %s\n' "$2" >&2
        return 1
    fi
    _rune_esc "$2"
    printf -v "$1" '"%s":%s' "$_rune_e" "$3"
}

rune_kv_raw() {
    _rune_esc "$1"
    if [[ -z ${2-} ]]; then
        printf 'rune_kv_raw: empty JSON for %s\n' "$1" >&2
        return 1
    fi
    printf '"%s":%s' "$_rune_e" "$2"
}

# Join the non-empty arguments with commas between OPEN and CLOSE.
_rune_join() {
    local open=$1 close=$2 out='' a
    shift 2
    for a in "$@"; do
        [[ -n $a ]] || continue
        out+=${out:+,}$a
    done
    printf '%s%s%s' "$open" "$out" "$close"
}

rune_obj() { _rune_join '{' '}' "$@"; }
rune_obj_to() {
    local __rune_var=$1 __rune_out='' __rune_a
    shift
    for __rune_a in "$@"; do
        [[ -n $__rune_a ]] || continue
        __rune_out+=${__rune_out:+,}$__rune_a
    done
    printf -v "$__rune_var" '{%s}' "$__rune_out"
}
rune_arr() { _rune_join '[' ']' "$@"; }

rune_strs() {
    local -a esc=()
    local a out
    (($# > 0)) || {
        printf '[]'
        return 0
    }
    for a in "$@"; do
        _rune_esc "$a"
        esc+=("$_rune_e")
    done
    printf -v out '"%s",' "${esc[@]}"
    printf '[%s]' "${out%,}"
}

rune_str_array() {
    local blob=''
    IFS= read -r -d '' blob || true
    if [[ -z $blob ]]; then
        printf '[]'
        return 0
    fi
    # Lines end with "\n"; a last line without one still counts.
    _rune_esc "${blob%$'\n'}" lines
    printf '["%s"]' "$_rune_e"
}

# ---------------------------------------------------------------------------
# Reading JSON: a tokenizer (split on quotes, then on structure) and a parser
# loop over the tokens. Linear in the input size: indexing into a big
# bash string copies it, so the text itself is never walked character by character.
# ---------------------------------------------------------------------------

_rune_pfail() {
    _rune_perr=$1
    return 1
}

# Tokenize $1 into _rj_t and _rj_s: a string is the token '"' in _rj_t with its
# raw content (escapes kept) next in _rj_s; everything else is one token per
# structural character, literal or number. Caller has LC_ALL=C.
_rune_tokenize() {
    local -a p
    local cur piece s c strs
    local -i j=0 n k L
    # Cut at every quote with bash's own word splitting (one pass in C; a
    # here-string for mapfile would be a pipe read one byte per read(2)).
    # IFS='"' is not whitespace, so empty fields between quotes stay; the
    # newline keeps a last empty field. Fields alternate outside/inside a
    # string until an escaped quote joins two inside pieces.
    local - IFS='"'
    set -f
    # shellcheck disable=SC2206
    p=($1$'\n')
    n=${#p[@]}
    _rj_t=() _rj_s=()
    # Usual text: no escaped quote (so fields strictly alternate), every string
    # closed (an odd number of fields), no control character in a string, and
    # no \x1e, the separator used here. Then the tokens come from a few
    # whole-text operations instead of a loop: printf reuses its format for
    # every pair of fields, so '%.0s%s' keeps the strings and '%s%.0s' the rest.
    if ((n % 2 == 1)) && [[ $1 != *'\"'* && $1 != *$'\x1e'* ]]; then
        printf -v strs '%.0s%s\x1e' "${p[@]}"
        if [[ $strs != *[$'\x01'-$'\x1d\x1f']* ]]; then
            printf -v s '%s\x1e%.0s' "${p[@]}"
            s=${s%$'\x1e'}
            for c in '{' '}' '[' ']' ':' ','; do
                s=${s//"$c"/" $c "}
            done
            # Each \x1e between two outside parts stands for the string there.
            s=${s//$'\x1e'/' " '}
            IFS=$' \t\r\n'
            # shellcheck disable=SC2206
            _rj_t=($s)
            IFS=$'\x1e'
            # shellcheck disable=SC2206
            _rj_s=($strs)
            return 0
        fi
    fi
    # Otherwise field by field, which finds the first error in text order.
    IFS=$' \t\r\n'
    while ((j < n)); do
        s=${p[j]} j=j+1
        # Space out the structure, split on whitespace.
        for c in '{' '}' '[' ']' ':' ','; do
            if [[ $s == *"$c"* ]]; then
                s=${s//"$c"/" $c "}
            fi
        done
        # shellcheck disable=SC2206
        _rj_t+=($s)
        ((j < n)) || break
        piece=${p[j]}
        cur=$piece
        j+=1
        while [[ $piece == *'\' ]]; do
            # An odd run of backslashes before the quote escapes it. The run lies
            # within the last piece (pieces are cut at quotes), so only it is read.
            k=0
            L=${#piece}
            while ((k < L)) && [[ ${piece:L-k-1:1} == '\' ]]; do
                k+=1
            done
            ((k % 2 == 1)) || break
            ((j < n)) || break
            piece=${p[j]}
            cur+='"'$piece
            j+=1
        done
        if ((j >= n)); then
            _rune_pfail "unterminated string"
            return 1
        fi
        if [[ $cur == *[$'\x01'-$'\x1f']* ]]; then
            _rune_pfail "unescaped control character in a string"
            return 1
        fi
        _rj_t+=('"') _rj_s+=("$cur")
    done
    return 0
}

# Code point $1 -> UTF-8 bytes in _rj_ch.
_rune_utf8() {
    local -i cp=$1
    local fmt
    if ((cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)); then
        _rj_ch=$RUNE__FFFD
        return 0
    fi
    if ((cp < 0x80)); then
        printf -v fmt '\\%03o' "$cp"
    elif ((cp < 0x800)); then
        printf -v fmt '\\%03o\\%03o' $((0xC0 | cp >> 6)) $((0x80 | (cp & 0x3F)))
    elif ((cp < 0x10000)); then
        printf -v fmt '\\%03o\\%03o\\%03o' $((0xE0 | cp >> 12)) \
            $((0x80 | (cp >> 6 & 0x3F))) $((0x80 | (cp & 0x3F)))
    else
        printf -v fmt '\\%03o\\%03o\\%03o\\%03o' $((0xF0 | cp >> 18)) \
            $((0x80 | (cp >> 12 & 0x3F))) $((0x80 | (cp >> 6 & 0x3F))) $((0x80 | (cp & 0x3F)))
    fi
    printf -v _rj_ch "$fmt"
}

# Decode the raw string content $1 (escapes as in the JSON text) into _rj_str.
_rune_decode() {
    local raw=$1
    if [[ $raw != *'\'* ]]; then
        _rj_str=$raw
        return 0
    fi
    local -a pc=()
    local piece rest hex
    local -i m=1 np cp lo
    # Cut at backslashes as _rune_tokenize cuts at quotes (no here-string).
    # shellcheck disable=SC2141 # a backslash is the separator meant
    local - IFS='\'
    set -f
    # shellcheck disable=SC2206
    pc=($raw$'\n')
    np=${#pc[@]}
    pc[np - 1]=${pc[np - 1]%$'\n'}
    _rj_str=${pc[0]}
    while ((m < np)); do
        piece=${pc[m]}
        m+=1
        if [[ -z $piece ]]; then
            # "\\": an escaped backslash; the next piece is plain text.
            _rj_str+='\'
            if ((m < np)); then
                _rj_str+=${pc[m]}
                m+=1
            fi
            continue
        fi
        rest=${piece:1}
        case ${piece:0:1} in
            '"') _rj_str+='"'$rest ;;
            '/') _rj_str+='/'$rest ;;
            b) _rj_str+=$'\b'$rest ;;
            f) _rj_str+=$'\f'$rest ;;
            n) _rj_str+=$'\n'$rest ;;
            r) _rj_str+=$'\r'$rest ;;
            t) _rj_str+=$'\t'$rest ;;
            u)
                hex=${piece:1:4}
                [[ $hex =~ ^[0-9a-fA-F]{4}$ ]] || _rune_pfail "invalid \\u escape" || return 1
                cp=16#$hex
                rest=${piece:5}
                if ((cp >= 0xD800 && cp <= 0xDBFF)) && [[ -z $rest && m -lt np ]] &&
                    [[ ${pc[m]} =~ ^u([dD][c-fC-F][0-9a-fA-F]{2}) ]]; then
                    lo=16#${BASH_REMATCH[1]}
                    cp=$((0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)))
                    rest=${pc[m]:5}
                    m+=1
                fi
                _rune_utf8 "$cp"
                _rj_str+=$_rj_ch$rest
                ;;
            *)
                _rune_pfail "invalid escape \\${piece:0:1} in a string"
                return 1
                ;;
        esac
    done
    return 0
}

# Parse $1, which must be one JSON object. $2=1 stores into RUNE__T/V/R and keeps
# the tokens in RUNE__TOK and RUNE__STR; $2=0 only validates. Error text in
# _rune_perr. One loop over the tokens with an explicit stack, not recursive
# descent: every plugin run parses its envelope, and in bash a function call
# costs several microseconds, a statement about one. States: K a key is next
# (then ':' and a value), V a value at vpath, A a ',' or the closer of the
# container at depth d, C that container has just closed. si counts the
# strings taken from _rj_s.
_rune_parse() {
    local LC_ALL=C
    local -a _rj_t=() _rj_s=() cpath=() ckind=()
    local -ai cstart=() cidx=() csi=()
    local -i k=0 n d=0 si=0
    local st=V tok vpath='' _rj_str='' _rj_ch=''
    if (($2 == 0)); then
        # Validation stores into throwaway tables (cheaper than testing a flag
        # at every value).
        local -A RUNE__T=() RUNE__V=() RUNE__R=()
    fi
    _rune_perr=
    _rune_tokenize "$1" || return 1
    if [[ ${_rj_t[0]-} != '{' ]]; then
        _rune_pfail "the top-level value is not a JSON object"
        return 1
    fi
    n=${#_rj_t[@]}
    while :; do
        case $st in
            K)
                # The usual member, "key":"string without escapes", in one step.
                if [[ ${_rj_t[k + 1]-} == : && ${_rj_t[k]-} == '"' && ${_rj_t[k + 2]-} == '"' &&
                    ${_rj_s[si]}${_rj_s[si + 1]} != *'\'* ]]; then
                    vpath=${cpath[d]}$RUNE__SEP${_rj_s[si]}
                    RUNE__T[$vpath]=s RUNE__V[$vpath]=${_rj_s[si + 1]} k=k+3 si=si+2 st=A
                    continue
                fi
                tok=${_rj_t[k]-} k=k+1
                [[ $tok == '"' ]] || _rune_pfail "expected a string key" || return 1
                _rj_str=${_rj_s[si]} si=si+1
                if [[ $_rj_str == *'\'* ]]; then
                    _rune_decode "$_rj_str" || return 1
                fi
                [[ ${_rj_t[k]-} == ':' ]] || _rune_pfail "expected ':' after a key" || return 1
                k+=1 vpath=${cpath[d]}$RUNE__SEP$_rj_str st=V
                ;;
            V)
                ((k < n)) || _rune_pfail "unexpected end of input" || return 1
                tok=${_rj_t[k]} k=k+1 st=A
                case $tok in
                    '{' | '[')
                        ((d < RUNE__MAX_DEPTH)) || _rune_pfail "nesting deeper than $RUNE__MAX_DEPTH" || return 1
                        d+=1
                        cpath[d]=$vpath cstart[d]=$((k - 1)) cidx[d]=0 csi[d]=$si
                        if [[ $tok == '{' ]]; then
                            ckind[d]=o st=K
                            if [[ ${_rj_t[k]-} == '}' ]]; then
                                k+=1 st=C
                            fi
                        else
                            ckind[d]=a st=V vpath+=${RUNE__SEP}0
                            if [[ ${_rj_t[k]-} == ']' ]]; then
                                k+=1 st=C
                            fi
                        fi
                        ;;
                    '"')
                        _rj_str=${_rj_s[si]} si=si+1
                        if [[ $_rj_str == *'\'* ]]; then
                            _rune_decode "$_rj_str" || return 1
                        fi
                        RUNE__T[$vpath]=s RUNE__V[$vpath]=$_rj_str
                        ;;
                    true | false) RUNE__T[$vpath]=b RUNE__V[$vpath]=$tok ;;
                    null) RUNE__T[$vpath]=z RUNE__V[$vpath]= ;;
                    *)
                        # Plain digits skip the regex (bash compiles it at every =~).
                        if [[ $tok == *[!0-9]* || $tok == 0?* ]] && ! [[ $tok =~ $RUNE__NUM_RE ]]; then
                            _rune_pfail "unexpected token '${tok:0:32}'"
                            return 1
                        fi
                        RUNE__T[$vpath]=n RUNE__V[$vpath]=$tok
                        ;;
                esac
                ;;
            A)
                ((d > 0)) || break
                tok=${_rj_t[k]-} k=k+1
                if [[ ${ckind[d]} == o ]]; then
                    case $tok in
                        ',') st=K ;;
                        '}') st=C ;;
                        *)
                            _rune_pfail "expected ',' or '}' in an object"
                            return 1
                            ;;
                    esac
                else
                    case $tok in
                        ',')
                            cidx[d]+=1
                            vpath=${cpath[d]}$RUNE__SEP${cidx[d]} st=V
                            ;;
                        ']') st=C ;;
                        *)
                            _rune_pfail "expected ',' or ']' in an array"
                            return 1
                            ;;
                    esac
                fi
                ;;
            C)
                # The top-level object has no path and no entry. The range is
                # "first-token last-token first-string".
                if [[ -n ${cpath[d]} ]]; then
                    RUNE__T[${cpath[d]}]=${ckind[d]} RUNE__R[${cpath[d]}]="${cstart[d]} $((k - 1)) ${csi[d]}"
                fi
                d=$((d - 1)) st=A
                ;;
        esac
    done
    if ((k < n)); then
        _rune_pfail "unexpected data after the top-level object"
        return 1
    fi
    if (($2)); then
        RUNE__TOK=("${_rj_t[@]}") RUNE__STR=("${_rj_s[@]}")
    fi
    return 0
}

# Compact JSON text of the stored value at internal path $2 (must exist),
# into variable $1.
_rune_raw_to() {
    local LC_ALL=C
    local __rune_rt=${RUNE__T[$2]}
    case $__rune_rt in
        s)
            _rune_esc "${RUNE__V[$2]}"
            printf -v "$1" '"%s"' "$_rune_e"
            ;;
        n | b) printf -v "$1" '%s' "${RUNE__V[$2]}" ;;
        z) printf -v "$1" 'null' ;;
        o | a)
            # The range is "first-token last-token first-string".
            local __rune_r=${RUNE__R[$2]} __rune_tok __rune_out=''
            local -i __rune_i __rune_a=${__rune_r%% *} __rune_b __rune_s=${__rune_r##* }
            __rune_r=${__rune_r#* }
            __rune_b=${__rune_r%% *}
            for ((__rune_i = __rune_a; __rune_i <= __rune_b; __rune_i++)); do
                __rune_tok=${RUNE__TOK[__rune_i]}
                if [[ $__rune_tok == '"' ]]; then
                    __rune_tok=${RUNE__STR[__rune_s]}
                    __rune_s+=1
                    # Re-encode only strings whose bytes are not valid UTF-8.
                    if [[ $__rune_tok == *$RUNE__HIGH* ]] && ! [[ $__rune_tok =~ $RUNE__UTF8_ALL ]]; then
                        local _rj_str
                        _rune_decode "$__rune_tok" || true
                        _rune_esc "$_rj_str"
                        __rune_tok=$_rune_e
                    fi
                    __rune_out+="\"$__rune_tok\""
                else
                    __rune_out+=$__rune_tok
                fi
            done
            printf -v "$1" '%s' "$__rune_out"
            ;;
    esac
}

# Compact JSON text of the stored value at internal path $1, printed.
_rune_raw() {
    local __rune_raw
    _rune_raw_to __rune_raw "$1"
    printf '%s' "$__rune_raw"
}

# Internal path prefix of the parameters.
RUNE__PP="${RUNE__SEP}payload${RUNE__SEP}input_parameters${RUNE__SEP}"

# Value at internal path $1 into variable $2; status 1 when absent or null.
_rune_value_to() {
    local __rune_p=$1 __rune_t=${RUNE__T[$1]-}
    case $__rune_t in
        '' | z) return 1 ;;
        o | a) _rune_raw_to "$2" "$__rune_p" ;;
        *) printf -v "$2" '%s' "${RUNE__V[$__rune_p]}" ;;
    esac
    return 0
}

rune_param_to() {
    local __rune_v
    if _rune_value_to "$RUNE__PP$2" __rune_v; then
        printf -v "$1" '%s' "$__rune_v"
        return 0
    fi
    if (($# >= 3)); then
        printf -v "$1" '%s' "$3"
        return 0
    fi
    printf -v "$1" '%s' ''
    return 1
}

rune_param() {
    local __rune_out
    if (($# >= 2)); then
        rune_param_to __rune_out "$1" "$2"
    else
        rune_param_to __rune_out "$1" || return 1
    fi
    printf '%s' "$__rune_out"
}

rune_has_param() {
    local t=${RUNE__T[$RUNE__PP$1]-}
    [[ -n $t && $t != z ]]
}

rune_param_type() {
    local t=${RUNE__T[$RUNE__PP$1]-}
    case $t in
        s) echo string ;;
        n) echo number ;;
        b) echo boolean ;;
        z) echo null ;;
        o) echo object ;;
        a) echo array ;;
        *) return 1 ;;
    esac
}

rune_param_json() {
    local ip=$RUNE__PP$1
    if [[ -n ${RUNE__T[$ip]-} ]]; then
        _rune_raw "$ip"
    else
        printf 'null'
    fi
}

rune_params_json_to() {
    local __rune_ip="${RUNE__SEP}payload${RUNE__SEP}input_parameters"
    if [[ ${RUNE__T[$__rune_ip]-} == o ]]; then
        _rune_raw_to "$1" "$__rune_ip"
    else
        printf -v "$1" '{}'
    fi
}

rune_params_json() {
    local ip="${RUNE__SEP}payload${RUNE__SEP}input_parameters"
    if [[ ${RUNE__T[$ip]-} == o ]]; then
        _rune_raw "$ip"
    else
        printf '{}'
    fi
}

rune_get() {
    local __rune_v __rune_p="${RUNE__SEP}${1//./$RUNE__SEP}"
    if _rune_value_to "$__rune_p" __rune_v; then
        printf '%s' "$__rune_v"
        return 0
    fi
    if (($# >= 2)); then
        printf '%s' "$2"
        return 0
    fi
    return 1
}

# rune_get into variable $1 (path $2, default $3): no subshell.
_rune_get_to() {
    local __rune_p="${RUNE__SEP}${2//./$RUNE__SEP}"
    _rune_value_to "$__rune_p" "$1" || printf -v "$1" '%s' "${3-}"
}

# JSON form of an id to echo into variable $1: the string at path $2, else null.
_rune_id_json_to() {
    local ip="${RUNE__SEP}${2//./$RUNE__SEP}"
    if [[ ${RUNE__T[$ip]-} == s ]]; then
        _rune_esc "${RUNE__V[$ip]}"
        printf -v "$1" '"%s"' "$_rune_e"
    else
        printf -v "$1" null
    fi
}

# A fresh message_id for an input that had none: RUNE refuses an output whose
# message_id is not a non-empty string, which would hide the plugin's error.
_rune_new_id_to() {
    local id=''
    if [[ -r /proc/sys/kernel/random/uuid ]]; then
        read -r id </proc/sys/kernel/random/uuid || true
    fi
    [[ $id =~ ^[0-9a-f-]{36}$ ]] || id=unknown
    printf -v "$1" '"%s"' "$id"
}

# After a parse failure, still echo the ids when they can be spotted in the text.
_rune_salvage_ids() {
    local f v re
    for f in message_id:MESSAGE correlation_id:CORRELATION trace_id:TRACE span_id:SPAN; do
        re="\"${f%%:*}\"[[:space:]]*:[[:space:]]*\"([A-Za-z0-9._:-]{1,128})\""
        if [[ $RUNE_INPUT =~ $re ]]; then
            v="\"${BASH_REMATCH[1]}\""
            printf -v "RUNE__ID_${f#*:}" '%s' "$v"
        fi
    done
    if [[ -z ${RUNE__ID_MESSAGE-} ]]; then
        _rune_new_id_to RUNE__ID_MESSAGE
    fi
    return 0
}

rune_read_input() {
    [[ -z $RUNE__READ ]] || return 0
    RUNE__READ=1
    if [[ $BASHPID == "$RUNE__PID" ]]; then
        # Keep the real stdout for the envelope; everything else printed goes to stderr.
        exec {RUNE__OUT}>&1
        exec 1>&2
        set -o errtrace
        shopt -s inherit_errexit
        trap '_rune_on_err "$?" "$LINENO" "${BASH_SOURCE[0]##*/}" "$BASH_COMMAND"' ERR
        trap '_rune_on_exit "$?"' EXIT
    fi
    local __rune_in
    if (($# >= 1)); then
        __rune_in=$(cat -- "$1") || rune_error 1 "cannot read the input envelope from $1"
    else
        # The shell reads a usual envelope itself (no fork for `cat`); it reads
        # a pipe byte by byte, so past 64 KiB the rest comes from cat.
        __rune_in=''
        if IFS= read -r -d '' -n 65536 __rune_in; then
            local __rune_rest
            __rune_rest=$(cat) || rune_error 1 "cannot read the input envelope from stdin"
            __rune_in+=$__rune_rest
        fi
        # As $(cat) would: no trailing newlines.
        __rune_in=${__rune_in%"${__rune_in##*[!$'\n']}"}
    fi
    RUNE_INPUT=$__rune_in
    if [[ $RUNE_INPUT != *[!$' \t\r\n']* ]]; then
        rune_error 1 "no input envelope on stdin (expected one JSON object)"
    fi
    if ! _rune_parse "$RUNE_INPUT" 1; then
        _rune_salvage_ids
        rune_error 1 "invalid input envelope: $_rune_perr" \
            "$(rune_obj "$(rune_kv_str reason "$_rune_perr")")"
    fi
    # Assigned in place, not through $(...): each subshell is a fork.
    _rune_id_json_to RUNE__ID_MESSAGE message_metadata.message_id
    if [[ $RUNE__ID_MESSAGE == null ]]; then
        _rune_new_id_to RUNE__ID_MESSAGE
    fi
    _rune_id_json_to RUNE__ID_CORRELATION message_metadata.correlation_id
    _rune_id_json_to RUNE__ID_TRACE observability.trace_id
    _rune_id_json_to RUNE__ID_SPAN observability.span_id
    # The globals straight from the tables (a null or absent one is empty): a
    # function call each would cost more than parsing them did.
    local s=$RUNE__SEP version
    local m=${s}message_metadata$s o=${s}observability$s c=${s}payload${s}context$s
    RUNE_MESSAGE_ID=${RUNE__V[${m}message_id]-}
    RUNE_CORRELATION_ID=${RUNE__V[${m}correlation_id]-}
    RUNE_CREATED_AT=${RUNE__V[${m}created_at]-}
    RUNE_TRACE_ID=${RUNE__V[${o}trace_id]-}
    RUNE_SPAN_ID=${RUNE__V[${o}span_id]-}
    RUNE_NODE=${RUNE__V[${c}node]-}
    RUNE_ACTION=${RUNE__V[${c}action]-}
    RUNE_INCIDENT_ID=${RUNE__V[${c}incident_id]-}
    RUNE_REQUESTED_BY=${RUNE__V[${c}requested_by]-}
    RUNE_TRIGGERED_BY=${RUNE__V[${c}triggered_by]-}
    RUNE_TRANSPORT=${RUNE__V[${c}transport]-}
    version=${RUNE__V[${m}version]-}
    # An object or array in one of those places holds its JSON text instead.
    if [[ ${RUNE__T[${m}message_id]-}${RUNE__T[${m}correlation_id]-}${RUNE__T[${m}created_at]-}${RUNE__T[${m}version]-}${RUNE__T[${o}trace_id]-}${RUNE__T[${o}span_id]-}${RUNE__T[${c}node]-}${RUNE__T[${c}action]-}${RUNE__T[${c}incident_id]-}${RUNE__T[${c}requested_by]-}${RUNE__T[${c}triggered_by]-}${RUNE__T[${c}transport]-} == *[oa]* ]]; then
        _rune_get_to RUNE_MESSAGE_ID message_metadata.message_id
        _rune_get_to RUNE_CORRELATION_ID message_metadata.correlation_id
        _rune_get_to RUNE_CREATED_AT message_metadata.created_at
        _rune_get_to RUNE_TRACE_ID observability.trace_id
        _rune_get_to RUNE_SPAN_ID observability.span_id
        _rune_get_to RUNE_NODE payload.context.node
        _rune_get_to RUNE_ACTION payload.context.action
        _rune_get_to RUNE_INCIDENT_ID payload.context.incident_id
        _rune_get_to RUNE_REQUESTED_BY payload.context.requested_by
        _rune_get_to RUNE_TRIGGERED_BY payload.context.triggered_by
        _rune_get_to RUNE_TRANSPORT payload.context.transport
        _rune_get_to version message_metadata.version
    fi
    if [[ -n $version && $version != 1.0 && ! $version =~ ^1(\.[0-9]+)*$ ]]; then
        rune_error 1 "unsupported BPCS version $(rune_json_str "$version") (this SDK speaks 1.x)"
    fi
    local pt=${RUNE__T[${RUNE__SEP}payload]-} it=${RUNE__T[${RUNE__SEP}payload${RUNE__SEP}input_parameters]-}
    if [[ -n $pt && $pt != o ]]; then
        rune_error 1 "invalid input envelope: payload is not an object"
    fi
    if [[ -n $it && $it != o && $it != z ]]; then
        rune_error 1 "invalid input envelope: payload.input_parameters is not an object"
    fi
    return 0
}

# ---------------------------------------------------------------------------
# Typed parameter helpers
# ---------------------------------------------------------------------------

# Fetch parameter $2 into $1; required when no default ($3 unset). Sets
# __rune_absent=1 when the default was used.
_rune_fetch() {
    local __rune_t
    __rune_absent=0
    __rune_t=${RUNE__T[$RUNE__PP$2]-}
    if [[ $__rune_t == o || $__rune_t == a ]]; then
        rune_error 1 "parameter '$2' must be a scalar, got an $(rune_param_type "$2")" \
            "$(rune_obj "$(rune_kv_str parameter "$2")")"
    fi
    if rune_param_to "$1" "$2"; then
        return 0
    fi
    if (($# < 3)); then
        rune_error 1 "missing required parameter '$2'" "$(rune_obj "$(rune_kv_str parameter "$2")")"
    fi
    __rune_absent=1
    printf -v "$1" '%s' "$3"
}

rune_str_param() {
    local __rune_absent __rune_val
    _rune_fetch __rune_val "$2" "${@:4}"
    if ((!__rune_absent)) && [[ -n $3 ]] && ! [[ $__rune_val =~ $3 ]]; then
        rune_error 1 "parameter '$2' does not match the pattern $3" \
            "$(rune_obj "$(rune_kv_str parameter "$2")" "$(rune_kv_str pattern "$3")")"
    fi
    printf -v "$1" '%s' "$__rune_val"
}

rune_int_param() {
    local __rune_absent __rune_val
    _rune_fetch __rune_val "$2" "${@:5}"
    if [[ $__rune_val =~ ^(-?)([0-9]{1,18})$ ]]; then
        __rune_val=${BASH_REMATCH[1]}$((10#${BASH_REMATCH[2]}))
        [[ $__rune_val != -0 ]] || __rune_val=0
        if ((__rune_val >= $3 && __rune_val <= $4)); then
            printf -v "$1" '%s' "$__rune_val"
            return 0
        fi
    fi
    rune_error 1 "parameter '$2' must be an integer between $3 and $4" \
        "$(rune_obj "$(rune_kv_str parameter "$2")" "$(rune_kv_str value "$__rune_val")" \
            "$(rune_kv_num min "$3")" "$(rune_kv_num max "$4")")"
}

rune_bool_param() {
    local __rune_absent __rune_val
    _rune_fetch __rune_val "$2" "${@:3}"
    case ${__rune_val,,} in
        true | 1 | yes | on) printf -v "$1" true ;;
        false | 0 | no | off) printf -v "$1" false ;;
        *)
            rune_error 1 "parameter '$2' must be a boolean" \
                "$(rune_obj "$(rune_kv_str parameter "$2")" "$(rune_kv_str value "$__rune_val")")"
            ;;
    esac
}

rune_enum_param() {
    local __rune_absent __rune_val __rune_ok __rune_vals IFS=$' \t\n'
    _rune_fetch __rune_val "$2" "${@:4}"
    read -r -a __rune_vals <<<"$3" || true
    for __rune_ok in "${__rune_vals[@]}"; do
        if [[ $__rune_val == "$__rune_ok" ]]; then
            printf -v "$1" '%s' "$__rune_val"
            return 0
        fi
    done
    rune_error 1 "parameter '$2' must be one of: ${3// /, }" \
        "$(rune_obj "$(rune_kv_str parameter "$2")" "$(rune_kv_str value "$__rune_val")" \
            "$(rune_kv_raw allowed "$(rune_strs "${__rune_vals[@]}")")")"
}

# ---------------------------------------------------------------------------
# Envelopes
# ---------------------------------------------------------------------------

_rune_now_to() {
    local TZ=UTC0 t sec frac
    if [[ -n ${EPOCHREALTIME-} ]]; then
        sec=${EPOCHREALTIME%[.,]*}
        frac=${EPOCHREALTIME#*[.,]}000
        printf -v t '%(%Y-%m-%dT%H:%M:%S)T' "$sec"
        printf -v "$1" '%s.%sZ' "$t" "${frac:0:3}"
    else
        printf -v t '%(%Y-%m-%dT%H:%M:%S)T' -1
        printf -v "$1" '%s.000Z' "$t"
    fi
}

rune_now() {
    local __rune_now
    _rune_now_to __rune_now
    printf '%s' "$__rune_now"
}

# Print the envelope with payload $1 and error $2, then exit $3.
_rune_emit() {
    local now
    _rune_now_to now
    RUNE__EMITTED=1
    printf '{"message_metadata":{"version":"1.0","message_id":%s,"correlation_id":%s,"created_at":"%s"},"payload":%s,"observability":{"trace_id":%s,"span_id":%s},"error":%s}\n' \
        "${RUNE__ID_MESSAGE:-null}" "${RUNE__ID_CORRELATION:-null}" "$now" "$1" \
        "${RUNE__ID_TRACE:-null}" "${RUNE__ID_SPAN:-null}" "$2" >&"${RUNE__OUT:-1}"
    exit "$3"
}

rune_success() {
    local data=${1:-'{}'}
    if [[ $BASHPID != "$RUNE__PID" ]]; then
        rune_log "rune_success called in a subshell; call it from the main shell"
        exit 0
    fi
    [[ -z $RUNE__EMITTED ]] || exit 0
    if ! _rune_parse "$data" 0; then
        rune_error 100 "plugin produced invalid output_data: $_rune_perr" \
            "$(rune_obj "$(rune_kv_str reason "$_rune_perr")")"
    fi
    _rune_emit "{\"result\":\"success\",\"output_data\":$data}" null 0
}

rune_error() {
    local code=${1-100} message=${2-} details=${3-} status=${4-}
    if ! [[ $code =~ ^-?[0-9]{1,18}$ ]]; then
        message="$message (invalid error code: ${code:0:40})"
        code=100
    fi
    if [[ -n $status ]] && [[ $status =~ ^[0-9]{1,3}$ ]] && ((status >= 1 && status <= 255)); then
        :
    else
        case $code in
            1 | 2 | 3 | 4 | 100) status=$code ;;
            *) status=100 ;;
        esac
    fi
    if [[ $BASHPID != "$RUNE__PID" ]]; then
        rune_log "rune_error called in a subshell (code $code: $message); call it from the main shell"
        exit "$status"
    fi
    [[ -z $RUNE__EMITTED ]] || exit "$status"
    if [[ -z $details ]]; then
        details='{}'
    elif [[ -n ${RUNE__IN_ERROR-} ]] || ! _rune_parse "$details" 0; then
        details='{"sdk_warning":"the plugin passed error details that are not a JSON object"}'
    fi
    RUNE__IN_ERROR=1
    rune_log "error $code: $message"
    _rune_emit null "{\"code\":$code,\"message\":$(rune_json_str "$message"),\"details\":$details}" "$status"
}

_rune_on_err() {
    local st=$1 line=$2 file=$3 cmd=$4
    # In a subshell: let it exit; the main shell sees the failure and reports it.
    [[ $BASHPID == "$RUNE__PID" ]] || return 0
    [[ -z $RUNE__EMITTED ]] || return 0
    if [[ -n ${RUNE__IN_ERROR-} ]]; then
        _rune_emit null '{"code":100,"message":"the plugin failed while reporting an error","details":{}}' 100
    fi
    rune_error 100 "unexpected failure: '${cmd:0:200}' exited with status $st ($file:$line)" \
        "$(rune_obj "$(rune_kv_str command "${cmd:0:200}")" "$(rune_kv_num status "$st")" \
            "$(rune_kv_str file "$file")" "$(rune_kv_num line "$line")")" 100
}

_rune_on_exit() {
    local st=$1
    [[ $BASHPID == "$RUNE__PID" ]] || return 0
    [[ -z $RUNE__EMITTED ]] || return 0
    ((st >= 1 && st <= 255)) || st=100
    rune_error 100 "the plugin exited with status $1 without reporting a result" \
        "$(rune_obj "$(rune_kv_num status "$1")")" "$st"
}

# ---------------------------------------------------------------------------
# Utilities
# ---------------------------------------------------------------------------

rune_log() {
    local m="$*"
    m=${m//$'\n'/ }
    printf '%s\n' "$m" >&2
}

rune_require() {
    local t missing=() IFS=$' \t\n'
    for t in "$@"; do
        command -v -- "$t" >/dev/null 2>&1 || missing+=("$t")
    done
    ((${#missing[@]} == 0)) && return 0
    local verb=is
    ((${#missing[@]} == 1)) || verb=are
    local list="${missing[*]}"
    rune_error 2 "${list// /, } $verb required but not installed on this host" \
        "$(rune_obj "$(rune_kv_raw missing "$(rune_strs "${missing[@]}")")")"
}

rune_truncate() {
    local LC_ALL=C __rune_s=${!1} __rune_b
    local -i __rune_max=$2 __rune_k __rune_need
    RUNE_TRUNCATED=false
    ((${#__rune_s} > __rune_max)) || return 0
    RUNE_TRUNCATED=true
    __rune_s=${__rune_s:0:__rune_max}
    # Drop a trailing partial UTF-8 sequence.
    for __rune_k in 1 2 3 4; do
        ((__rune_k <= ${#__rune_s})) || break
        __rune_b=${__rune_s: -__rune_k:1}
        case $__rune_b in
            [$'\x80'-$'\xbf']) continue ;;
            [$'\xc0'-$'\xdf']) __rune_need=2 ;;
            [$'\xe0'-$'\xef']) __rune_need=3 ;;
            [$'\xf0'-$'\xf7']) __rune_need=4 ;;
            *) __rune_need=1 ;;
        esac
        if ((__rune_need > __rune_k)); then
            __rune_s=${__rune_s:0:${#__rune_s}-__rune_k}
        fi
        break
    done
    printf -v "$1" '%s' "$__rune_s"
}

