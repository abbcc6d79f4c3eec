#!/usr/bin/env bash
# shellcheck disable=SC2154 # parameters are assigned by rune_*_param (printf -v)
# noop: echo the parameters and part of the context; fail=true forces code 3.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/rune.sh"
rune_read_input

rune_bool_param fail fail false
rune_str_param message message '' ''

if [[ $fail == true ]]; then
    rune_error 3 "forced failure" "$(rune_obj "$(rune_kv_str reason "fail=true was requested")")"
fi

message_json=null
if rune_has_param message; then
    message_json=$(rune_json_str "$message")
fi
context=$(rune_obj "$(rune_kv_str node "$RUNE_NODE")" "$(rune_kv_str action "$RUNE_ACTION")")
rune_log "noop on ${RUNE_NODE:-?}: echoing $(rune_params_json | wc -c) bytes of parameters"
rune_success "$(rune_obj \
    "$(rune_kv_raw input_parameters "$(rune_params_json)")" \
    "$(rune_kv_raw context "$context")" \
    "$(rune_kv_raw message "$message_json")")"
