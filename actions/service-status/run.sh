#!/usr/bin/env bash
# shellcheck disable=SC2154 # parameters are assigned by rune_*_param (printf -v)
# service-status: systemctl show for one unit. Also the verify step of
# restart-service, hence "not active" is a failure by default (require_active).
set -euo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
source "$here/../lib/rune.sh"
source "$here/../lib/systemd.sh"
rune_read_input

rune_str_param unit unit '^[A-Za-z0-9@._:-]+$'
rune_bool_param require_active require_active true
systemd_require

systemd_show "$unit"
state=$(systemd_state_json "$unit")
active_state=${SYSTEMD_PROPS[ActiveState]-unknown}
rune_log "$unit: ${SYSTEMD_PROPS[LoadState]-?} $active_state (${SYSTEMD_PROPS[SubState]-?})"

if [[ $require_active == true && $active_state != active ]]; then
    rune_error 3 "unit $unit is $active_state (${SYSTEMD_PROPS[SubState]-unknown}), not active" "$state"
fi
rune_success "$state"
