#!/system/bin/sh
# One benchmark trial, detached from the adb connection that started it.
#
# Why detached: a USB hiccup kills the `adb shell` that launched a command;
# a trial must survive that, so the process runs in the background with
# SIGHUP ignored and every output redirected to files in the trial folder.
# The host asks again after a reconnect and collects the files once
# `exit_code` exists.
#
#   sh run_trial.sh begin DIR MASK MAX_S MARK [CPU...] -- BINARY [ARGS...]
#       state snapshot, start detached, then as `collect` (one round trip for
#       a trial that ends within MAX_S seconds)
#   sh run_trial.sh collect DIR MAX_S MARK [CPU...]
#       wait on the device up to MAX_S s; print "state=running|done|vanished ...";
#       when done also the files and a state snapshot, each after a "MARK name" line
#   sh run_trial.sh kill DIR           -> "killed PID" | "gone"
#   sh run_trial.sh sweep ROOT         -> "swept N"
#
# `sweep` kills trials a previous harness left running (it was killed, or lost
# the device for good) and clears ROOT, so that a resumed run never measures
# while a stale benchmark process competes for the same cores.
#
# Files in DIR: stdout, stderr, wrapper_pid, pid (benchmark process), start,
# end (seconds since the epoch, or uptime seconds if date lacks %N), and
# exit_code, written last through a rename: its presence is the done marker.
# State snapshots come from state.sh beside this script (device layer's format).
# POSIX sh for Android's mksh and toybox; no bash-isms.

here=${0%/*}

now() {
    t=$(date +%s.%N 2>/dev/null)
    case $t in
        *N*|'') t=$(cut -d' ' -f1 /proc/uptime) ;;  # toybox without %N
    esac
    echo "$t"
}

# uptime_cs: seconds since boot in hundredths, without forking (the loop below
# runs every 20 ms; a fork per look would load the CPUs being measured).
uptime_cs() {
    read -r _up _rest </proc/uptime
    _whole=${_up%.*}
    _frac=${_up#*.}
    echo $((_whole * 100 + ${_frac#0}))
}

# wait_done DIR MAX_S: print the trial's state line, waiting up to MAX_S for it to end.
# The bound is wall time (uptime), not a count of sleeps: on a loaded device a
# sleep can take far longer than asked.
wait_done() {
    _d=$1
    _deadline=$(($(uptime_cs) + $2 * 100))
    while [ ! -f "$_d/exit_code" ]; do
        if [ ! -f "$_d/wrapper_pid" ]; then
            echo "state=vanished reason=no-trial-folder"
            return
        fi
        if ! kill -0 "$(cat "$_d/wrapper_pid")" 2>/dev/null; then
            # The wrapper writes exit_code before it exits; look once more.
            [ -f "$_d/exit_code" ] && break
            echo "state=vanished reason=wrapper-gone"
            return
        fi
        if [ "$(uptime_cs)" -ge "$_deadline" ]; then
            echo "state=running"
            return
        fi
        sleep 0.02
    done
    echo "state=done exit=$(cat "$_d/exit_code") start=$(cat "$_d/start" 2>/dev/null) end=$(cat "$_d/end" 2>/dev/null)"
}

# collect DIR MAX_S MARK [CPU...]
collect() {
    _d=$1
    _max=$2
    _mark=$3
    shift 3
    _line=$(wait_done "$_d" "$_max")
    echo "$_line"
    case $_line in
        state=done*)
            # `echo` after each file: the host strips exactly that one newline.
            echo "$_mark stdout"; cat "$_d/stdout" 2>/dev/null; echo
            echo "$_mark stderr"; cat "$_d/stderr" 2>/dev/null; echo
            echo "$_mark after"; sh "$here/state.sh" "$@"
            ;;
    esac
}

start() {
    _d=$1
    _mask=$2
    shift 2
    rm -rf "$_d" && mkdir -p "$_d" || { echo "cannot create $_d" >&2; exit 73; }
    (
        # Redirect with exec, inside: a redirection on the subshell itself makes
        # mksh keep a saved copy of the caller's stdout open in the child, and
        # adb's shell service then waits for the benchmark to finish.
        exec </dev/null >/dev/null 2>&1
        trap '' HUP
        now >"$_d/start"
        taskset "$_mask" "$@" >"$_d/stdout" 2>"$_d/stderr" </dev/null &
        echo $! >"$_d/pid"
        wait $!
        rc=$?
        now >"$_d/end"
        echo "$rc" >"$_d/exit_code.tmp" && mv "$_d/exit_code.tmp" "$_d/exit_code"
    ) &
    echo $! >"$_d/wrapper_pid"
}

cmd=$1
dir=$2
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: run_trial.sh begin|collect|kill|sweep DIR ..." >&2; exit 64; }

case $cmd in
begin)
    mask=$3
    max=$4
    mark=$5
    shift 5
    cpus=""
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do
        case $1 in *[!0-9]*|'') echo "begin: bad cpu '$1'" >&2; exit 64 ;; esac
        cpus="$cpus $1"
        shift
    done
    [ "$1" = "--" ] && shift
    [ $# -ge 1 ] || { echo "begin: no command given" >&2; exit 64; }
    echo "$mark before"
    # shellcheck disable=SC2086 # cpus are digits only, split on purpose
    sh "$here/state.sh" $cpus
    start "$dir" "$mask" "$@"
    echo "$mark started"
    # shellcheck disable=SC2086
    collect "$dir" "$max" "$mark" $cpus
    ;;
collect)
    shift 2
    collect "$dir" "$@"
    ;;
kill)
    pid=$(cat "$dir/pid" 2>/dev/null)
    if [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; then
        echo "killed $pid"
    else
        echo "gone"
    fi
    ;;
sweep)
    n=0
    for d in "$dir"/*; do
        [ -d "$d" ] || continue
        if [ ! -f "$d/exit_code" ]; then
            for f in pid wrapper_pid; do
                p=$(cat "$d/$f" 2>/dev/null)
                [ -n "$p" ] && kill -9 "$p" 2>/dev/null && n=$((n + 1))
            done
        fi
        rm -rf "$d"
    done
    echo "swept $n"
    ;;
*)
    echo "unknown command: $cmd" >&2
    exit 64
    ;;
esac
