#!/usr/bin/env bash
# shellcheck disable=SC2154 # parameters are assigned by rune_*_param (printf -v)
# process-top: ps -eo ... ranked with sort. cpu_percent is ps's %CPU: CPU time
# over the process's lifetime, not an instantaneous sample.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/rune.sh"
rune_read_input
export LC_ALL=C

# Command lines are cut here: argv can be megabytes (java classpaths).
MAX_COMMAND_BYTES=200

rune_enum_param by by "cpu memory" cpu
rune_int_param count count 1 50 10
rune_require ps sort

rc=0
table=$(ps -e -o pid= -o user:32= -o pcpu= -o pmem= -o rss= -o args= 2>&1) || rc=$?
if ((rc != 0)); then
    rune_error 2 "ps on this host does not support -o pid,user,pcpu,pmem,rss,args (procps ps is required)" \
        "$(rune_obj "$(rune_kv_str dependency procps)" "$(rune_kv_num status "$rc")" \
            "$(rune_kv_str output "${table:0:500}")")"
fi

# Rank: cpu by %CPU then RSS; memory by RSS then %CPU; ties by PID.
if [[ $by == cpu ]]; then
    keys=("-k3,3nr" "-k5,5nr" "-k1,1n")
else
    keys=("-k5,5nr" "-k3,3nr" "-k1,1n")
fi
sorted=$(printf '%s\n' "$table" | sort "${keys[@]}")
mapfile -t rows <<<"$table"
total=${#rows[@]}
mapfile -t -n "$count" top <<<"$sorted"

num_or_empty() { if rune_is_num "$1"; then printf '%s' "$1"; fi; }
items=()
for row in "${top[@]}"; do
    read -r pid user cpu mem rss cmd <<<"$row" || true
    [[ $pid =~ ^[0-9]+$ ]] || continue
    cmd=${cmd-}
    rune_truncate cmd "$MAX_COMMAND_BYTES"
    items+=("$(rune_obj \
        "$(rune_kv_num pid "$pid")" \
        "$(rune_kv_str user "$user")" \
        "$(rune_kv_num cpu_percent "$(num_or_empty "$cpu")")" \
        "$(rune_kv_num mem_percent "$(num_or_empty "$mem")")" \
        "$(rune_kv_num rss_kb "$(num_or_empty "$rss")")" \
        "$(rune_kv_str command "$cmd")" \
        "$(rune_kv_bool command_truncated "$RUNE_TRUNCATED")")")
done

rune_success "$(rune_obj \
    "$(rune_kv_str by "$by")" \
    "$(rune_kv_num count "${#items[@]}")" \
    "$(rune_kv_num total_processes "$total")" \
    "$(rune_kv_raw processes "$(rune_arr ${items[@]+"${items[@]}"})")")"
