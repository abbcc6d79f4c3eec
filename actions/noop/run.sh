#!/usr/bin/env bash
# shellcheck disable=SC2154 # parameters are assigned by rune_*_param (printf -v)
# noop: echo the parameters and part of the context; fail=true forces code 3.
# Also the fan-out benchmark's action, so it builds its output with the SDK's
# _to forms: no $(...) subshell, no fork beyond the SDK's one `cat`.
set -euo pipefail
here=${BASH_SOURCE[0]%/*}
[[ $here != "${BASH_SOURCE[0]}" ]] || here=.
source "$here/../lib/rune.sh"
rune_read_input

rune_bool_param fail fail false
rune_str_param message message '' ''

if [[ $fail == true ]]; then
    rune_error 3 "forced failure" '{"reason":"fail=true was requested"}'
fi

message_json=null
if rune_has_param message; then
    rune_json_str_to message_json "$message"
fi
rune_kv_str_to node node "$RUNE_NODE"
rune_kv_str_to action action "$RUNE_ACTION"
rune_obj_to context "$node" "$action"
rune_params_json_to params
rune_log "noop on ${RUNE_NODE:-?}: echoing ${#params} characters of parameters"
rune_kv_raw_to m1 input_parameters "$params"
rune_kv_raw_to m2 context "$context"
rune_kv_raw_to m3 message "$message_json"
rune_obj_to output "$m1" "$m2" "$m3"
rune_success "$output"
