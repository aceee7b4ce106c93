#!/system/bin/sh
# One benchmark trial, detached from the adb connection that started it.
#
# Why detached: a USB hiccup ends the `adb shell` that launched a command, and
# adbd then sends its shell SIGHUP (some daemons kill the shell's whole process
# group). A trial must survive both, so its wrapper runs in a session of its
# own (`setsid`: a new session and process group, no controlling terminal),
# ignores SIGHUP (so does the benchmark, which inherits that), and writes every
# output to files in the trial folder. `begin` returns only after the wrapper
# has written `started`, i.e. once it is in its own session with SIGHUP ignored
# and the benchmark is launched. The host asks again after a reconnect and
# collects the files once `exit_code` exists.
#
#   sh run_trial.sh begin DIR MASK MAX_S MARK [--no-before] [CPU...] -- BINARY [ARGS...]
#       state snapshot (unless --no-before: the host still holds one from a
#       moment ago), start detached, then as `collect` (one round trip for a
#       trial that ends within MAX_S seconds)
#   sh run_trial.sh collect DIR MAX_S MARK [CPU...]
#       wait on the device up to MAX_S s; print "state=running|done|vanished ...";
#       when done also the files and a quick state snapshot, each after a "MARK name" line
#   sh run_trial.sh kill DIR           -> "killed PID" | "gone"
#   sh run_trial.sh sweep ROOT         -> "swept N"
#
# `sweep` kills trials a previous harness left running (it was killed, or lost
# the device for good) and clears ROOT, so that a resumed run never measures
# while a stale benchmark process competes for the same cores.
#
# Files in DIR: stdout, stderr, wrapper_pid, pid (benchmark process),
# sampler_pid and samples (the proof samples, see `sample()`), started,
# start, end (seconds since the epoch, or uptime seconds if date lacks %N), and
# exit_code, written last through a rename: its presence is the done marker.
# The full state snapshot before a trial comes from state.sh beside this script
# (the device layer's key=value format); the one right after a trial is
# `quick_state` below: the same lines for zones, the pinned CPUs' clocks and a
# sysfs battery, read with shell builtins only. It runs between two trials, on
# every trial, so it must not fork (state.sh forks per value, and may run
# dumpsys for the battery).
# POSIX sh for Android's mksh and toybox; no bash-isms.

here=${0%/*}
SYS="${SYSFS_ROOT:-}/sys"
# Seconds between proof samples during a trial; 0 turns sampling off (the
# sampling-cost benchmark compares both).
SAMPLE_S=${HARNESS_SAMPLE_S:-0.5}
case $SAMPLE_S in ''|*[!0-9.]*) SAMPLE_S=0.5 ;; esac
_wrapper=""  # pid of the trial's wrapper when this shell started it (`begin`)

now() {
    t=$(date +%s.%N 2>/dev/null)
    case $t in
        *N*|'') t=$(cut -d' ' -f1 /proc/uptime) ;;  # toybox without %N
    esac
    echo "$t"
}

# readf VAR FILE: the first line of FILE into VAR (empty when unreadable), no fork.
readf() {
    eval "$1=''"
    { read -r "$1" <"$2"; } 2>/dev/null
}

# uptime_cs: sets _cs to the seconds since boot in hundredths, without forking
# (no command substitution either: in mksh that forks too). The wait loop below
# looks every 200 ms, and a fork per look would load the CPUs being measured.
uptime_cs() {
    read -r _up _rest </proc/uptime
    _whole=${_up%.*}
    _frac=${_up#*.}
    _cs=$((_whole * 100 + ${_frac#0}))
}

# wait_done DIR MAX_S: print the trial's state line, waiting up to MAX_S for it to end.
# The bound is wall time (uptime), not a count of sleeps: on a loaded device a
# sleep can take far longer than asked. Only `sleep` forks in the loop.
wait_done() {
    _d=$1
    uptime_cs
    _deadline=$((_cs + $2 * 100))
    readf _wpid "$_d/wrapper_pid"
    while [ ! -f "$_d/exit_code" ]; do
        if [ ! -f "$_d/wrapper_pid" ] || [ -z "$_wpid" ]; then
            echo "state=vanished reason=no-trial-folder"
            return
        fi
        if ! kill -0 "$_wpid" 2>/dev/null; then
            # The wrapper writes exit_code before it exits; look once more.
            [ -f "$_d/exit_code" ] && break
            echo "state=vanished reason=wrapper-gone"
            return
        fi
        uptime_cs
        if [ "$_cs" -ge "$_deadline" ]; then
            echo "state=running"
            return
        fi
        sleep 0.2  # no faster: this shell shares the phone with the trial
    done
    readf _rc "$_d/exit_code"
    readf _st "$_d/start"
    readf _en "$_d/end"
    echo "state=done exit=$_rc start=$_st end=$_en"
}

# quick_state [CPU...]: state.sh's zone/freq/battery lines, without a fork.
quick_state() {
    for _z in /sys/class/thermal/thermal_zone*; do
        readf _t "$_z/temp"
        # A zone whose sensor is off reads EINVAL: skip it, do not report 0.
        [ -n "$_t" ] || continue
        readf _ty "$_z/type"
        echo "zone=${_z##*/} temp=$_t type=$_ty"
    done
    for _c in "$@"; do
        _f=/sys/devices/system/cpu/cpu$_c/cpufreq
        readf _mx "$_f/scaling_max_freq"
        readf _cu "$_f/scaling_cur_freq"
        readf _gv "$_f/scaling_governor"
        echo "freq=$_c max=$_mx cur=$_cu governor=$_gv"
    done
    _b=/sys/class/power_supply/battery
    if [ -r "$_b/capacity" ]; then
        readf _lv "$_b/capacity"
        readf _bt "$_b/temp"
        echo "battery_level=$_lv"
        echo "battery_temp=$_bt"
    fi
}

