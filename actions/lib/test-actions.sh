#!/usr/bin/env bash
# Plugin bodies are single-quoted on purpose; checks read as "test && ok || bad".
# shellcheck disable=SC2016,SC2015
# test-actions.sh: runs every shipped action the way RUNE does and checks its
# stdout (exactly one BPCS object), exit status and output_data with jq.
#
# Usage: actions/lib/test-actions.sh [-v]
# Needs bash, coreutils, jq and openssl. Optional: python3 (an unanswered-port
# listener for the timeout case), unshare -m as root (a fake systemd in a private
# mount namespace), setpriv (the non-root cases). Missing optional parts are skipped.
# Exits 0 when every check passes, 1 otherwise. Not part of any action bundle.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CATALOG=$(dirname "$HERE")
EXAMPLE=/work/shared/examples/bpcs-input.json
VERBOSE=${1-}
for tool in jq openssl; do
    command -v "$tool" >/dev/null || {
        echo "test-actions.sh: $tool is required" >&2
        exit 2
    }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/rune-actions-test.XXXXXX")
chmod 755 "$WORK"
PIDS=()
cleanup() {
    local p
    for p in ${PIDS[@]+"${PIDS[@]}"}; do kill "$p" 2>/dev/null; done
    rm -rf "$WORK"
}
trap cleanup EXIT

PASS=0
FAIL=0
SKIP=0
ok() {
    PASS=$((PASS + 1))
    [[ $VERBOSE != -v ]] || printf 'ok   %s\n' "$1"
}
bad() {
    FAIL=$((FAIL + 1))
    printf 'FAIL %s\n' "$1"
    [[ -z ${2-} ]] || printf '     %s\n' "${2:0:1500}"
}
skip() {
    SKIP=$((SKIP + 1))
    printf 'skip %s\n' "$1"
}

if [[ ! -f $EXAMPLE ]]; then
    EXAMPLE=$WORK/example.json
    printf '%s\n' '{"message_metadata":{"version":"1.0","message_id":"01937a52-9c1e-7c2a-8f3d-2b7e5a1c4d90","correlation_id":"01937a52-9c1d-7b11-a0c4-6f1e2d3c4b5a","created_at":"2026-11-24T03:12:45.118Z"},"payload":{"input_parameters":{},"context":{"node":"web-1","triggered_by":"console","requested_by":"alice@ops-laptop","action":"x","incident_id":"01937a40-0f00-7a00-b000-000000000001","transport":"ssh"}},"observability":{"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7"}}' >"$EXAMPLE"
fi

# --- manifests and files ----------------------------------------------------

