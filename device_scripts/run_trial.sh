#!/system/bin/sh
# One benchmark trial, detached from the adb connection that started it.
#
# Why detached: a USB hiccup ends the `adb shell` that launched a command, and
# adbd then sends its shell SIGHUP (some daemons kill the shell's whole process
# group). A trial must survive both, so its wrapper runs in a session of its
# own (`setsid`: a new session and process group, no controlling terminal),
# ignores SIGHUP (so does the benchmark, which inherits that), and writes every
# output to files in the trial folder. `begin` goes on only once the wrapper
# has said `started`, i.e. it is in its own session with SIGHUP ignored and the
# benchmark is launched. After a reconnect the host asks again (`collect`).
#
#   sh run_trial.sh begin DIR MASK MAX_CS BEAT_CS MARK [--again] [--no-before]
#                         [--energy=SPEC [--idle=CS]] [CPU...] -- BINARY [ARGS...]
#       state snapshot (unless --no-before: the host still holds one from a
#       moment ago), start detached, then as `collect`: one round trip for a
#       trial that ends within MAX_CS. --again: an earlier launch of this
#       trial may have left something (the host lost its answer): stop it first.
#       --energy: read the phone's energy counters too (see "Energy" below),
#       with an idle window of CS hundredths of a second before the launch.
#   sh run_trial.sh collect DIR MAX_CS BEAT_CS MARK [CPU...]
#       wait up to MAX_CS for the trial to end, printing "alive" every BEAT_CS
#       meanwhile; then print "state=running|done|vanished ..." and, when done,
#       the files and a quick state snapshot, each after a "MARK name" line
#   sh run_trial.sh kill DIR           -> "killed PID" | "ended" | "none"
#   sh run_trial.sh sweep ROOT         -> "swept N"
#   sh run_trial.sh make ROOT NAME...  -> "made N" (bells made)
# MAX_CS and BEAT_CS are hundredths of a second.
#
# Waiting for a trial's end is event-driven, never a poll (the one short poll
# left is the sampler's, for taskset's exec; see `sample()`, not on the way
# of any waiter). Every trial folder has a fifo, `bell`.
# The wrapper holds it open (read-write, so its open never waits) for its whole
# life and starts its children without it; a waiter reads from it, and when the
# wrapper ends the last writer is gone and the read returns end-of-file at once.
# The waiter's only other wake-up is its beat, every BEAT_CS (mksh's `read -t`
# on the bell; elsewhere a timer process that writes the waiter's token into
# it): the waiter then prints "alive" (the host takes silence beyond its margin
# for a lost device or a hung call) and waits again, until MAX_CS has passed.
# The wrapper also writes `ended` into the bell once its benchmark has ended
# and its exit look is taken: the waiting call reads the phone's state then,
# while the wrapper finishes its records.
#
# `make ROOT NAME...` makes trial folders and their bells ahead, for many
# trials in one call, so that a launch starts no process for its folder.
#
# `kill` writes DIR.stop beside the folder before it kills, so that a launch
# still on its way when the harness stopped (the signal cut its `begin`) sees
# it and runs nothing; `begin --again` and `sweep` clear it.
#
# `sweep` kills trials a previous harness left running (it was killed, or lost
# the device for good) and clears ROOT, so that a resumed run never measures
# while a stale benchmark process competes for the same cores.
#
# Files in DIR: stdout, stderr, wrapper_pid, pid (benchmark process),
# sampler_pid and samples (the proof, see `sample()`), started, start, end
# (seconds since the epoch, or uptime seconds without EPOCHREALTIME or date
# %N), bell, exit_code, written last: the trial is done once it is there and
# not empty, and `collect`'s .m-* marker lines for its one `cat` (`begin`
# writes them while the benchmark runs). The full state snapshot before a
# trial comes from state.sh beside this script (the device layer's key=value format); the one right
# after a trial is `quick_state` below: the same lines for zones, the pinned
# CPUs' clocks and a sysfs battery, read with shell builtins only. Between two
# trials nothing forks that need not: every process started there is time
# added to every trial.
#
# Energy (begin's --energy=SPEC; without it none of this runs). SPEC is
# `odpm:METERS:RAILS`, the ODPM meters' iio:device numbers (comma-separated)
# and the rails to keep (comma-separated; empty: all), or `gauge`, the
# battery's fuel gauge. Four looks read it, each one `energy` line in samples:
#   energy at=idle0 rt=T READINGS    begin, after the trial folder is made,
#   energy at=idle1 rt=T READINGS    and again after the idle window (--idle)
#   energy at=timed prev=T seen=T rt=T READINGS
#       the sampler, as soon as the benchmark has printed its second "Running
#       benchmark for" line: the real tool prints one before the warm-up runs
#       and one right before the timed runs, flushed at once (std::endl). The
#       sampler looks at its output every POLL_S with builtins (a read of the
#       growing files, a nap on a fifo); the line came after `prev`, the last
#       look that did not find it, and before `seen`. (No sampler, with
#       HARNESS_SAMPLE_S=0: no timed look, and no figure.)
#   energy at=exit rt=T READINGS     the wrapper, right after it reaped the benchmark
# READINGS: `m<N>=<t>,<T> RAIL=<uWs>...` per meter (t: the meter's own snapshot
# time, ms of CLOCK_BOOTTIME, from energy_value's first line; T: once read) or
# `charge=<uAh> current=<uA> voltage=<uV>`; T: EPOCHREALTIME (mksh), else the
# uptime, one clock within a trial. No other look reads energy: the ODPM driver
# answers a read within 50 ms of its last refresh from a cache, so a read just
# before the timed or exit look would make that look's snapshot an old one.
# The host turns the looks into energy per inference (harness/bench/energy.py).
# POSIX sh for Android's mksh and toybox; no bash-isms.

