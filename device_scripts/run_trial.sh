#!/system/bin/sh
# One benchmark trial, detached from the adb connection that started it.
#
# Why detached: a USB hiccup kills the `adb shell` that launched a command;
# a trial must survive that, so the process runs in the background with
# SIGHUP ignored and every output redirected to files in the trial folder.
# The host polls with `wait` and pulls the files when `exit_code` exists.
#
#   sh run_trial.sh start DIR MASK BINARY [ARGS...]   -> "started WRAPPER_PID"
#   sh run_trial.sh wait DIR MAX_S                    -> "state=running|done|vanished ..."
#   sh run_trial.sh kill DIR                          -> "killed PID" | "gone"
#   sh run_trial.sh sweep ROOT                        -> "swept N"
#
# `sweep` kills trials a previous harness left running (it was killed, or lost
# the device for good) and clears ROOT, so that a resumed run never measures
# while a stale benchmark process competes for the same cores.
#
# Files in DIR: stdout, stderr, wrapper_pid, pid (benchmark process), start,
# end (seconds since the epoch, or uptime seconds if date lacks %N), and
# exit_code, written last through a rename: its presence is the done marker.
# POSIX sh for Android's mksh and toybox; no bash-isms.

now() {
    t=$(date +%s.%N 2>/dev/null)
    case $t in
        *N*|'') t=$(cut -d' ' -f1 /proc/uptime) ;;  # toybox without %N
    esac
    echo "$t"
}

cmd=$1
dir=$2
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: run_trial.sh start|wait|kill DIR ..." >&2; exit 64; }

case $cmd in
start)
    mask=$3
    shift 3
    [ $# -ge 1 ] || { echo "start: no command given" >&2; exit 64; }
    rm -rf "$dir" && mkdir -p "$dir" || { echo "cannot create $dir" >&2; exit 73; }
    (
        trap '' HUP
        now >"$dir/start"
        taskset "$mask" "$@" >"$dir/stdout" 2>"$dir/stderr" </dev/null &
        echo $! >"$dir/pid"
        wait $!
        rc=$?
        now >"$dir/end"
        echo "$rc" >"$dir/exit_code.tmp" && mv "$dir/exit_code.tmp" "$dir/exit_code"
    ) </dev/null >/dev/null 2>&1 &
    echo $! >"$dir/wrapper_pid"
    echo "started $!"
    ;;
wait)
    max=${3:-1}
    # Wait on the device (cheap) rather than poll over adb (a round trip per look),
    # but never longer than MAX_S so the host stays in control.
    ticks=0
    limit=$((max * 20))
    while [ ! -f "$dir/exit_code" ]; do
        if [ ! -f "$dir/wrapper_pid" ]; then
            echo "state=vanished reason=no-trial-folder"
            exit 0
        fi
        wpid=$(cat "$dir/wrapper_pid")
        if ! kill -0 "$wpid" 2>/dev/null; then
            # The wrapper writes exit_code before it exits; look once more.
            [ -f "$dir/exit_code" ] && break
            echo "state=vanished reason=wrapper-gone"
            exit 0
        fi
        [ "$ticks" -ge "$limit" ] && { echo "state=running"; exit 0; }
        sleep 0.05
        ticks=$((ticks + 1))
    done
    echo "state=done exit=$(cat "$dir/exit_code") start=$(cat "$dir/start" 2>/dev/null) end=$(cat "$dir/end" 2>/dev/null)"
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