ACTIONS=()
for manifest in "$CATALOG"/*/action.toml; do
    dir=$(dirname "$manifest")
    name=$(basename "$dir")
    ACTIONS+=("$name")
    if [[ $(sed -n 's/^name = "\(.*\)"$/\1/p' "$manifest") == "$name" ]]; then ok "$name: name = folder"; else bad "$name: name = folder"; fi
    [[ $(stat -c %a "$dir") == 755 && $(stat -c %a "$dir/run.sh") == 755 && $(stat -c %a "$manifest") == 644 ]] &&
        ok "$name: modes" || bad "$name: modes" "$(stat -c '%a %n' "$dir" "$dir/run.sh" "$manifest")"
    [[ $(head -n 1 "$dir/run.sh") == '#!/usr/bin/env bash' ]] && bash -n "$dir/run.sh" &&
        ok "$name: shebang and syntax" || bad "$name: shebang and syntax"
    # Only bash builtins and coreutils may be used unprobed; these must be probed.
    for tool in jq python3 python perl awk sed grep curl nc wget; do
        if grep -Eq "(^|[|;&(\$] *|\\\$\\()$tool " "$dir/run.sh"; then bad "$name: uses $tool"; fi
    done
done

# --- running an action like RUNE does ----------------------------------------

# bundle NAME: copy the entry and its `files` into a fresh dir, keeping the
# catalog-relative layout; prints the action's folder inside the bundle.
bundle() {
    local name=$1 b entry files f
    b=$(mktemp -d "$WORK/bundle.XXXXXX")
    chmod 755 "$b"
    mkdir -p "$b/$name"
    entry=$(sed -n 's/^entry = "\(.*\)"$/\1/p' "$CATALOG/$name/action.toml")
    cp -p "$CATALOG/$name/$entry" "$b/$name/$entry"
    files=$(sed -n 's/^files = \[\(.*\)\]$/\1/p' "$CATALOG/$name/action.toml" | tr -d '",')
    for f in $files; do
        mkdir -p "$(dirname "$b/$name/$f")"
        cp -p "$CATALOG/$name/$f" "$b/$name/$f"
    done
    printf '%s/%s' "$b" "$name"
}

# act NAME PARAMS [jq-flags...]: runs NAME with PARAMS; sets OUT ERR RC.
# RUN_PREFIX (an array) may wrap the run (env PATH=..., setpriv ...).
RUN_PREFIX=()
act() {
    local name=$1 params=$2 dir entry
    shift 2
    dir=$(bundle "$name")
    entry=$(sed -n 's/^entry = "\(.*\)"$/\1/p' "$CATALOG/$name/action.toml")
    jq "$@" --argjson p "$params" --arg a "$name" \
        '.payload.input_parameters = $p | .payload.context.action = $a' "$EXAMPLE" >"$dir/../in.json"
    RC=0
    (cd "$dir" && ${RUN_PREFIX[@]+"${RUN_PREFIX[@]}"} "./$entry" <"../in.json" >../out 2>../err) || RC=$?
    OUT=$(cat "$dir/../out")
    ERR=$(cat "$dir/../err")
    LAST=$dir/../out
}

shape_ok() {
    [[ $(jq -s 'length' "$LAST" 2>/dev/null) == 1 ]] || return 1
    jq -e --argjson rc "$RC" '
      type == "object"
      and .message_metadata.message_id == "01937a52-9c1e-7c2a-8f3d-2b7e5a1c4d90"
      and .message_metadata.correlation_id == "01937a52-9c1d-7b11-a0c4-6f1e2d3c4b5a"
      and .observability == {"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7"}
      and (.message_metadata.created_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$"))
      and (if $rc == 0
           then .payload.result == "success" and (.payload.output_data | type) == "object" and .error == null
           else .payload == null and (.error.code | type) == "number"
                and (.error.message | type) == "string" and (.error.details | type) == "object" end)
    ' "$LAST" >/dev/null 2>&1
}

# expect_ok NAME PARAMS JQ-FILTER-ON-output_data
expect_ok() {
    act "$1" "$2"
    if shape_ok && [[ $RC == 0 ]] && jq -e ".payload.output_data | ($3)" "$LAST" >/dev/null 2>&1; then
        ok "$1 $2"
    else
        bad "$1 $2" "rc=$RC out=${OUT:0:800} err=${ERR:0:400}"
    fi
}

# expect_err NAME PARAMS CODE [MESSAGE-PHRASE]
expect_err() {
    act "$1" "$2"
    if shape_ok && [[ $RC == "$3" ]] && [[ $(jq -r .error.code "$LAST") == "$3" ]] &&
        [[ -z ${4-} || $(jq -r .error.message "$LAST") == *"$4"* ]]; then
        ok "$1 $2 -> code $3"
    else
        bad "$1 $2 -> code $3" "rc=$RC out=${OUT:0:800} err=${ERR:0:400}"
    fi
}

# --- noop ---------------------------------------------------------------------

expect_ok noop '{}' '.input_parameters == {} and .context == {"node":"web-1","action":"noop"} and .message == null'
expect_ok noop '{"message":"ünïcødé ✓ \"q\" \\ \n\t\u001b 😀","n":[1,{"a":null}]}' \
    '.message == "ünïcødé ✓ \"q\" \\ \n\t\u001b 😀" and .input_parameters.n == [1,{"a":null}]'
expect_ok noop '{"fail":false,"message":""}' '.message == "" and .input_parameters.fail == false'
expect_err noop '{"fail":true}' 3 "forced failure"
expect_err noop '{"fail":"maybe"}' 1 "boolean"
act noop '{"message":"pretty"}' --indent 4
if shape_ok && [[ $RC == 0 ]]; then ok "noop pretty-printed input"; else bad "noop pretty-printed input" "$OUT"; fi
act noop '{"message":"ascii only é 😀"}' -a
if [[ $RC == 0 && $(jq -r .payload.output_data.message "$LAST") == "ascii only é 😀" ]]; then ok "noop \\u-escaped input"; else bad "noop \\u-escaped input" "$OUT"; fi

# --- host-facts -----------------------------------------------------------------

expect_ok host-facts '{}' '(.hostname | type) == "string" and (.kernel | startswith("Linux"))
  and (.uptime_seconds | type) == "number" and (.load.load1 | type) == "number"
  and .memory.total_kb > 0 and .root_disk.mount == "/" and .root_disk.size_kb > 0
  and (.root_disk.use_percent | type) == "number" and .cpu_count >= 1'

# --- disk-usage -----------------------------------------------------------------

du_dir=$WORK/du
mkdir -p "$du_dir/big" "$du_dir/small" "$du_dir/sp ace"
head -c 300000 /dev/zero >"$du_dir/big/f"
head -c 20000 /dev/zero >"$du_dir/small/f"
head -c 100000 /dev/zero >"$du_dir/file.bin"
expect_ok disk-usage "{\"path\":\"$du_dir\",\"top\":2}" ".path == \"$du_dir\" and (.largest | length) == 2
  and .largest[0].path == \"$du_dir/big\" and .largest[1].path == \"$du_dir/file.bin\"
  and .largest[0].kb >= .largest[1].kb and .total_kb >= .largest[0].kb and .entries_seen == 4 and .partial == false"
expect_ok disk-usage '{}' '.path == "/var/log" and (.largest | length) <= 10'
expect_ok disk-usage "{\"path\":\"$du_dir/file.bin\"}" '.largest == [] and .total_kb > 0'
expect_err disk-usage '{"path":"/nonexistent/dir"}' 1 "does not exist"
expect_err disk-usage '{"path":"relative/path"}' 1 "does not match"
expect_err disk-usage '{"path":"/tmp;reboot"}' 1 "does not match"
expect_err disk-usage '{"path":"/tmp","top":101}' 1 "between 1 and 100"

# --- tail-logs ------------------------------------------------------------------

log=$WORK/app.log
printf 'first ✓\n\x1b[31mred\x1b[0m "q" \\ \xff bad\n\nlast\n' >"$log"
expect_ok tail-logs "{\"path\":\"$log\"}" '.source == "file" and .lines_returned == 4 and .truncated == false
  and .lines == ["first ✓", "\u001b[31mred\u001b[0m \"q\" \\ \ufffd bad", "", "last"]'
expect_ok tail-logs "{\"path\":\"$log\",\"lines\":2}" '.lines == ["", "last"] and .lines_requested == 2'
: >"$WORK/empty.log"
expect_ok tail-logs "{\"path\":\"$WORK/empty.log\"}" '.lines == [] and .lines_returned == 0'
{
    for ((i = 0; i < 3000; i++)); do
        if ((i % 100 == 0)); then printf '%s\n' "$i $(head -c 6000 /dev/zero | tr '\0' y)"; else printf '%s ünï "q" \\ \t %0400d\n' "$i" 0; fi
    done
} >"$WORK/big.log"
SECONDS=0
expect_ok tail-logs "{\"path\":\"$WORK/big.log\",\"lines\":5000}" '.truncated == true and ([.lines[] | utf8bytelength] | max) <= 4096
  and (.lines[-1] | startswith("2999 ")) and .lines_returned < 3000'
if [[ $(wc -c <"$LAST") -le 1048576 ]]; then ok "tail-logs output within 1 MiB ($(wc -c <"$LAST") bytes, ${SECONDS}s)"; else bad "tail-logs output within 1 MiB" "$(wc -c <"$LAST")"; fi
expect_ok tail-logs "{\"path\":\"$WORK/big.log\",\"lines\":100}" '.lines_returned == 100 and .truncated == true'
expect_ok tail-logs '{"unit":"nginx.service","lines":5}' '.source == "journal" and .unit == "nginx.service" and (.lines | length) <= 5'
expect_err tail-logs '{}' 1 "exactly one"
expect_err tail-logs "{\"path\":\"$log\",\"unit\":\"x.service\"}" 1 "exactly one"
expect_err tail-logs '{"path":"/nonexistent.log"}' 1 "does not exist"
expect_err tail-logs "{\"path\":\"$WORK\"}" 1 "directory"
expect_err tail-logs '{"unit":"bad unit"}' 1 "does not match"
expect_err tail-logs "{\"path\":\"$log\",\"lines\":0}" 1 "between 1 and 5000"

# --- check-port -----------------------------------------------------------------

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/key.pem" -out "$WORK/cert.pem" -days 30 \
    -subj "/CN=test.example/O=Ünïcødé" -utf8 >/dev/null 2>&1
TLS_PORT=$((20000 + RANDOM % 20000))
openssl s_server -accept "127.0.0.1:$TLS_PORT" -cert "$WORK/cert.pem" -key "$WORK/key.pem" -quiet </dev/null >/dev/null 2>&1 &
PIDS+=($!)
for _ in 1 2 3 4 5 6 7 8 9 10; do
    (exec 3<>"/dev/tcp/127.0.0.1/$TLS_PORT") 2>/dev/null && break
    sleep 0.3
done
expect_ok check-port "{\"host\":\"127.0.0.1\",\"port\":$TLS_PORT}" ".open == true and .reason == \"connected\" and .port == $TLS_PORT and (.latency_ms | type) == \"number\""
expect_ok check-port '{"host":"127.0.0.1","port":1}' '.open == false and .reason == "refused"'
expect_ok check-port "{\"host\":\"localhost\",\"port\":$TLS_PORT,\"timeout_ms\":1000}" '.open == true'
if command -v python3 >/dev/null; then
    HOLE_PORT=$((TLS_PORT + 1))
    # A listener whose accept queue is full: SYNs go unanswered, connect hangs.
    python3 - "$HOLE_PORT" <<'PY' &
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(0)
keep = []
for _ in range(4):
    c = socket.socket(); c.setblocking(False)
    try: c.connect(("127.0.0.1", int(sys.argv[1])))
    except BlockingIOError: pass
    keep.append(c)
time.sleep(60)
PY
    PIDS+=($!)
    sleep 1
    expect_ok check-port "{\"host\":\"127.0.0.1\",\"port\":$HOLE_PORT,\"timeout_ms\":400}" '.open == false and .reason == "timeout" and .latency_ms >= 350'
else
    skip "check-port timeout case (no python3)"
fi
expect_err check-port '{"host":"no-such-host.invalid","port":80}' 2 "cannot resolve"
expect_err check-port '{"host":"a b","port":80}' 1 "does not match"
expect_err check-port '{"host":"x","port":0}' 1 "between 1 and 65535"
expect_err check-port '{"port":80}' 1 "missing required parameter 'host'"
expect_err check-port '{"host":"x"}' 1 "missing required parameter 'port'"
expect_err check-port '{"host":"x","port":80,"timeout_ms":50}' 1 "between 100 and 30000"

# --- cert-expiry ----------------------------------------------------------------

expect_ok cert-expiry "{\"path\":\"$WORK/cert.pem\"}" '.subject == "O=Ünïcødé,CN=test.example" and .days_left >= 28 and .days_left <= 30
  and .expired == false and (.not_after | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"))
  and (.sha256_fingerprint | test("^[0-9A-F:]+$"))'
expect_ok cert-expiry "{\"target\":\"127.0.0.1:$TLS_PORT\"}" '.subject == "O=Ünïcødé,CN=test.example" and .expired == false'
expect_ok cert-expiry "{\"target\":\"localhost:$TLS_PORT\"}" '.issuer == "O=Ünïcødé,CN=test.example"'
if command -v python3 >/dev/null && python3 -c 'import cryptography' 2>/dev/null; then
    python3 - "$WORK/expired.pem" <<'PY'
import datetime, sys
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
k = ec.generate_private_key(ec.SECP256R1())
n = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "expired.example")])
utc = datetime.timezone.utc
c = (x509.CertificateBuilder().subject_name(n).issuer_name(n).public_key(k.public_key()).serial_number(42)
     .not_valid_before(datetime.datetime(2020, 1, 1, tzinfo=utc))
     .not_valid_after(datetime.datetime(2021, 1, 1, 12, tzinfo=utc)).sign(k, hashes.SHA256()))
open(sys.argv[1], "wb").write(c.public_bytes(serialization.Encoding.PEM))
PY
    expect_ok cert-expiry "{\"path\":\"$WORK/expired.pem\"}" '.expired == true and .days_left < 0 and .not_after == "2021-01-01T12:00:00Z" and .serial == "2A"'
else
    skip "cert-expiry expired certificate (no python3 cryptography)"
fi
printf 'not a certificate\n' >"$WORK/junk.pem"
expect_err cert-expiry "{\"path\":\"$WORK/junk.pem\"}" 1 "does not hold a PEM certificate"
expect_err cert-expiry '{"path":"/nonexistent.pem"}' 1 "does not exist"
expect_err cert-expiry '{"target":"127.0.0.1:1"}' 2 "cannot read a certificate"
expect_err cert-expiry '{}' 1 "exactly one"
expect_err cert-expiry "{\"path\":\"$WORK/cert.pem\",\"target\":\"a:1\"}" 1 "exactly one"
expect_err cert-expiry '{"target":"host-without-port"}' 1 "does not match"

# --- process-top ----------------------------------------------------------------

expect_ok process-top '{}' '.by == "cpu" and .count == (.processes | length) and .count <= 10 and .total_processes >= .count
  and ([.processes[].cpu_percent] | . == (sort | reverse))
  and all(.processes[]; (.pid | type) == "number" and (.user | type) == "string" and (.command | utf8bytelength) <= 200)'
expect_ok process-top '{"by":"memory","count":3}' '.by == "memory" and (.processes | length) == 3 and ([.processes[].rss_kb] | . == (sort | reverse))'
expect_err process-top '{"by":"disk"}' 1 "one of: cpu, memory"
expect_err process-top '{"count":51}' 1 "between 1 and 50"

# --- systemd actions without systemd -----------------------------------------------

if [[ ! -d /run/systemd/system ]]; then
    expect_err service-status '{"unit":"nginx.service"}' 2 "systemd is not running"
    expect_err restart-service '{"unit":"nginx.service"}' 2 "systemd is not running"
else
    skip "no-systemd cases (this host runs systemd)"
fi
expect_err service-status '{}' 1 "missing required parameter 'unit'"
expect_err service-status '{"unit":"nginx;reboot"}' 1 "does not match"
expect_err restart-service '{"unit":"nginx.service","wait":4}' 1 "between 5 and 120"

# --- missing tools: a PATH holding everything but them ------------------------------

# path_without TOOL...: a directory of links to every command on PATH except TOOLs.
path_without() {
    local d dir f base skip t
    d=$(mktemp -d "$WORK/path.XXXXXX")
    local IFS=:
    for dir in $PATH; do
        for f in "$dir"/*; do
            base=${f##*/}
            skip=
            for t in "$@"; do [[ $base == "$t" ]] && skip=1; done
            [[ -n $skip || -e $d/$base || ! -x $f ]] || ln -s "$f" "$d/$base"
        done
    done
    printf '%s' "$d"
}
bash_path=$(command -v bash)
RUN_PREFIX=(env "PATH=$(path_without journalctl)" "$bash_path")
expect_err tail-logs '{"unit":"nginx.service"}' 2 "journalctl is required but not installed on this host"
RUN_PREFIX=(env "PATH=$(path_without openssl)" "$bash_path")
expect_err cert-expiry "{\"path\":\"$WORK/cert.pem\"}" 2 "openssl is required but not installed on this host"
RUN_PREFIX=(env "PATH=$(path_without ps)" "$bash_path")
expect_err process-top '{}' 2 "ps is required but not installed on this host"
RUN_PREFIX=(env "PATH=$(path_without systemctl)" "$bash_path")
expect_err service-status '{"unit":"nginx.service"}' 2 "systemctl is required but not installed on this host"
expect_err restart-service '{"unit":"nginx.service"}' 2 "systemctl is required but not installed on this host"
RUN_PREFIX=(env "PATH=$(path_without timeout)" "$bash_path")
expect_err check-port '{"host":"127.0.0.1","port":1}' 2 "timeout is required"
RUN_PREFIX=()