here=${0%/*}
SYS="${SYSFS_ROOT:-}/sys"
# Seconds between proof samples during a trial; 0 turns the proof off altogether
# (the sampling-cost benchmark compares both).
SAMPLE_S=${HARNESS_SAMPLE_S:-0.5}
case $SAMPLE_S in ''|*[!0-9.]*|*.*.*) SAMPLE_S=0.5 ;; esac
case $SAMPLE_S in *[1-9]*) ;; *) SAMPLE_S=0 ;; esac
# The same in hundredths, for the sampler's schedule while it watches the output.
case $SAMPLE_S in *.*) _sw=${SAMPLE_S%%.*} _sf=${SAMPLE_S#*.}00 ;; *) _sw=$SAMPLE_S _sf=00 ;; esac
while :; do case $_sw in 0?*) _sw=${_sw#0} ;; *) break ;; esac; done
_sf=${_sf%"${_sf#??}"}
SAMPLE_CS=$((${_sw:-0} * 100 + 1$_sf - 100))
# How often the sampler looks at the benchmark's output for its timed phase's
# start (energy only): the figure's edge is known to within this.
POLL_S=0.005
# How long `kill` waits for the wrapper to record the end before it kills that too.
KILL_WAIT_CS=50
_listening=""  # set once fd 6 reads this shell's trial bell
_ended=""  # set once the bell said the wrapper has ended

now() {
    # mksh's EPOCHREALTIME costs no process; elsewhere date, or the uptime.
    if [ -n "${EPOCHREALTIME:-}" ]; then
        echo "$EPOCHREALTIME"
        return
    fi
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
# (no command substitution either: in mksh that forks too).
uptime_cs() {
    read -r _up _rest </proc/uptime
    _whole=${_up%.*}
    _frac=${_up#*.}
    _cs=$((_whole * 100 + ${_frac#0}))
}

# counters [--clocks] CPU...: sets _line to "up=<uptime s> temp=<hottest zone,
# millidegrees C> [f<cpu>=<cur kHz>...] s<cpu>=<busy ticks>,<total ticks>...",
# read with builtins only. s<cpu> are the CPUs' /proc/stat counters: busy leaves
# out idle and iowait, and the host sums them (mksh arithmetic is 32-bit).
counters() {
    _clocks=0
    if [ "$1" = --clocks ]; then
        _clocks=1
        shift
    fi
    read -r _up _rest </proc/uptime
    _line="up=$_up"
    _hot=""
    for _z in "$SYS"/class/thermal/thermal_zone*; do
        readf _t "$_z/temp"
        case $_t in ''|*[!0-9-]*|-) continue ;; esac
        # Zones report millidegrees, a few whole degrees (thermal.zone_temp_c).
        [ "$_t" -gt -1000 ] && [ "$_t" -lt 1000 ] && _t=$((_t * 1000))
        if [ -z "$_hot" ] || [ "$_t" -gt "$_hot" ]; then _hot=$_t; fi
    done
    _line="$_line temp=$_hot"
    if [ "$_clocks" = 1 ]; then
        for _c in "$@"; do
            readf _cu "$SYS/devices/system/cpu/cpu$_c/cpufreq/scaling_cur_freq"
            _line="$_line f$_c=$_cu"
        done
    fi
    while read -r _name _us _ni _sy _id _io _irq _si _st _rest; do
        # The cpu lines come first; the rest (`intr`, thousands of numbers on a
        # phone) is not read.
        case $_name in cpu*) ;; *) break ;; esac
        for _c in "$@"; do
            if [ "$_name" = "cpu$_c" ]; then
                _b=$((_us + _ni + _sy + _irq + _si + ${_st:-0}))
                _line="$_line s$_c=$_b,$((_b + _id + _io))"
            fi
        done
    done </proc/stat
}

# pid_stat STAT_FILE: reads a process's /proc/PID/stat once, the one reader of it:
# _pst its state letter and _pgrp its process group (proc(5) fields 3 and 5), _self
# its utime + stime (14 and 15: its CPU ticks so far, all its threads), _reaped its
# cutime + cstime (16 and 17: the ticks of its children that have ended and been
# reaped); all empty when it is gone. Fields are split after "(comm) " (comm may
# hold spaces), so the state is the first.
pid_stat() {
    _pst=""
    _pgrp=""
    _self=""
    _reaped=""
    readf _ps "$1"
    [ -n "$_ps" ] || return 0
    set -f  # split on purpose, never globbed
    # shellcheck disable=SC2086
    set -- ${_ps##*) }
    set +f
    _pst=$1
    _pgrp=${3:-}
    [ $# -ge 13 ] && _self=$((${12} + ${13}))
    [ $# -ge 15 ] && _reaped=$((${14} + ${15}))
    return 0
}

# stamp: sets _rt to the clock energy looks are stamped with, without a fork:
# EPOCHREALTIME (mksh, microseconds), else the uptime (hundredths).
stamp() {
    if [ -n "${EPOCHREALTIME:-}" ]; then
        _rt=$EPOCHREALTIME
    else
        read -r _rt _rest </proc/uptime
    fi
}

# energy_read AT [WORDS]: sets _eline to an `energy` line (see "Energy" above)
# of the source in _en, read with builtins only: one read per meter's
# energy_value (one snapshot: its `t=` and the rails of that moment), or the
# gauge's three files.
energy_read() {
    stamp
    _eline="energy at=$1${2:+ $2} rt=$_rt"
    case $_en in
    gauge)
        _gb=$SYS/class/power_supply/battery
        readf _q "$_gb/charge_counter"
        readf _i "$_gb/current_now"
        readf _v "$_gb/voltage_now"
        _eline="$_eline charge=$_q current=$_i voltage=$_v"
        ;;
    odpm:*)
        _spec=${_en#odpm:}
        _keep=,${_spec#*:},
        _ms=${_spec%%:*},
        while [ -n "$_ms" ]; do
            _m=${_ms%%,*}
            _ms=${_ms#*,}
            [ -n "$_m" ] || continue
            _t=""
            _blk=""
            # energy_value: `t=<ms>`, then `CH<n>(T=<ms>)[<rail>], <uWs>` per channel.
            while read -r _k _v; do
                if [ -z "$_t" ]; then
                    _t=${_k#t=}
                    continue
                fi
                _n=${_k#*\[}
                _n=${_n%%\]*}
                case $_keep in ,,|*",$_n,"*) _blk="$_blk $_n=$_v" ;; esac
            done 2>/dev/null <"$SYS/bus/iio/devices/iio:device$_m/energy_value"
            # Stamped once read: a read that waited stays no fresher than it was.
            stamp
            _eline="$_eline m$_m=$_t,$_rt$_blk"
        done
        ;;
    esac
}

# nap SECONDS: wait without a process: a timed read of the trial's `nap` fifo,
# which nobody writes (fd 7, opened read-write so that the open never waits);
# `sleep` where the shell's read has no timeout (mksh's has).
nap() {
    if [ -z "$_naps" ]; then
        _naps=sleep
        read -t 0.001 -r _x <&7 2>/dev/null
        [ $? -gt 128 ] && _naps=read
    fi
    if [ "$_naps" = read ]; then
        read -t "$1" -r _x <&7
    else
        sleep "$1"
    fi
}
_naps=""

# scan FD PARTVAR: counts into _runs the "Running benchmark for" lines fd FD
# (the benchmark's stdout or stderr, open since the start look) has gained;
# a line still being written waits in PARTVAR for its end.
scan() {
    eval "_part=\${$2}"
    while IFS= read -r _l <&"$1"; do
        case $_part$_l in *"Running benchmark for "*) _runs=$((_runs + 1)) ;; esac
        _part=""
    done
    eval "$2=\$_part\$_l"
}

# watch DIR CPU...: the sampler, from its start look until the benchmark
# prints its second "Running benchmark for" line (its timed phase begins):
# looks at the output every POLL_S, then takes the `timed` energy look at
# once. The samples between go on at their period meanwhile. Init and warm-up
# are not timed, so the polling costs the timed runs nothing; only its last
# look, POLL_S at most, falls into them.
watch() {
    _wd=$1
    shift
    [ -p "$_wd/nap" ] && [ -f "$_wd/stdout" ] && [ -f "$_wd/stderr" ] || return 0
    exec 7<>"$_wd/nap" 8<"$_wd/stdout" 9<"$_wd/stderr"
    _runs=0
    _p8=""
    _p9=""
    # The launch time, when it is in the looks' clock: the line cannot be older.
    _prev=""
    [ -n "${EPOCHREALTIME:-}" ] && readf _prev "$_wd/start"
    if [ -z "$_prev" ]; then
        stamp
        _prev=$_rt
    fi
    uptime_cs
    _due=$((_cs + SAMPLE_CS))
    while [ "$_stop" = 0 ]; do
        stamp
        _look=$_rt
        scan 8 _p8
        scan 9 _p9
        if [ "$_runs" -ge 2 ]; then
            stamp
            energy_read timed "prev=$_prev seen=$_rt"
            echo "$_eline" >>"$_o"
            break
        fi
        _prev=$_look
        uptime_cs
        if [ "$_cs" -ge "$_due" ]; then
            _due=$((_cs + SAMPLE_CS))
            kill -0 "$PPID" 2>/dev/null || break
            counters --clocks "$@"
            pid_stat "/proc/$_p/stat"
            [ -n "$_self" ] && echo "sample $_line self=$_self" >>"$_o"
        fi
        nap "$POLL_S"
    done
    exec 7>&- 8<&- 9<&-
}

# sample PID DIR ENERGY CPU...: the sampler, started by the wrapper pinned off
# the measured cores. The proof lines it appends to DIR/samples:
#   affinity mask=<hex, taskset -p> list=<Cpus_allowed_list of /proc/PID/status>
#   sample at=start up=<uptime s> temp=<hottest zone, m°C> s<cpu>=<busy>,<total>... self=<ticks>
#   sample up=... temp=... f<cpu>=<cur kHz>... s<cpu>=... self=<ticks>
# (the wrapper adds `sample at=exit`). First the start look, as soon as taskset
# has applied the mask and exec'd the benchmark. Until then the process is the
# wrapper's forked shell (named as the wrapper, its mask not yet applied), then
# taskset: the wait below turns while it has either name, at most ~1 s (on a
# phone it is well under a millisecond; a benchmark that shares the wrapper's
# name only costs that second). Then the affinity read back, and the counters with the
# benchmark's own ticks (self, utime+stime of /proc/PID/stat). The looks read
# no clocks: a CPU that has just woken, or is about to sleep, runs slow for
# reasons that say nothing about the trial. Then a sample every SAMPLE_S while
# the benchmark runs, clocks included; the only process per sample is `sleep`.
# The sampler ends only when the wrapper sends TERM, after its exit look: ended
# by itself it would be reaped into the wrapper's children's ticks, which that
# look takes for the benchmark's. The TERM trap only sets a flag, so a line is
# never cut short; `sleep` runs in the background so that TERM ends the nap at
# once (a shell waits for a foreground command before it acts on a signal).
# With ENERGY (the spec of begin's --energy) it watches for the timed phase
# after the start look (`watch`) and takes the `timed` energy look.
sample() {
    _p=$1
    _o=$2/samples
    _en=$3
    _sd=$2
    shift 3
    _stop=0
    trap '_stop=1' TERM
    readf _ps "/proc/$PPID/stat"
    _wname=${_ps#*\(}
    _wname=${_wname%\)*}
    _n=0
    while [ "$_stop" = 0 ] && [ "$_n" -lt 100 ]; do
        readf _ps "/proc/$_p/stat"
        [ -n "$_ps" ] || break
        case ${_ps##*) } in Z*) break ;; esac
        _comm=${_ps#*\(}
        _comm=${_comm%\)*}
        [ "$_comm" = taskset ] || [ "$_comm" = "$_wname" ] || break
        _n=$((_n + 1))
        sleep 0.01
    done
    _am=$(taskset -p "$_p" 2>/dev/null)
    _al=""
    while read -r _k _v; do
        [ "$_k" = Cpus_allowed_list: ] && _al=$_v
    done <"/proc/$_p/status" 2>/dev/null
    counters "$@"
    pid_stat "/proc/$_p/stat"
    if [ -n "$_self" ]; then
        echo "affinity mask=${_am##*: } list=$_al" >>"$_o"
        echo "sample at=start $_line self=$_self" >>"$_o"
    fi
    [ -n "$_en" ] && watch "$_sd" "$@"
    while [ "$_stop" = 0 ]; do
        sleep "$SAMPLE_S" &
        _nap=$!
        [ "$_stop" = 0 ] && wait "$_nap"
        if [ "$_stop" != 0 ]; then
            kill "$_nap" 2>/dev/null
            break
        fi
        # The wrapper gone (killed): no TERM will come.
        kill -0 "$PPID" 2>/dev/null || break
        counters --clocks "$@"
        pid_stat "/proc/$_p/stat"
        # Empty once the benchmark has ended: then only the wrapper's TERM is awaited.
        [ -n "$_self" ] && echo "sample $_line self=$_self" >>"$_o"
    done
}

# others_mask MASK: sets _others to the online CPUs outside MASK (hex, "0x"
# optional) as a hex mask, or to nothing when MASK covers them all or either
# cannot be read. The sampler runs there, so that its wake-ups never take time
# from the measured cores. mksh arithmetic is 32-bit: CPUs past 30 are left out.
others_mask() {
    _others=""
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
    _rest=$((_all & ~0x$_m))
    # Hex digits by hand: printf is no builtin in mksh.
    while [ "$_rest" -gt 0 ]; do
        case $((_rest % 16)) in
            10) _dg=a ;; 11) _dg=b ;; 12) _dg=c ;; 13) _dg=d ;; 14) _dg=e ;; 15) _dg=f ;;
            *) _dg=$((_rest % 16)) ;;
        esac
        _others=$_dg$_others
        _rest=$((_rest / 16))
    done
}

# _wrap DIR MASK ENERGY CPUS BINARY [ARGS...]: the detached wrapper (run by
# `start` only, its fd 4 on the bell). ENERGY: begin's --energy spec, or "".
# CPUS: the pinned CPUs, space-separated ("" reads no clocks nor /proc/stat).
#
# The exit look is the wrapper's: once it has reaped the benchmark, the
# process is gone from /proc, but the kernel has added its whole CPU time
# (every thread, taskset's instant before the exec included) to the
# wrapper's children's ticks, so that difference across the benchmark's life
# is its `self` at exit. Nothing else of the wrapper's may end in between:
# `now` may fork `date`, so the ticks are read after it at the start and before
# it at the end, and the sampler is reaped only after the look. The counters
# follow at once. The exit energy look comes first of all (builtins only):
# what the phone spends after the benchmark's end is no part of the trial.
wrap() {
    _d=$1
    _mask=$2
    _en=$3
    _cpus=$4
    shift 4
    trap '' HUP
    echo "$$" >"$_d/wrapper_pid"
    # Stopped while its launch was on its way: run nothing.
    [ -e "$_d.stop" ] && exit 0
    _pin=""
    _before=""
    [ "$SAMPLE_S" != 0 ] && others_mask "$_mask" && [ -n "$_others" ] && _pin="taskset $_others"
    now >"$_d/start"
    if [ "$SAMPLE_S" != 0 ]; then
        pid_stat "/proc/$$/stat"  # _reaped: after `now`, which may fork `date`
        _before=$_reaped
    fi
    taskset "$_mask" "$@" >"$_d/stdout" 2>"$_d/stderr" </dev/null 4>&- &
    _bp=$!
    echo "$_bp" >"$_d/pid"
    # `kill` writes the stop marker, then reads `pid`; this writes `pid`, then
    # looks for the marker: whichever comes second sees the other's work.
    [ -e "$_d.stop" ] && kill -9 "$_bp" 2>/dev/null
    _sp=""
    if [ -n "$_before" ]; then
        # A script of its own (taskset execs it: $! is the sampler), pinned
        # off the measured cores from its first instruction when others exist.
        # shellcheck disable=SC2086 # _pin and cpus split on purpose (hex, digits)
        $_pin sh "$0" _sample "$_bp" "$_d" "$_en" $_cpus </dev/null >/dev/null 2>&1 4>&- &
        _sp=$!
        echo "$_sp" >"$_d/sampler_pid"  # before `started`: sweep finds it
    fi
    : >"$_d/started"
    echo started >&4
    wait "$_bp"
    rc=$?
    _eexit=""
    if [ -n "$_en" ]; then
        energy_read exit
        _eexit=$_eline
    fi
    [ -n "$_before" ] && pid_stat "/proc/$$/stat"  # _reaped: before `now`, which may fork `date`
    now >"$_d/end"
    _exit=""
    if [ -n "$_before" ] && [ -n "$_reaped" ]; then
        # shellcheck disable=SC2086
        counters $_cpus
        _exit="sample at=exit $_line self=$((_reaped - _before))"
    fi
    # The benchmark's end and the exit look are taken: a waiter may read the
    # phone's state now, while the sampler is stopped and the records written.
    echo ended >&4
    if [ -n "$_sp" ]; then
        kill "$_sp" 2>/dev/null
        wait "$_sp" 2>/dev/null
    fi
    [ -n "$_exit" ] && echo "$_exit" >>"$_d/samples"
    [ -n "$_eexit" ] && echo "$_eexit" >>"$_d/samples"
    # Last: readers take it once the wrapper has gone (the bell's end-of-file).
    echo "$rc" >"$_d/exit_code"
}

# The detached wrapper and its sampler need nothing below: they stop reading here.
case $1 in
_wrap)
    shift 1
    wrap "$@"
    exit
    ;;
_sample)
    shift 1
    sample "$@"
    exit
    ;;
esac

# look DIR: sets _state to the trial's state line, from its files and whether
# its wrapper lives (once the bell said it ended, it does not: a wrapper not
# yet reaped still answers `kill -0`). No waiting, no fork.
look() {
    readf _rc "$1/exit_code"
    if [ -z "$_rc" ]; then
        readf _wpid "$1/wrapper_pid"
        if [ -z "$_ended" ] && [ -n "$_wpid" ] && kill -0 "$_wpid" 2>/dev/null; then
            _state=state=running
            return
        fi
        readf _rc "$1/exit_code"  # the wrapper writes it just before it ends
    fi
    if [ -n "$_rc" ]; then
        readf _st "$1/start"
        readf _en "$1/end"
        _state="state=done exit=$_rc start=$_st end=$_en"
    elif [ -e "$1.stop" ]; then
        _state="state=vanished reason=stopped"
    elif [ -z "$_wpid" ]; then
        _state="state=vanished reason=no-trial-folder"
    else
        _state="state=vanished reason=wrapper-gone"
    fi
}

# listen DIR: open fd 6 on DIR's bell for reading. A writer of our own first, so
# the open cannot block on a wrapper that has already gone; then closed, so the
# wrapper's is the only writer left and its end is our end-of-file.
listen() {
    [ -p "$1/bell" ] || return 1
    _bell=$1/bell
    exec 5<>"$_bell" 6<"$_bell" 5>&-
    _listening=1
}

# await CS BEAT_CS: block on fd 6 until the wrapper has ended (end of file;
# returns 0) or CS hundredths of a second have passed (returns 1), printing
# "alive" every BEAT_CS; with _on_ended set, also until the wrapper says its
# benchmark has `ended` (returns 2; it still finishes its records). Other
# lines (the wrapper's `started`, a token of an earlier waiter's timer) are
# passed over. mksh's
# `read -t` wakes for the beat with no process; a shell without it starts a
# timer for each beat: a process that writes this shell's token into the bell
# (opened read-write, so its write never waits for a reader). A killed timer's
# `sleep` may outlive it by up to BEAT_CS, doing nothing.
await() {
    uptime_cs
    _until=$((_cs + $1))
    _next=$((_cs + $2))
    _tok="beat-$$"
    if [ -z "$_readt" ]; then
        _readt=no
        { read -t 0.001 -r _x </dev/null; } 2>/dev/null
        [ $? -le 1 ] && _readt=yes
    fi
    while :; do
        uptime_cs
        _nap=$((_until - _cs))
        [ "$_nap" -gt 0 ] || return 1
        if [ "$2" -gt 0 ]; then
            if [ "$_cs" -ge "$_next" ]; then
                echo alive
                _next=$((_cs + $2))
            fi
            [ "$_nap" -gt $((_next - _cs)) ] && _nap=$((_next - _cs))
        fi
        _secs=$((_nap / 100)).$((_nap / 10 % 10))$((_nap % 10))
        if [ "$_readt" = yes ]; then
            _rc=0
            read -t "$_secs" -r _l <&6 || _rc=$?
            # Over 128: the time is up (a beat, or the end of the wait); else end of file.
            [ "$_rc" -gt 128 ] && continue
            [ "$_rc" = 0 ] || return 0
            [ "$_l" = ended ] && [ -n "$_on_ended" ] && return 2
            continue
        fi
        sh -c 'sleep "$1" & wait $!; echo "$2" 1<>"$3"' timer "$_secs" "$_tok" "$_bell" \
            </dev/null >/dev/null 2>&1 &
        _timer=$!
        _rang=0
        while read -r _l <&6; do
            if [ "$_l" = "$_tok" ]; then
                _rang=1
                break
            fi
            if [ "$_l" = ended ] && [ -n "$_on_ended" ]; then
                _rang=2
                break
            fi
        done
        if [ "$_rang" != 1 ]; then
            kill "$_timer" 2>/dev/null
            [ "$_rang" = 2 ] && return 2
            return 0
        fi
    done
}
_readt=""
_on_ended=""

# quick_state [CPU...]: sets _qs to state.sh's zone/freq/battery lines, each
# ending in a newline, without a fork.
quick_state() {
    _qs=""
    for _z in /sys/class/thermal/thermal_zone*; do
        readf _t "$_z/temp"
        # A zone whose sensor is off reads EINVAL: skip it, do not report 0.
        [ -n "$_t" ] || continue
        readf _ty "$_z/type"
        _qs="${_qs}zone=${_z##*/} temp=$_t type=$_ty$_nl"
    done
    for _c in "$@"; do
        _f=/sys/devices/system/cpu/cpu$_c/cpufreq
        readf _mx "$_f/scaling_max_freq"
        readf _cu "$_f/scaling_cur_freq"
        readf _gv "$_f/scaling_governor"
        _qs="${_qs}freq=$_c max=$_mx cur=$_cu governor=$_gv$_nl"
    done
    _b=/sys/class/power_supply/battery
    if [ -r "$_b/capacity" ]; then
        readf _lv "$_b/capacity"
        readf _bt "$_b/temp"
        _qs="${_qs}battery_level=$_lv${_nl}battery_temp=$_bt$_nl"
    fi
}
_nl='
'