# wait_child PID MAX_S: wait for this shell's own child PID, at most MAX_S seconds.
# `begin` started the trial's wrapper itself, so it can block in `wait` and
# learn of the end at once instead of looking every 10 ms; a timer subshell
# interrupts the wait with USR1 (a trapped signal ends `wait`, POSIX). The
# timer's fds go to /dev/null so it never holds adb's output open.
wait_child() {
    # The timer is a fresh `sh -c`, not a subshell: a subshell keeps the begin
    # call's argv, so a timer outliving the trial would look like a benchmark
    # in `ps`. Its `sleep` may outlive it by up to MAX_S, doing nothing.
    # The trap is set first: a USR1 before it would end this shell. One that
    # lands between the trap and `wait` would be lost, so MAX_S 0 never gets here.
    trap ':' USR1
    sh -c 'sleep "$1" && kill -USR1 "$2"' timer "$2" $$ </dev/null >/dev/null 2>&1 &
    _timer=$!
    wait "$1" 2>/dev/null
    trap - USR1
    kill "$_timer" 2>/dev/null
}

# collect DIR MAX_S MARK [CPU...]   (uses $_wrapper when `begin` set it)
collect() {
    _d=$1
    _max=$2
    _mark=$3
    shift 3
    if [ -n "$_wrapper" ] && [ "$_max" != 0 ]; then
        wait_child "$_wrapper" "$_max"
        _max=0  # the wait is over: one look at the files decides
    fi
    _line=$(wait_done "$_d" "$_max")
    echo "$_line"
    case $_line in
        state=done*)
            # `echo` after each file: the host strips exactly that one newline.
            echo "$_mark stdout"; cat "$_d/stdout" 2>/dev/null; echo
            echo "$_mark stderr"; cat "$_d/stderr" 2>/dev/null; echo
            echo "$_mark samples"; cat "$_d/samples" 2>/dev/null; echo
            echo "$_mark after"; quick_state "$@"
            ;;
    esac
}

