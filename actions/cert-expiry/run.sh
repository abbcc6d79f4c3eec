#!/usr/bin/env bash
# shellcheck disable=SC2154 # parameters are assigned by rune_*_param (printf -v)
# cert-expiry: openssl x509 on a PEM file or on the leaf certificate a TLS
# endpoint presents (openssl s_client, no verification: an untrusted or expired
# certificate is exactly what one wants to see). Expired is a result, not an error.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/rune.sh"
rune_read_input
export LC_ALL=C

# How long the TLS handshake may take before the endpoint counts as unreachable.
CONNECT_TIMEOUT=10

rune_str_param path path '^/[A-Za-z0-9._/@+-]*$' ''
rune_str_param target target '^([A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\]):[0-9]{1,5}$' ''
if [[ -n $path && -n $target ]] || [[ -z $path && -z $target ]]; then
    rune_error 1 "give exactly one of the parameters 'path' or 'target'"
fi
rune_require openssl

x509_fields() {
    # RFC 2253 names, with UTF-8 kept as is rather than escaped as \C3\9C.
    openssl x509 -noout -nameopt RFC2253 -nameopt -esc_msb -subject -issuer -startdate -enddate -serial -fingerprint -sha256 "$@"
}

if [[ -n $path ]]; then
    source_json=$(rune_kv_str path "$path")
    if [[ ! -f $path ]]; then
        rune_error 1 "certificate file $path does not exist on this host" "$(rune_obj "$source_json")"
    fi
    if [[ ! -r $path ]]; then
        rune_error 2 "certificate file $path is not readable" "$(rune_obj "$source_json")"
    fi
    rc=0
    info=$(x509_fields -in "$path" 2>&1) || rc=$?
    if ((rc != 0)); then
        rune_error 1 "$path does not hold a PEM certificate" \
            "$(rune_obj "$source_json" "$(rune_kv_str openssl "${info:0:500}")")"
    fi
