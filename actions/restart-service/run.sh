#!/usr/bin/env bash
# shellcheck disable=SC2154 # parameters are assigned by rune_*_param (printf -v)
# restart-service: systemctl restart, then poll is-active once a second until the
# unit is active, has failed, or `wait` seconds have passed.
set -euo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
source "$here/../lib/rune.sh"
source "$here/../lib/systemd.sh"
rune_read_input

rune_str_param unit unit '^[A-Za-z0-9@._:-]+$'
rune_int_param wait wait 5 120 30
systemd_require

# Refuses unknown units (code 2) before anything is touched.
systemd_show "$unit"
before=${SYSTEMD_PROPS[ActiveState]-unknown}

rune_log "restarting $unit (was $before)"
rc=0
out=$(systemctl restart -- "$unit" 2>&1) || rc=$?
if ((rc != 0)); then
    details=$(rune_obj "$(rune_kv_str unit "$unit")" "$(rune_kv_num status "$rc")" \
        "$(rune_kv_str output "${out:0:2000}")")
    case $out in
        *"Access denied"* | *"authentication required"* | *"Permission denied"* | *"Interactive authentication"*)
            rune_error 4 "not permitted to restart $unit: run the action as root or grant the rights" "$details"
            ;;
    esac
    rune_error 3 "systemctl restart $unit failed: ${out%%$'\n'*}" "$details"
fi

start=$SECONDS
state=unknown
while :; do
    state=$(systemctl is-active -- "$unit" 2>/dev/null) || true
    [[ $state != active && $state != failed ]] || break
    ((SECONDS - start < wait)) || break
    sleep 1
done
waited=$((SECONDS - start))

systemd_show "$unit"
result=$(rune_obj "$(rune_kv_str_or_null previous_state "$before")" "$(rune_kv_num waited_seconds "$waited")" \
    "$(rune_kv_raw state "$(systemd_state_json "$unit")")")
if [[ $state != active ]]; then
    rune_error 3 "unit $unit is $state after the restart, not active (waited ${waited}s)" "$result"
fi
rune_log "$unit is active again after ${waited}s"
rune_success "$result"
