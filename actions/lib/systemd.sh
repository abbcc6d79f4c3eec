# shellcheck shell=bash
# systemd.sh: helpers shared by the systemd actions (service-status,
# restart-service). Source after rune.sh and rune_read_input.
#
#   systemd_require               rune_error 2 unless systemctl exists and systemd
#                                 is PID 1 (the /run/systemd/system test of sd_booted).
#   systemd_show UNIT             Fill the associative array SYSTEMD_PROPS with the
#                                 unit's properties (systemctl show). A failing
#                                 systemctl ends the run with rune_error 2.
#   systemd_since                 Print when the unit entered its current state, as
#                                 RFC 3339 UTC when it can be read, else verbatim.
#   systemd_state_json            Print the unit's state as a JSON object (the
#                                 output_data of service-status).
#
# Unit names are always passed after "--", so a name starting with "-" is never
# read as an option.

# Properties read by systemd_show: what a responder needs to judge a unit.
SYSTEMD_PROPERTIES=Id,Description,LoadState,ActiveState,SubState,UnitFileState,Result,MainPID,NRestarts,ActiveEnterTimestamp,StateChangeTimestamp
declare -gA SYSTEMD_PROPS=()

systemd_require() {
    rune_require systemctl
    if [[ ! -d /run/systemd/system ]]; then
        rune_error 2 "systemd is not running on this host (no /run/systemd/system), so units cannot be managed" \
            "$(rune_obj "$(rune_kv_str dependency systemd)" \
                "$(rune_kv_str hint "use tail-logs with a file path, or the host's own init tools")")"
    fi
}

systemd_show() {
    local out line rc=0
    # TZ=UTC makes the timestamps "Mon 2026-11-24 03:12:45 UTC" (see systemd_since).
    out=$(TZ=UTC systemctl show --no-pager --property="$SYSTEMD_PROPERTIES" -- "$1" 2>&1) || rc=$?
    if ((rc != 0)); then
        rune_error 2 "systemctl show $1 failed: ${out%%$'\n'*}" \
            "$(rune_obj "$(rune_kv_str unit "$1")" "$(rune_kv_num status "$rc")" \
                "$(rune_kv_str output "${out:0:1000}")")"
    fi
    SYSTEMD_PROPS=()
    while IFS= read -r line; do
        [[ $line == *=* ]] || continue
        SYSTEMD_PROPS[${line%%=*}]=${line#*=}
    done <<<"$out"
    if [[ ${SYSTEMD_PROPS[LoadState]-} == not-found ]]; then
        rune_error 2 "unit $1 was not found on this host" \
            "$(rune_obj "$(rune_kv_str unit "$1")" "$(rune_kv_str load_state not-found)")"
    fi
    return 0
}

systemd_since() {
    local ts=${SYSTEMD_PROPS[ActiveEnterTimestamp]-} iso
    if [[ ${SYSTEMD_PROPS[ActiveState]-} != active ]]; then
        ts=${SYSTEMD_PROPS[StateChangeTimestamp]-}
    fi
    [[ -n $ts && $ts != n/a ]] || return 0
    # With TZ=UTC systemctl prints "Mon 2026-11-24 03:12:45 UTC".
    local re='^[A-Z][a-z]{2} ([0-9]{4}-[0-9]{2}-[0-9]{2}) ([0-9]{2}:[0-9]{2}:[0-9]{2}) UTC$'
    if [[ $ts =~ $re ]]; then
        printf '%sT%sZ' "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
    elif iso=$(date -u -d "$ts" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null); then
        printf '%s' "$iso"
    else
        printf '%s' "$ts"
    fi
}

systemd_state_json() {
    local pid=${SYSTEMD_PROPS[MainPID]-} restarts=${SYSTEMD_PROPS[NRestarts]-} active=false
    [[ $pid =~ ^[1-9][0-9]*$ ]] || pid=''
    [[ $restarts =~ ^[0-9]+$ ]] || restarts=''
    [[ ${SYSTEMD_PROPS[ActiveState]-} != active ]] || active=true
    rune_obj \
        "$(rune_kv_str unit "$1")" \
        "$(rune_kv_str_or_null id "${SYSTEMD_PROPS[Id]-}")" \
        "$(rune_kv_str_or_null description "${SYSTEMD_PROPS[Description]-}")" \
        "$(rune_kv_bool active "$active")" \
        "$(rune_kv_str_or_null load_state "${SYSTEMD_PROPS[LoadState]-}")" \
        "$(rune_kv_str_or_null active_state "${SYSTEMD_PROPS[ActiveState]-}")" \
        "$(rune_kv_str_or_null sub_state "${SYSTEMD_PROPS[SubState]-}")" \
        "$(rune_kv_str_or_null unit_file_state "${SYSTEMD_PROPS[UnitFileState]-}")" \
        "$(rune_kv_str_or_null result "${SYSTEMD_PROPS[Result]-}")" \
        "$(rune_kv_num main_pid "$pid")" \
        "$(rune_kv_num restarts "$restarts")" \
        "$(rune_kv_str_or_null since "$(systemd_since)")"
}