# --- as an unprivileged user ------------------------------------------------------

if [[ $(id -u) == 0 ]] && command -v setpriv >/dev/null; then
    RUN_PREFIX=(setpriv --reuid=65534 --regid=65534 --clear-groups "$bash_path")
    mkdir -p "$du_dir/locked/inner"
    chmod 700 "$du_dir/locked"
    chmod -R o+rX "$du_dir/big" "$du_dir/small" "$du_dir/sp ace"
    chmod o+r "$du_dir/file.bin"
    chmod 711 "$WORK"
    chmod o+rx "$du_dir"
    expect_ok disk-usage "{\"path\":\"$du_dir\"}" '.partial == true and (.errors | length) >= 1 and (.errors[0] | test("Permission denied"))'
    printf 'secret\n' >"$WORK/private.log"
    chmod 600 "$WORK/private.log"
    expect_err tail-logs "{\"path\":\"$WORK/private.log\"}" 2 "not readable"
    RUN_PREFIX=()
else
    skip "unprivileged cases (not root or no setpriv)"
fi

# --- a fake systemd in a private mount namespace --------------------------------------

if [[ $(id -u) == 0 ]] && unshare -m true 2>/dev/null; then
    fake=$WORK/fake-bin
    mkdir -p "$fake" "$WORK/units"
    # Units: nginx (active), slow (activating twice, then active), broken (fails on
    # restart), denied (restart refused), missing (not-found), stopped (inactive).
    cat >"$fake/systemctl" <<'FAKE'
