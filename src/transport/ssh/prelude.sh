# RUNE prelude, outer part: one plugin execution in one exec channel. stdin
# carries the bundle (exactly @SIZE@ bytes) and then the envelope. This shell
# makes the private directory and starts the inner part (body.sh) in a
# session of its own, then waits for it. When the body is done it kills the
# body's process group, which is everything the plugin started that stayed
# in it, with one builtin `kill`: scanning /proc for the session instead
# (pgrep) cost the target ~13 ms of CPU per execution under a 50-host
# fan-out, more as the host runs more processes. A timeout, a cancel or the
# remote deadline still kill the body's whole session by scan. Its exit
# status, or the signal it dies of, is the plugin's. Status lines start
# with "RUNE1 " on stdout, before the plugin writes anything.
umask 077
command -v setsid >/dev/null 2>&1 || { echo 'RUNE1 ERR setsid is missing (util-linux)'; exit 98; }
d=$(mktemp -d "${TMPDIR:-/tmp}/rune.XXXXXXXXXX") || { echo 'RUNE1 ERR mktemp failed'; exit 98; }
# The shell (dash, bash, busybox) reports a waited job that a signal killed
# ("Killed", "Segmentation fault") on stderr, which is the plugin's. The
# report goes to a file of ours instead (opened before the plugin runs,
# read through its own fd): a report there means the plugin died of a
# signal, and this shell then dies of the same one, so sshd says so. A
# shell that reports nothing leaves it an exit status of 128 + n.
# `command`: a failed redirection of a bare `exec` ends the shell before
# `||` could report it.
command exec 4>"$d/.rune-wait" 5<"$d/.rune-wait" || { echo 'RUNE1 ERR cannot write the private directory'; exit 98; }
# An asynchronous command's stdin is /dev/null unless redirected: hand the
# channel's stdin to the body through fd 3, and keep none of it here.
exec 3<&0 </dev/null
setsid sh -c @BODY@ rune-body "$d" <&3 3<&- 4>&- 5<&- &
b=$!
exec 3<&-
wait "$b" 2>&4
rc=$?
kill -KILL -"$b" 2>/dev/null
cd / && rm -rf "$d"
if [ "$rc" -gt 128 ] && read -r _ <&5; then ulimit -c 0; kill -"$((rc - 128))" $$; fi
exit "$rc"