# marks DIR MARK: the marker files `collect`'s one `cat` reads between the
# trial's files. `begin` writes them while the benchmark runs, not after it.
marks() {
    { echo; echo "$2 stderr"; } >"$1/.m-stderr"
    { echo; echo "$2 samples"; } >"$1/.m-samples"
    { echo; echo "$2 after"; } >"$1/.m-after"
    _marked="$1 $2"
}
_marked=""

# collect DIR MAX_CS BEAT_CS MARK [CPU...]   (`begin` has fd 6 listening already)
collect() {
    _d=$1
    _max=$2
    _beat=$3
    _mark=$4
    shift 4
    _after=""
    look "$_d"
    if [ "$_state" = state=running ] && [ "$_max" -gt 0 ]; then
        if [ -n "$_listening" ] || listen "$_d"; then
            # The state after the trial is read as soon as the wrapper says the
            # benchmark has `ended` (its exit look taken), while the wrapper
            # stops its sampler and writes its records.
            _on_ended=1
            await "$_max" "$_beat"
            _rc=$?
            _on_ended=""
            if [ "$_rc" = 2 ]; then
                quick_state "$@"
                _after=1
                await "$_max" "$_beat"
                _rc=$?
            fi
            [ "$_rc" = 0 ] && _ended=1
            look "$_d"
        fi
    fi
    echo "$_state"
    case $_state in
        state=done*)
            # One `cat` for the three files: the marker lines between them are
            # files too. Each file is followed by one newline the host strips.
            echo "$_mark stdout"
            [ "$_marked" = "$_d $_mark" ] || marks "$_d" "$_mark"
            cat "$_d/stdout" "$_d/.m-stderr" "$_d/stderr" "$_d/.m-samples" \
                "$_d/samples" "$_d/.m-after" 2>/dev/null
            [ -n "$_after" ] || quick_state "$@"
            [ -z "$_qs" ] || echo "${_qs%"$_nl"}"
            ;;
    esac
}