else
    source_json=$(rune_kv_str target "$target")
    rune_require timeout
    host=${target%:*}
    host=${host#[}
    host=${host%]}
    sni=()
    # SNI carries names only, never IP literals.
    if [[ ! $host =~ ^[0-9.]+$ && $host != *:* ]]; then
        sni=(-servername "$host")
    fi
    rune_log "connecting to $target"
    rc=0
    chain=$(timeout "$CONNECT_TIMEOUT" openssl s_client -connect "$target" ${sni[@]+"${sni[@]}"} </dev/null 2>&1) || rc=$?
    if [[ $chain != *"-----BEGIN CERTIFICATE-----"* ]]; then
        why="no certificate received"
        ((rc != 124)) || why="timed out after ${CONNECT_TIMEOUT}s"
        # The last few non-empty lines of openssl's chatter say why.
        mapfile -t said <<<"$chain"
        last=''
        for line in "${said[@]}"; do
            if [[ $line == *[![:space:]]* ]]; then last+="${last:+ | }$line"; fi
        done
        if ((${#last} > 500)); then last=${last: -500}; fi
        rune_error 2 "cannot read a certificate from $target: $why" \
            "$(rune_obj "$source_json" "$(rune_kv_num status "$rc")" "$(rune_kv_str openssl "$last")")"
    fi
    rc=0
    info=$(printf '%s\n' "$chain" | x509_fields 2>&1) || rc=$?
    if ((rc != 0)); then
        rune_error 3 "$target presented a certificate openssl cannot parse" \
            "$(rune_obj "$source_json" "$(rune_kv_str openssl "${info:0:500}")")"
    fi
fi

declare -A f=()
while IFS= read -r line; do
    case $line in
        subject=*) f[subject]=${line#subject=} ;;
        issuer=*) f[issuer]=${line#issuer=} ;;
        notBefore=*) f[not_before]=${line#notBefore=} ;;
        notAfter=*) f[not_after]=${line#notAfter=} ;;
        serial=*) f[serial]=${line#serial=} ;;
        *[Ff]ingerprint=*) f[fingerprint]=${line#*=} ;;
    esac
done <<<"$info"
# OpenSSL 1.0 wrote "subject= /CN=..".
f[subject]=${f[subject]-}
f[subject]=${f[subject]# }
f[issuer]=${f[issuer]-}
f[issuer]=${f[issuer]# }

# Epoch seconds of openssl's "Dec 24 23:29:17 2026 GMT", in bash arithmetic:
# busybox date -d cannot read that format. Status 1 for anything else.
openssl_epoch() {
    local re='^([A-Z][a-z]{2}) +([0-9]{1,2}) ([0-9]{2}):([0-9]{2}):([0-9]{2}) ([0-9]{4}) GMT$'
    local months=JanFebMarAprMayJunJulAugSepOctNovDec before
    [[ $1 =~ $re ]] || return 1
    before=${months%%"${BASH_REMATCH[1]}"*}
    ((${#before} < 36 && ${#before} % 3 == 0)) || return 1
    local -i m=$((${#before} / 3 + 1)) d=10#${BASH_REMATCH[2]} y=10#${BASH_REMATCH[6]}
    local -i secs=$((10#${BASH_REMATCH[3]} * 3600 + 10#${BASH_REMATCH[4]} * 60 + 10#${BASH_REMATCH[5]}))
    # days_from_civil (H. Hinnant): proleptic Gregorian date -> days since 1970-01-01.
    y=$((y - (m <= 2 ? 1 : 0)))
    local -i era=$(((y >= 0 ? y : y - 399) / 400))
    local -i yoe=$((y - era * 400))
    local -i doy=$(((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1))
    local -i doe=$((yoe * 365 + yoe / 4 - yoe / 100 + doy))
    printf '%s' $(((era * 146097 + doe - 719468) * 86400 + secs))
}

# RFC 3339 UTC of an openssl time; verbatim when it cannot be read.
to_rfc3339() {
    local epoch TZ=UTC0
    [[ -n $1 ]] || return 0
    if epoch=$(openssl_epoch "$1"); then
        printf '%(%Y-%m-%dT%H:%M:%SZ)T' "$epoch"
    else
        printf '%s' "$1"
    fi
}

# Exit 0 when the certificate is still valid now (when notAfter could not be read).
still_valid() {
    if [[ -n $path ]]; then
        openssl x509 -noout -checkend 0 -in "$path" >/dev/null 2>&1
    else
        printf '%s\n' "$chain" | openssl x509 -noout -checkend 0 >/dev/null 2>&1
    fi
}
not_after=$(to_rfc3339 "${f[not_after]-}")
not_before=$(to_rfc3339 "${f[not_before]-}")

days_left=''
expired=''
if end=$(openssl_epoch "${f[not_after]-}"); then
    printf -v now '%(%s)T' -1
    diff=$((end - now))
    # Floor, so a certificate that expired an hour ago has -1 days left.
    days_left=$((diff / 86400))
    if ((diff < 0 && diff % 86400 != 0)); then
        days_left=$((days_left - 1))
    fi
    expired=false
    ((diff > 0)) || expired=true
elif still_valid; then
    expired=false
else
    expired=true
fi
rune_log "not after ${f[not_after]-?} (${days_left:-?} days left)"

rune_success "$(rune_obj \
    "$source_json" \
    "$(rune_kv_str_or_null subject "${f[subject]-}")" \
    "$(rune_kv_str_or_null issuer "${f[issuer]-}")" \
    "$(rune_kv_str_or_null not_before "$not_before")" \
    "$(rune_kv_str_or_null not_after "$not_after")" \
    "$(rune_kv_num days_left "$days_left")" \
    "$(rune_kv_bool expired "$expired")" \
    "$(rune_kv_str_or_null serial "${f[serial]-}")" \
    "$(rune_kv_str_or_null sha256_fingerprint "${f[fingerprint]-}")")"