#!/usr/bin/env bash
state_dir=${FAKE_UNITS:?}
cmd=$1; shift
props=
while [[ $# -gt 0 ]]; do
    case $1 in
        --property=*) props=${1#--property=} ;;
        --) shift; unit=$1 ;;
        -*) ;;
        *) unit=$1 ;;
    esac
    shift
done
f=$state_dir/$unit
case $cmd in
    show)
        case $unit in
            missing.service) printf 'Id=%s\nLoadState=not-found\nActiveState=inactive\nSubState=dead\nMainPID=0\n' "$unit"; exit 0 ;;
        esac
        st=$(cat "$f" 2>/dev/null || echo active)
        sub=running; [[ $st == active ]] || sub=dead; [[ $st == failed ]] && sub=failed
        pid=4242; [[ $st == active ]] || pid=0
        printf 'Id=%s\nDescription=Fake %s "unit"\nLoadState=loaded\nActiveState=%s\nSubState=%s\nUnitFileState=enabled\nResult=success\nMainPID=%s\nNRestarts=0\nActiveEnterTimestamp=Mon 2026-11-23 10:00:00 UTC\nStateChangeTimestamp=Mon 2026-11-23 11:00:00 UTC\n' \
            "$unit" "$unit" "$st" "$sub" "$pid"
        ;;
    restart)
        case $unit in
            broken.service) echo failed >"$f"; echo "Job for broken.service failed because the control process exited with error code." >&2; exit 1 ;;
            denied.service) echo "Failed to restart denied.service: Access denied" >&2; exit 4 ;;
            slow.service) echo activating >"$f"; echo 0 >"$f.polls" ;;
            stuck.service) echo activating >"$f" ;;
            *) echo active >"$f" ;;
        esac
        echo "noise on stdout from systemctl"
        ;;
    is-active)
        st=$(cat "$f" 2>/dev/null || echo active)
        if [[ $unit == slow.service && $st == activating ]]; then
            n=$(($(cat "$f.polls") + 1)); echo "$n" >"$f.polls"
            ((n < 3)) || { st=active; echo active >"$f"; }
        fi
        echo "$st"
        [[ $st == active ]]
        ;;