# stop_procs DIR: SIGKILL what is left of a trial, its wrapper first (killed
# after its benchmark it would wake, stop the sampler itself and write into a
# folder being removed). A wrapper that setsid made a group leader goes with its
# whole group (_grp), so a benchmark it had started but not yet written to `pid`
# goes too. Sets _stopped to how many it killed, _killed to their pids.
stop_procs() {
    _stopped=0
    _grp=""
    _killed=""
    for _f in wrapper_pid sampler_pid pid; do
        readf _p "$1/$_f"
        [ -n "$_p" ] || continue
        _g=$_p
        if [ "$_f" = wrapper_pid ]; then
            pid_stat "/proc/$_p/stat"
            [ "$_pgrp" = "$_p" ] && _g=-$_p _grp=$_p
        fi
        if kill -9 "$_g" 2>/dev/null; then
            _stopped=$((_stopped + 1))
            _killed="$_killed $_p"
        fi
    done
}

# gone DIR: waits, up to KILL_WAIT_CS more, until the trial's wrapper, sampler and
# benchmark, and the rest of a group stop_procs killed, have ended (gone, or a
# zombie: dead, not yet reaped). A SIGKILL takes effect when its target is next
# scheduled, so on a busy phone a process may outlive the `kill -9` that ended
# it by a moment; `kill` answers only after.
# Only the stop path polls; a trial's own path never comes here.
gone() {
    uptime_cs
    _until=$((_cs + KILL_WAIT_CS))
    for _f in wrapper_pid sampler_pid pid; do
        readf _p "$1/$_f"
        [ -n "$_p" ] || continue
        while :; do
            pid_stat "/proc/$_p/stat"
            [ -n "$_pst" ] && [ "$_pst" != Z ] || break
            uptime_cs
            [ "$_cs" -lt "$_until" ] || break
            sleep 0.01
        done
    done
    # The rest of a group stop_procs killed: a benchmark no file named.
    while [ -n "$_grp" ] && in_group "$_grp"; do
        uptime_cs
        [ "$_cs" -lt "$_until" ] || break
        sleep 0.01
    done
}

