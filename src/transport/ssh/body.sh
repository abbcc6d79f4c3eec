# RUNE prelude, inner part (see prelude.sh): runs as `sh -c BODY rune-body DIR`
# in a new session. The bundle is checked and unpacked into DIR; the entry
# then reads the rest of stdin, so it sees exactly the envelope and EOF. A
# remote deadline kills the session even if RUNE vanished.
size=@SIZE@; sum=@SHA256@; entry=@ENTRY@; work=@WORKDIR@; deadline=@DEADLINE@
d=$1
read -r stat < /proc/$$/stat || { echo 'RUNE1 ERR /proc is not readable'; exit 98; }
set -- ${stat##*) }
sid=$4
# The processes of this session, by pid: one pgrep when procps is there
# (cheap), else a scan of /proc with the shell (slow: dash reads bytewise).
# Only the deadline needs it; the outer part kills the process group.
session_pids() {
  pgrep -s "$sid" 2>/dev/null && return
  for s in /proc/[0-9]*/stat; do
    { read -r l < "$s"; } 2>/dev/null || continue
    set -- ${l##*) }
    [ "$4" = "$sid" ] && { p=${s#/proc/}; echo "${p%/stat}"; }
  done
}
# Stop, then kill: a process that sees a sibling die first (a shell
# reporting "Killed", a parent forking again) cannot act once stopped.
( sleep "$deadline"; read -r me _ < /proc/self/stat
  ps=; for p in $(session_pids); do [ "$p" = "$me" ] || ps="$ps $p"; done
  kill -STOP $ps; kill -KILL $ps
  rm -rf "$d"; kill -KILL $$ ) </dev/null >/dev/null 2>&1 &
if [ "$size" -gt 0 ]; then
  dd bs="$size" count=1 iflag=fullblock of="$d/bundle.tar" 2>/dev/null || head -c "$size" > "$d/bundle.tar"
  got=$(sha256sum < "$d/bundle.tar") || { echo 'RUNE1 ERR sha256sum is missing'; exit 98; }
  got=${got%% *}
  [ "$got" = "$sum" ] || { echo "RUNE1 BADSUM $got"; exit 97; }
  # No subshell and no separate rm: every process here costs the target a
  # fork, and the outer part removes the archive with the rest of $d.
  tar -xf "$d/bundle.tar" -C "$d" || { echo 'RUNE1 ERR tar could not unpack the bundle'; exit 98; }
  entry="$d/$entry"
fi
cd "$d/$work" || { echo 'RUNE1 ERR no working directory'; exit 98; }
# An installed plugin that is not there would fail with the shell's "not
# found" and no output, which reads as a broken plugin, not a setup fault.
[ "$size" -gt 0 ] || command -v "$entry" >/dev/null 2>&1 || { echo "RUNE1 ERR the installed plugin $entry is missing or not executable on this host"; exit 98; }
@EXPORTS@
echo "RUNE1 READY $sid $d"
if [ -x "$entry" ] || [ "$size" -eq 0 ]; then exec "$entry"; else exec bash "$entry"; fi