start() {
    _d=$1
    _mask=$2
    shift 2
    rm -rf "$_d" && mkdir -p "$_d" || { echo "cannot create $_d" >&2; exit 73; }
    # setsid execs in place (a background job is no group leader), so $! is the
    # wrapper itself and `wait` works on it. Without setsid the wrapper still
    # ignores SIGHUP, but shares the launching shell's process group.
    _setsid=""
    command -v setsid >/dev/null 2>&1 && _setsid=setsid
    # Return only once the trial is safely started (see the top of this file).
    # Blocking, not polling: the wrapper holds a fifo's write end and closes it
    # once `started` exists (or by dying), which ends our `read` at once.
    if mkfifo "$_d/ready" 2>/dev/null; then
        $_setsid sh "$0" _wrap "$_d" "$_mask" "$@" </dev/null >/dev/null 2>&1 3>"$_d/ready" &
        _wrapper=$!
        echo "$_wrapper" >"$_d/wrapper_pid"
        read -r _ready <"$_d/ready"
        rm -f "$_d/ready"
    else
        $_setsid sh "$0" _wrap "$_d" "$_mask" "$@" </dev/null >/dev/null 2>&1 &
        _wrapper=$!
        echo "$_wrapper" >"$_d/wrapper_pid"
        while [ ! -f "$_d/started" ] && kill -0 "$_wrapper" 2>/dev/null; do
            sleep 0.2  # no faster: this shell shares the phone with the trial
        done
    fi
}