# in_group PGID: whether a live (not zombie) process is in that process group.
in_group() {
    for _s in /proc/[0-9]*/stat; do
        pid_stat "$_s"
        [ "$_pgrp" = "$1" ] && [ "$_pst" != Z ] && return 0
    done
    return 1
}

# stop_trial DIR: `kill`'s work, for `sweep` too. The stop marker first, then
# the benchmark, then the wrapper's own end: a wrapper between starting its
# benchmark and writing `pid` sees the marker and kills the benchmark itself,
# which killing the wrapper first would have left running with no pid file.
# Sets `said`: "killed PID...", "ended" or "none".
stop_trial() {
    # `true`, not `:`: a failed redirection of a special builtin ends the shell.
    { true >"$1.stop"; } 2>/dev/null || { mkdir -p "${1%/*}" && true >"$1.stop"; } 2>/dev/null
    said=none
    _grp=""
    readf _bp "$1/pid"
    if [ -n "$_bp" ] && kill -9 "$_bp" 2>/dev/null; then said="killed $_bp"; fi
    # The wrapper records the end (exit code, exit look) and stops its sampler.
    if listen "$1"; then await "$KILL_WAIT_CS" "$KILL_WAIT_CS" >/dev/null; fi
    readf _rc "$1/exit_code"
    if [ -z "$_rc" ]; then
        stop_procs "$1"  # a wrapper that did not finish in time, and its sampler
        [ "$_stopped" -gt 0 ] && [ "$said" = none ] && said="killed${_killed}"
    elif [ "$said" = none ]; then
        said=ended
    fi
    [ "$said" = none ] || gone "$1"
}

