# RUNE1 over SSM: one plugin execution. SSM has no stdin, so the bundle
# (gzip, base64) and the envelope (base64) ride in this text. The bundle is
# checked and unpacked into a private directory; the envelope is piped
# straight into the entry's stdin and never written to disk. Status lines
# start with "RUNE1 " on stdout; the plugin's exit status is in the last one.
umask 077
nonce=@NONCE@; sum=@SHA256@; entry=@ENTRY@; work=@WORKDIR@; mode=@MODE@
bundle=@BUNDLE@
@ENVELOPES@
reap() { # SIGKILL what the entry left behind, only when this shell leads its own process group
  { read -r stat < /proc/$$/stat; } 2>/dev/null || return 0
  set -- ${stat##*) }
  [ "$3" = "$$" ] || return 0
  for s in /proc/[0-9]*/stat; do
    p=${s#/proc/}; p=${p%/stat}
    [ "$p" = "$$" ] && continue
    { read -r l < "$s"; } 2>/dev/null || continue
    set -- ${l##*) }
    [ "$3" = "$$" ] && kill -KILL "$p" 2>/dev/null
  done
  return 0
}
for t in base64 mktemp @TOOLS@; do
  command -v "$t" >/dev/null 2>&1 || { echo "RUNE1 ERR $t is missing on this instance"; exit 98; }
done
d=$(mktemp -d "${TMPDIR:-/tmp}/rune.XXXXXXXXXX") || { echo 'RUNE1 ERR mktemp failed'; exit 98; }
trap 'cd /; rm -rf "$d"' EXIT
# CancelCommand and executionTimeout make the agent SIGKILL this process
# group, which skips the trap: a watcher in a session of its own removes
# the directory once this shell is gone.
if command -v setsid >/dev/null 2>&1; then
  setsid sh -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; rm -rf "$2"' rune-cleanup "$$" "$d" </dev/null >/dev/null 2>&1 &
fi
if [ "$mode" = bundle ]; then
  printf '%s' "$bundle" | base64 -d | gzip -dc > "$d/bundle.tar" || { echo 'RUNE1 ERR the bundle did not decode'; exit 98; }
  got=$(sha256sum < "$d/bundle.tar") || { echo 'RUNE1 ERR sha256sum failed'; exit 98; }
  got=${got%% *}
  [ "$got" = "$sum" ] || { echo "RUNE1 BADSUM $got"; exit 97; }
  (cd "$d" && tar -xf bundle.tar) || { echo 'RUNE1 ERR tar could not unpack the bundle'; exit 98; }
  rm -f "$d/bundle.tar"
  entry="$d/$entry"
fi
bundle=
cd "$d/$work" || { echo 'RUNE1 ERR no working directory'; exit 98; }
@EXPORTS@
echo "RUNE1 READY $nonce"
# The shell reports a foreground job that a signal killed ("Killed") on its
# own stderr, which is the plugin's here: only the entry gets that one (fd
# 4), and the report goes to a file of ours. A report there means the
# plugin died of a signal, and the END line says which.
{
  if [ -x "$entry" ] || [ "$mode" = installed ]; then
    printf '%s' "$envelope" | base64 -d | "$entry" 2>&4 4>&-
  else
    printf '%s' "$envelope" | base64 -d | bash "$entry" 2>&4 4>&-
  fi
} 4>&2 2>"$d/.rune-wait"
rc=$?
end=$rc
[ "$rc" -gt 128 ] && [ -s "$d/.rune-wait" ] && end="signal $((rc - 128))"
printf '\nRUNE1 END %s %s\n' "$nonce" "$end"
reap
# SSM gives some exit statuses a meaning of its own (194 asks the agent to
# reboot the instance): the real status is in the END line, never in ours.
[ "$rc" -eq 0 ] || exit 1