# sample PID OUT CPU...: the proof lines of one trial, appended to OUT while PID runs.
#   affinity mask=<hex, taskset -p> list=<Cpus_allowed_list of /proc/PID/status>
#   sample up=<uptime s> temp=<hottest zone, millidegrees C> f<cpu>=<cur kHz>...
#          s<cpu>=<busy ticks>,<total ticks>... self=<ticks>
# s<cpu> are the pinned CPUs' /proc/stat counters (busy leaves out idle and
# iowait); self is the benchmark's utime+stime from /proc/PID/stat. The host
# differences them between samples (harness/bench/proof.py). Every
# SAMPLE_MS (500 ms): the only fork per sample is `sleep`; the files are read
# with builtins, and `taskset -p` runs once, after the first sleep, when the
# benchmark's own taskset has surely applied the mask and exec'd.
sample() {
    _p=$1
    _o=$2
    shift 2
    _pinned=$*
    _n=0
    while sleep "$SAMPLE_S" && kill -0 "$_p" 2>/dev/null; do
        if [ "$_n" = 0 ]; then
            _am=$(taskset -p "$_p" 2>/dev/null)
            _al=""
            while read -r _k _v; do
                [ "$_k" = Cpus_allowed_list: ] && _al=$_v
            done <"/proc/$_p/status" 2>/dev/null
            echo "affinity mask=${_am##*: } list=$_al" >>"$_o"
        fi
        _n=$((_n + 1))
        read -r _up _rest </proc/uptime
        _line="sample up=$_up"
        _hot=""
        for _z in "$SYS"/class/thermal/thermal_zone*; do
            readf _t "$_z/temp"
            case $_t in ''|*[!0-9-]*|-) continue ;; esac
            # Zones report millidegrees, a few whole degrees (thermal.zone_temp_c).
            [ "$_t" -gt -1000 ] && [ "$_t" -lt 1000 ] && _t=$((_t * 1000))
            if [ -z "$_hot" ] || [ "$_t" -gt "$_hot" ]; then _hot=$_t; fi
        done
        _line="$_line temp=$_hot"
        for _c in $_pinned; do
            readf _cu "$SYS/devices/system/cpu/cpu$_c/cpufreq/scaling_cur_freq"
            _line="$_line f$_c=$_cu"
        done
        # Per CPU, summed on the host: mksh arithmetic is 32-bit.
        while read -r _name _us _ni _sy _id _io _irq _si _st _rest; do
            for _c in $_pinned; do
                if [ "$_name" = "cpu$_c" ]; then
                    _b=$((_us + _ni + _sy + _irq + _si + ${_st:-0}))
                    _line="$_line s$_c=$_b,$((_b + _id + _io))"
                fi
            done
        done </proc/stat
        _self=""
        readf _ps "/proc/$_p/stat"
        if [ -n "$_ps" ]; then
            # Fields after "(comm) " (comm may hold spaces): state is the first,
            # utime and stime the 12th and 13th (fields 14 and 15 of proc(5)).
            set -f  # split on purpose, never globbed
            # shellcheck disable=SC2086
            set -- ${_ps##*) }
            set +f
            [ $# -ge 13 ] && shift 11 && _self=$(( $1 + $2 ))
        fi
        echo "$_line self=$_self" >>"$_o"
    done
}

# others_mask MASK: the online CPUs outside MASK (hex, "0x" optional) as a hex
# mask, or nothing when MASK covers them all or either cannot be read. The
# sampler runs there, so that its wake-ups never take time from the measured
# cores. mksh arithmetic is 32-bit: CPUs past 30 are left out.
others_mask() {
    _m=${1#0[xX]}
    case $_m in ''|*[!0-9a-fA-F]*) return ;; esac
    readf _on "$SYS/devices/system/cpu/online"
    _all=0
    _ifs=$IFS
    IFS=,
    set -f
    for _r in $_on; do
        _lo=${_r%-*}
        _hi=${_r#*-}
        case $_lo$_hi in ''|*[!0-9]*) continue ;; esac
        while [ "$_lo" -le "$_hi" ] && [ "$_lo" -le 30 ]; do
            _all=$((_all | (1 << _lo)))
            _lo=$((_lo + 1))
        done
    done
    set +f
    IFS=$_ifs
    _rest=$((_all & ~16#$_m))
    [ "$_rest" -gt 0 ] && printf '%x\n' "$_rest"
}

# _wrap DIR MASK CPUS BINARY [ARGS...]: the detached wrapper (run by `start` only).
# CPUS: the pinned CPUs, space-separated ("" samples no clocks nor /proc/stat).
wrap() {
    _d=$1
    _mask=$2
    _cpus=$3
    shift 3
    trap '' HUP
    # The sampler's pinning (see below); others_mask forks, so before the start.
    _pin=""
    if [ "$SAMPLE_S" != 0 ]; then
        _smask=$(others_mask "$_mask")
        [ -n "$_smask" ] && _pin="taskset $_smask"
    fi
    now >"$_d/start"
    taskset "$_mask" "$@" >"$_d/stdout" 2>"$_d/stderr" </dev/null 3>&- &
    _bp=$!
    echo "$_bp" >"$_d/pid"
    _sp=""
    if [ "$SAMPLE_S" != 0 ]; then
        # A script of its own (taskset execs it: $! is the sampler), pinned
        # off the measured cores from its first instruction when others exist.
        # shellcheck disable=SC2086 # _pin and cpus split on purpose (hex, digits)
        $_pin sh "$0" _sample "$_bp" "$_d/samples" $_cpus </dev/null 3>&- &
        _sp=$!
        echo "$_sp" >"$_d/sampler_pid"  # before `started`: sweep finds it
    fi
    : >"$_d/started"
    exec 3>&-  # `start` is waiting for this end of the fifo to close
    wait "$_bp"
    rc=$?
    now >"$_d/end"
    if [ -n "$_sp" ]; then
        kill "$_sp" 2>/dev/null
        wait "$_sp" 2>/dev/null
    fi
    echo "$rc" >"$_d/exit_code.tmp" && mv "$_d/exit_code.tmp" "$_d/exit_code"
}

cmd=$1
dir=$2
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: run_trial.sh begin|collect|kill|sweep DIR ..." >&2; exit 64; }

case $cmd in
_sample)
    shift 1
    sample "$@"
    ;;
_wrap)
    shift 1
    wrap "$@"
    ;;
begin)
    mask=$3
    max=$4
    mark=$5
    shift 5
    before=1
    if [ "$1" = "--no-before" ]; then
        before=0
        shift
    fi
    cpus=""
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do
        case $1 in *[!0-9]*|'') echo "begin: bad cpu '$1'" >&2; exit 64 ;; esac
        cpus="$cpus $1"
        shift
    done
    [ "$1" = "--" ] && shift
    [ $# -ge 1 ] || { echo "begin: no command given" >&2; exit 64; }
    if [ "$before" = 1 ]; then
        echo "$mark before"
        # shellcheck disable=SC2086 # cpus are digits only, split on purpose
        sh "$here/state.sh" $cpus
    fi
    start "$dir" "$mask" "$cpus" "$@"
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
            # The wrapper first: killed after its benchmark, it would wake,
            # stop the sampler itself and write into a folder being removed.
            for f in wrapper_pid sampler_pid pid; do
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