# start DIR MASK ENERGY IDLE_CS CPUS BINARY [ARGS...]
start() {
    _d=$1
    _mask=$2
    _en=$3
    _idle=$4
    shift 4
    # `make` has usually made the folder and its bell before the run's first
    # trial: then no process starts here. A folder a launch has used is made anew.
    if [ -p "$_d/bell" ] && [ ! -e "$_d/wrapper_pid" ]; then
        [ -z "$_en" ] || [ -p "$_d/nap" ] || mkfifo "$_d/nap" || {
            echo "cannot create $_d/nap" >&2
            exit 73
        }
    else
        if [ -e "$_d" ]; then rm -rf "$_d"; fi
        mkdir -p "$_d" && mkfifo "$_d/bell" ${_en:+"$_d/nap"} || {
            echo "cannot create $_d" >&2
            exit 73
        }
    fi
    if [ -n "$_en" ]; then
        # The idle power the host subtracts: the phone's draw just before the
        # launch, over IDLE_CS in which this shell only naps (no process).
        energy_read idle0
        echo "$_eline" >>"$_d/samples"
        exec 7<>"$_d/nap"
        nap "$((_idle / 100)).$((_idle / 10 % 10))$((_idle % 10))"
        exec 7>&-
        energy_read idle1
        echo "$_eline" >>"$_d/samples"
    fi
    # setsid execs in place (a background job is no group leader), so $! is the
    # wrapper itself. Without setsid the wrapper still ignores SIGHUP, but shares
    # the launching shell's process group.
    _setsid=""
    command -v setsid >/dev/null 2>&1 && _setsid=setsid
    $_setsid sh "$0" _wrap "$_d" "$_mask" "$_en" "$@" </dev/null >/dev/null 2>&1 4<>"$_d/bell" &
    echo "$!" >"$_d/wrapper_pid"
    # Our open of the bell waits for a writer, i.e. for the wrapper's (read-write,
    # so that one never waits); then its `started` line, or its end.
    _bell=$_d/bell
    exec 6<"$_bell"
    _listening=1
    _ended=1
    while read -r _l <&6; do
        if [ "$_l" = started ]; then
            _ended=""
            break
        fi
    done
}

