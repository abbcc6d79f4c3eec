#!/usr/bin/env bash
# host-facts: a bounded snapshot of the host. Every fact is optional: one that
# cannot be read (no /proc, no /etc/os-release) is null, never an error.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/rune.sh"
rune_read_input
export LC_ALL=C

# PRETTY_NAME from os-release, read as data (never sourced).
os_name() {
    local line value
    [[ -r /etc/os-release ]] || return 0
    while IFS= read -r line || [[ -n $line ]]; do
        [[ $line == PRETTY_NAME=* ]] || continue
        value=${line#PRETTY_NAME=}
        if [[ $value == \"*\" ]]; then
            value=${value:1:${#value}-2}
            value=${value//\\\"/\"}
            value=${value//\\\\/\\}
        elif [[ $value == \'*\' ]]; then
            value=${value:1:${#value}-2}
        fi
        printf '%s' "$value"
        return 0
    done </etc/os-release
}

# Value in kB of FIELD in /proc/meminfo.
meminfo_kb() {
    local key value
    [[ -r /proc/meminfo ]] || return 0
    while read -r key value _; do
        if [[ $key == "$1:" && $value =~ ^[0-9]+$ ]]; then
            printf '%s' "$value"
            return 0
        fi
    done </proc/meminfo
}

# A number, or empty (null in the output) when $1 is not a JSON number.
num() {
    if rune_is_num "${1-}"; then printf '%s' "$1"; fi
}

hostname=$(uname -n 2>/dev/null || true)
kernel=$(uname -sr 2>/dev/null || true)
arch=$(uname -m 2>/dev/null || true)
os=$(os_name)

uptime_seconds=''
if [[ -r /proc/uptime ]]; then
    read -r up _ </proc/uptime || true
    uptime_seconds=$(num "${up%%.*}")
fi

load_json=null
if [[ -r /proc/loadavg ]]; then
    read -r l1 l5 l15 _ </proc/loadavg || true
    load_json=$(rune_obj "$(rune_kv_num load1 "$(num "$l1")")" "$(rune_kv_num load5 "$(num "$l5")")" \
        "$(rune_kv_num load15 "$(num "$l15")")")
fi

memory_json=null
mem_total=$(meminfo_kb MemTotal)
if [[ -n $mem_total ]]; then
    memory_json=$(rune_obj "$(rune_kv_num total_kb "$mem_total")" \
        "$(rune_kv_num available_kb "$(meminfo_kb MemAvailable)")" \
        "$(rune_kv_num swap_total_kb "$(meminfo_kb SwapTotal)")" \
        "$(rune_kv_num swap_free_kb "$(meminfo_kb SwapFree)")")
fi

# df -P prints one line per filesystem; the last five fields are numbers and the mount.
root_disk_json=null
if command -v df >/dev/null && df_out=$(df -P -k / 2>/dev/null); then
    mapfile -t df_lines <<<"$df_out"
    if ((${#df_lines[@]} >= 2)); then
        read -r -a f <<<"${df_lines[1]}"
        n=${#f[@]}
        if ((n >= 6)); then
            fs="${f[*]:0:n-5}"
            root_disk_json=$(rune_obj "$(rune_kv_str filesystem "$fs")" \
                "$(rune_kv_num size_kb "$(num "${f[n - 5]}")")" \
                "$(rune_kv_num used_kb "$(num "${f[n - 4]}")")" \
                "$(rune_kv_num available_kb "$(num "${f[n - 3]}")")" \
                "$(rune_kv_num use_percent "$(num "${f[n - 2]%\%}")")" \
                "$(rune_kv_str mount "${f[n - 1]}")")
        fi
    fi
fi

cpu_count=$(num "$(nproc 2>/dev/null || true)")

rune_success "$(rune_obj \
    "$(rune_kv_str_or_null hostname "$hostname")" \
    "$(rune_kv_str_or_null kernel "$kernel")" \
    "$(rune_kv_str_or_null arch "$arch")" \
    "$(rune_kv_str_or_null os "$os")" \
    "$(rune_kv_num uptime_seconds "$uptime_seconds")" \
    "$(rune_kv_raw load "$load_json")" \
    "$(rune_kv_raw memory "$memory_json")" \
    "$(rune_kv_raw root_disk "$root_disk_json")" \
    "$(rune_kv_num cpu_count "$cpu_count")")"
