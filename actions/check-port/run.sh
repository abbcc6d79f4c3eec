#!/usr/bin/env bash
# shellcheck disable=SC2154 # parameters are assigned by rune_*_param (printf -v)
# check-port: a TCP connect through bash's /dev/tcp under coreutils timeout.
# open/refused/timeout/unreachable are results (success); a name that does not
# resolve is an error (code 2), since nothing was learned about the port.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/rune.sh"
rune_read_input
export LC_ALL=C

rune_str_param host host '^[A-Za-z0-9._:-]+$'
rune_int_param port port 1 65535
rune_int_param timeout_ms timeout_ms 100 30000 3000
rune_require timeout

# Milliseconds since the epoch (bash 5 has EPOCHREALTIME; else GNU date).
now_ms() {
    if [[ -n ${EPOCHREALTIME-} ]]; then
        local us=${EPOCHREALTIME/[.,]/}
        printf '%s' $((10#$us / 1000))
    else
        local ns
        ns=$(date +%s%N)
        [[ $ns =~ ^[0-9]+$ ]] || ns=$(($(date +%s) * 1000000000))
        printf '%s' $((ns / 1000000))
    fi
}

secs=$(printf '%d.%03d' $((timeout_ms / 1000)) $((timeout_ms % 1000)))
rune_log "connecting to $host:$port (timeout ${timeout_ms}ms)"
t0=$(now_ms)
rc=0
# Host and port are arguments of the inner shell, never part of its script text.
# shellcheck disable=SC2016
msg=$(timeout "$secs" "${BASH:-bash}" -c 'exec 3<>"/dev/tcp/$1/$2"' check-port "$host" "$port" 2>&1) || rc=$?
t1=$(now_ms)
latency=$((t1 - t0))

case $rc:$msg in
    0:*) open=true reason=connected ;;
    124:*) open=false reason=timeout ;;
    *"Connection refused"*) open=false reason=refused ;;
    *"No route to host"* | *"Network is unreachable"* | *"Cannot assign requested address"*)
        open=false reason=unreachable
        ;;
    *"Name or service not known"* | *"not known"* | *"Temporary failure in name resolution"* | *"No address associated"* | *"nodename nor servname"*)
        rune_error 2 "cannot resolve host $host from ${RUNE_NODE:-this host}" \
            "$(rune_obj "$(rune_kv_str host "$host")" "$(rune_kv_str output "${msg:0:500}")")"
        ;;
    *) open=false reason=error ;;
esac
rune_log "$host:$port $reason after ${latency}ms"

detail=''
[[ $reason == connected || $reason == timeout ]] || detail=${msg##*: }
rune_success "$(rune_obj \
    "$(rune_kv_str host "$host")" \
    "$(rune_kv_num port "$port")" \
    "$(rune_kv_bool open "$open")" \
    "$(rune_kv_str reason "$reason")" \
    "$(rune_kv_num latency_ms "$latency")" \
    "$(rune_kv_num timeout_ms "$timeout_ms")" \
    "$(rune_kv_str_or_null detail "${detail:0:300}")")"