cmd=$1
dir=$2
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: run_trial.sh begin|collect|kill|sweep|make DIR ..." >&2; exit 64; }

case $cmd in
begin)
    mask=$3
    max=$4
    beat=$5
    mark=$6
    shift 6
    again=0
    before=1
    energy=""
    idle=100
    while :; do
        case $1 in
            --again) again=1 ;;
            --no-before) before=0 ;;
            --energy=*) energy=${1#--energy=} ;;
            --idle=*) idle=${1#--idle=} ;;
            *) break ;;
        esac
        shift
    done
    case $energy in *[!A-Za-z0-9_,:.-]*) echo "begin: bad energy spec '$energy'" >&2; exit 64 ;; esac
    case $idle in ''|*[!0-9]*) echo "begin: bad idle window '$idle'" >&2; exit 64 ;; esac
    cpus=""
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do
        case $1 in *[!0-9]*|'') echo "begin: bad cpu '$1'" >&2; exit 64 ;; esac
        cpus="$cpus $1"
        shift
    done
    [ "$1" = "--" ] && shift
    [ $# -ge 1 ] || { echo "begin: no command given" >&2; exit 64; }
    if [ "$again" = 1 ]; then
        readf rc "$dir/exit_code"
        [ -z "$rc" ] && stop_procs "$dir"
        rm -f "$dir.stop"
    fi
    if [ "$before" = 1 ]; then
        echo "$mark before"
        # shellcheck disable=SC2086 # cpus are digits only, split on purpose
        sh "$here/state.sh" $cpus
    fi
    start "$dir" "$mask" "$energy" "$idle" "$cpus" "$@"
    echo "$mark started"
    marks "$dir" "$mark"
    # shellcheck disable=SC2086
    collect "$dir" "$max" "$beat" "$mark" $cpus
    ;;
collect)
    shift 2
    collect "$dir" "$@"
    ;;
