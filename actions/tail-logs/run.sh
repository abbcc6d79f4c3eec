#!/usr/bin/env bash
# shellcheck disable=SC2154 # parameters are assigned by rune_*_param (printf -v)
# tail-logs: the newest lines of a file (tail -n) or a unit's journal
# (journalctl). Output is bounded: each line is cut at MAX_LINE_BYTES and the
# oldest lines are dropped once MAX_TOTAL_BYTES is reached (truncated=true).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/rune.sh"
rune_read_input
export LC_ALL=C

# A log line longer than this is cut: one runaway line must not fill the result.
MAX_LINE_BYTES=4096
# Bytes of JSON for the lines array: about 1 MiB, leaving room for the envelope
# under a 1 MiB stdout cap; the mediator's cap must never be what cuts the output.
MAX_TOTAL_BYTES=$((1024 * 1024 - 16 * 1024))

rune_str_param path path '^/[A-Za-z0-9._/@+-]*$' ''
rune_str_param unit unit '^[A-Za-z0-9@._:-]+$' ''
rune_int_param lines lines 1 5000 100

if [[ -n $path && -n $unit ]] || [[ -z $path && -z $unit ]]; then
    rune_error 1 "give exactly one of the parameters 'path' or 'unit'" \
        "$(rune_obj "$(rune_kv_bool path_given "$([[ -n $path ]] && echo true || echo false)")" \
            "$(rune_kv_bool unit_given "$([[ -n $unit ]] && echo true || echo false)")")"
fi

# Reading one byte past the cap tells a cut line from one that fits exactly.
cut_bytes=$((MAX_LINE_BYTES + 1))
if [[ -n $path ]]; then
    source_kind="file"
    rune_require tail cut
    if [[ ! -e $path ]]; then
        rune_error 1 "file $path does not exist on this host" "$(rune_obj "$(rune_kv_str path "$path")")"
    fi
    if [[ -d $path ]]; then
        rune_error 1 "$path is a directory, not a log file" "$(rune_obj "$(rune_kv_str path "$path")")"
    fi
    if [[ ! -r $path ]]; then
        rune_error 2 "file $path is not readable by $(id -un 2>/dev/null || echo "this user")" \
            "$(rune_obj "$(rune_kv_str path "$path")")"
    fi
    rune_log "tail -n $lines $path"
    # The trailing "x" keeps trailing empty lines that $(...) would strip.
    if ! text=$(tail -n "$lines" -- "$path" | cut -b "1-$cut_bytes" && printf x); then
        rune_error 3 "tail of $path failed" "$(rune_obj "$(rune_kv_str path "$path")")"
    fi
else
    source_kind="journal"
    if ! command -v journalctl >/dev/null 2>&1; then
        rune_error 2 "journalctl is required but not installed on this host" \
            "$(rune_obj "$(rune_kv_str dependency journalctl)" "$(rune_kv_str hint "pass a file path instead of a unit")")"
    fi
    rune_require cut
    rune_log "journalctl -u $unit -n $lines"
    # journalctl's own complaints (no access to the journal, ...) go to stderr,
    # which the operator sees; only its stdout becomes lines.
    if ! text=$(journalctl --unit="$unit" --lines="$lines" --no-pager --quiet --output=short-iso |
        cut -b "1-$cut_bytes" && printf x); then
        rune_error 2 "journalctl could not read the journal of $unit (see stderr)" \
            "$(rune_obj "$(rune_kv_str unit "$unit")")"
    fi
fi
text=${text%x}
text=${text%$'\n'}

all=()
if [[ -n $text ]]; then
    mapfile -t all <<<"$text"
fi

# Newest lines win: walk back from the end until the byte budget is spent. The
# budget counts the lines as JSON (escapes included), so it bounds the output.
truncated=false
kept=()
total=0
for ((i = ${#all[@]} - 1; i >= 0; i--)); do
    line=${all[i]}
    if ((${#line} > MAX_LINE_BYTES)); then
        rune_truncate line "$MAX_LINE_BYTES"
        truncated=true
    fi
    rune_json_str_to lit "$line"
    if ((total + ${#lit} + 1 > MAX_TOTAL_BYTES)); then
        truncated=true
        break
    fi
    total=$((total + ${#lit} + 1))
    kept[i]=$lit
done

lines_json='[]'
if ((${#kept[@]} > 0)); then
    printf -v lines_json '%s,' "${kept[@]}"
    lines_json="[${lines_json%,}]"
fi
if [[ -n $path ]]; then
    origin=$(rune_kv_str path "$path")
else
    origin=$(rune_kv_str unit "$unit")
fi
rune_success "$(rune_obj \
    "$(rune_kv_str source "$source_kind")" \
    "$origin" \
    "$(rune_kv_num lines_requested "$lines")" \
    "$(rune_kv_num lines_returned "${#kept[@]}")" \
    "$(rune_kv_bool truncated "$truncated")" \
    "$(rune_kv_raw lines "$lines_json")")"
