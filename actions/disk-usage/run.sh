#!/usr/bin/env bash
# shellcheck disable=SC2154 # parameters are assigned by rune_*_param (printf -v)
# disk-usage: du -x -a -k -d 1 under a path, largest entries first. Unreadable
# entries make the result partial (with a sample of du's complaints), not an error.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/rune.sh"
rune_read_input
export LC_ALL=C

# Error lines kept in the output: enough to explain "partial", bounded.
MAX_ERROR_LINES=5

rune_str_param path path '^/[A-Za-z0-9._/@+-]*$' /var/log
rune_int_param top top 1 100 10
rune_require du sort

if [[ ! -e $path ]]; then
    rune_error 1 "path $path does not exist on this host" "$(rune_obj "$(rune_kv_str path "$path")")"
fi

rune_log "measuring $path (top $top)"
# du reports unreadable entries on stderr and exits 1 but still measures the rest;
# merge the streams and tell the lines apart ("<kb><TAB><path>" versus "du: ...").
du_rc=0
du_out=$(du -x -a -k -d 1 -- "$path" 2>&1) || du_rc=$?

total_kb=''
errors=()
entries=()
tab=$'\t'
while IFS= read -r line; do
    if [[ $line =~ ^([0-9]+)$tab(.*)$ ]]; then
        if [[ ${BASH_REMATCH[2]} == "$path" ]]; then
            total_kb=${BASH_REMATCH[1]}
        else
            entries+=("$line")
        fi
    elif [[ -n $line ]]; then
        errors+=("$line")
    fi
done <<<"$du_out"

if [[ -z $total_kb ]]; then
    rune_error 3 "du could not measure $path" "$(rune_obj "$(rune_kv_str path "$path")" \
        "$(rune_kv_num du_status "$du_rc")" \
        "$(rune_kv_raw errors "$(rune_strs "${errors[@]:0:MAX_ERROR_LINES}")")")"
fi

largest=()
if ((${#entries[@]} > 0)); then
    sorted=$(printf '%s\n' "${entries[@]}" | sort -t "$tab" -k1,1nr -k2,2)
    mapfile -t -n "$top" largest <<<"$sorted"
fi

items=()
for line in ${largest[@]+"${largest[@]}"}; do
    items+=("$(rune_obj "$(rune_kv_str path "${line#*"$tab"}")" "$(rune_kv_num kb "${line%%"$tab"*}")")")
done

partial=false
((${#errors[@]} == 0)) || partial=true
rune_success "$(rune_obj \
    "$(rune_kv_str path "$path")" \
    "$(rune_kv_num total_kb "$total_kb")" \
    "$(rune_kv_num entries_seen "${#entries[@]}")" \
    "$(rune_kv_raw largest "$(rune_arr ${items[@]+"${items[@]}"})")" \
    "$(rune_kv_bool partial "$partial")" \
    "$(rune_kv_raw errors "$(rune_strs ${errors[@]+"${errors[@]:0:MAX_ERROR_LINES}"})")")"
