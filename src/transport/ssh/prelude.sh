# RUNE prelude: one plugin execution in one exec channel. stdin carries the
# bundle (exactly @SIZE@ bytes) and then the envelope. The bundle is checked
# and unpacked into a private directory; the entry then reads the rest of
# stdin, so it sees exactly the envelope and EOF. Every process of this
# session is killed when the entry exits, and a remote deadline kills the
# session even if RUNE vanished. Status lines start with "RUNE1 " on stdout,
# before the plugin writes anything.
umask 077
size=@SIZE@; sum=@SHA256@; entry=@ENTRY@; work=@WORKDIR@; deadline=@DEADLINE@
read -r stat < /proc/$$/stat || { echo 'RUNE1 ERR /proc is not readable'; exit 98; }
set -- ${stat##*) }
sid=$4
# The processes of this session, by pid: one pgrep when procps is there
# (cheap), else a scan of /proc with the shell (slow: dash reads bytewise).
session_pids() {
  pgrep -s "$sid" 2>/dev/null && return
  for s in /proc/[0-9]*/stat; do
    { read -r l < "$s"; } 2>/dev/null || continue
    set -- ${l##*) }
    [ "$4" = "$sid" ] && { p=${s#/proc/}; echo "${p%/stat}"; }
  done
}
reap() { # SIGKILL every process of this session but this shell and $1
  keep=${1:-}
  for p in $(session_pids); do
    [ "$p" = "$$" ] || [ "$p" = "$keep" ] || kill -KILL "$p" 2>/dev/null
  done
}
d=$(mktemp -d "${TMPDIR:-/tmp}/rune.XXXXXXXXXX") || { echo 'RUNE1 ERR mktemp failed'; exit 98; }
trap 'cd /; rm -rf "$d"' EXIT
( sleep "$deadline"; read -r me _ < /proc/self/stat; reap "$me"; rm -rf "$d"; kill -KILL $$ ) </dev/null >/dev/null 2>&1 &
if [ "$size" -gt 0 ]; then
  dd bs="$size" count=1 iflag=fullblock of="$d/bundle.tar" 2>/dev/null || head -c "$size" > "$d/bundle.tar"
  got=$(sha256sum < "$d/bundle.tar") || { echo 'RUNE1 ERR sha256sum is missing'; exit 98; }
  got=${got%% *}
  [ "$got" = "$sum" ] || { echo "RUNE1 BADSUM $got"; exit 97; }
  # No subshell and no separate rm: every process here costs the target a
  # fork, and the EXIT trap removes the archive with the rest of $d.
  tar -xf "$d/bundle.tar" -C "$d" || { echo 'RUNE1 ERR tar could not unpack the bundle'; exit 98; }
  entry="$d/$entry"
fi
cd "$d/$work" || { echo 'RUNE1 ERR no working directory'; exit 98; }
@EXPORTS@
echo "RUNE1 READY $sid $d"
if [ -x "$entry" ] || [ "$size" -eq 0 ]; then "$entry"; else bash "$entry"; fi
rc=$?
reap
exit $rc