kill)
    stop_trial "$dir"
    echo "$said"
    ;;
make)
    # make ROOT NAME...: each trial's folder and bell ahead of the trials, two
    # processes for them all, so that a trial's launch starts none.
    shift 2
    for d in "$@"; do
        case $d in ''|.|..|*/*) echo "make: bad name '$d'" >&2; exit 64 ;; esac
    done
    { [ -d "$dir" ] || mkdir -p "$dir"; } && cd "$dir" || exit 73
    [ $# -gt 0 ] && { mkdir -p -- "$@" || exit 73; }
    for d in "$@"; do
        [ -p "$d/bell" ] || set -- "$@" "$d/bell"
        shift
    done
    [ $# -gt 0 ] && { mkfifo -- "$@" || exit 73; }
    echo "made $#"
    ;;
sweep)
    n=0
    for d in "$dir"/*; do
        [ -d "$d" ] || continue
        readf rc "$d/exit_code"
        if [ -z "$rc" ]; then
            # N counts the trial's processes alive when found, all stopped here.
            for f in wrapper_pid sampler_pid pid; do
                readf p "$d/$f"
                [ -n "$p" ] && kill -0 "$p" 2>/dev/null && n=$((n + 1))
            done
            stop_trial "$d"
        fi
    done
    rm -rf "$dir"/* 2>/dev/null
    echo "swept $n"
    ;;
*)
    echo "unknown command: $cmd" >&2
    exit 64
    ;;
esac