esac
FAKE
    chmod 755 "$fake/systemctl"
    echo inactive >"$WORK/units/stopped.service"
    # ns_act NAME PARAMS: act inside a mount namespace where /run/systemd/system exists.
    RUN_PREFIX=(env "FAKE_UNITS=$WORK/units" "PATH=$fake:$PATH" unshare -m "$bash_path" -c
        'mount -t tmpfs none /run && mkdir -p /run/systemd/system && exec "$0" "$@"' "$bash_path")
    expect_ok service-status '{"unit":"nginx.service"}' '.unit == "nginx.service" and .active == true and .active_state == "active"
      and .sub_state == "running" and .load_state == "loaded" and .main_pid == 4242 and .since == "2026-11-23T10:00:00Z"
      and .description == "Fake nginx.service \"unit\"" and .restarts == 0'
    expect_err service-status '{"unit":"stopped.service"}' 3 "is inactive"
    if jq -e '.error.details.active_state == "inactive" and .error.details.main_pid == null and .error.details.since == "2026-11-23T11:00:00Z"' "$LAST" >/dev/null; then ok "service-status inactive details"; else bad "service-status inactive details" "$OUT"; fi
    expect_ok service-status '{"unit":"stopped.service","require_active":false}' '.active == false and .active_state == "inactive"'
    expect_err service-status '{"unit":"missing.service"}' 2 "was not found"
    expect_ok restart-service '{"unit":"nginx.service","wait":5}' '.state.active == true and .waited_seconds <= 1 and .previous_state == "active"'
    expect_ok restart-service '{"unit":"slow.service","wait":10}' '.state.active == true and .waited_seconds >= 1'
    expect_err restart-service '{"unit":"broken.service","wait":5}' 3 "systemctl restart broken.service failed"
    if jq -e '.error.details.output | contains("control process exited")' "$LAST" >/dev/null; then ok "restart failure keeps systemctl's words"; else bad "restart failure keeps systemctl's words" "$OUT"; fi
    expect_err restart-service '{"unit":"denied.service","wait":5}' 4 "not permitted"
    expect_err restart-service '{"unit":"missing.service"}' 2 "was not found"
    SECONDS=0
    expect_err restart-service '{"unit":"stuck.service","wait":5}' 3 "not active (waited"
    if ((SECONDS >= 5 && SECONDS <= 9)); then ok "restart-service waits about 'wait' seconds (${SECONDS}s)"; else bad "restart-service wait time ${SECONDS}s"; fi
    RUN_PREFIX=()
else
    skip "fake systemd cases (needs root and unshare -m)"
fi

echo "test-actions.sh: $PASS passed, $FAIL failed, $SKIP skipped"
((FAIL == 0))
