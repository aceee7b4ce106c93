#!/system/bin/sh
# state.sh [--screen] [CPU...|none]: device state in one round trip.
#
# Prints, as key=value lines:
#   zone=thermal_zoneN temp=<raw, usually millidegrees C> type=<sensor name>
#   freq=<cpu> max=<scaling_max_freq kHz> cur=<scaling_cur_freq kHz> governor=<name>
#   battery_level=<percent>  battery_temp=<tenths of degrees C>
#   screen=on|off|unknown          (only with --screen; needs dumpsys)
# CPUs default to every CPU present; `none` skips the freq lines (cooldown polls). Missing files give empty values, never a
# failure: an old phone lacking a sensor still gets measured. Exit 0.
#
# Runs under Android's mksh with toybox. SYSFS_ROOT prefixes /sys for unit tests.

SYS="${SYSFS_ROOT:-}/sys"
screen=0
if [ "$1" = --screen ]; then
	screen=1
	shift
fi

# readf VAR FILE: the first line of FILE into VAR, empty when unreadable. A
# builtin read, not $(...): that would fork once per value, and a cooldown
# wait reads the state again and again.
readf() {
	eval "$1=''"
	{ IFS= read -r "$1" <"$2"; } 2>/dev/null || true
}

for z in "$SYS"/class/thermal/thermal_zone*; do
	[ -d "$z" ] || continue
	readf t "$z/temp"
	# A zone whose sensor is off reads EINVAL: skip it, do not report 0.
	[ -n "$t" ] || continue
	readf ty "$z/type"
	echo "zone=${z##*/} temp=$t type=$ty"
done

if [ "$1" = none ]; then
	set --
elif [ "$#" -eq 0 ]; then
	n=0
	while [ -d "$SYS/devices/system/cpu/cpu$n" ]; do
		set -- "$@" "$n"
		n=$((n + 1))
	done
fi
for c in "$@"; do
	case $c in *[!0-9]* | '') continue ;; esac
	f="$SYS/devices/system/cpu/cpu$c/cpufreq"
	readf mx "$f/scaling_max_freq"
	readf cu "$f/scaling_cur_freq"
	readf gv "$f/scaling_governor"
	echo "freq=$c max=$mx cur=$cu governor=$gv"
done

bat="$SYS/class/power_supply/battery"
if [ -r "$bat/capacity" ]; then
	readf lv "$bat/capacity"
	readf bt "$bat/temp"
	echo "battery_level=$lv"
	echo "battery_temp=$bt"
elif [ -z "${SYSFS_ROOT:-}" ] && command -v dumpsys >/dev/null 2>&1; then
	# dumpsys prints "  level: 87" and "  temperature: 270" (tenths of C).
	dumpsys battery 2>/dev/null | sed -n -e 's/^ *level: */battery_level=/p' \
		-e 's/^ *temperature: */battery_temp=/p'
fi

if [ "$screen" = 1 ]; then
	s=unknown
	if command -v dumpsys >/dev/null 2>&1; then
		case $(dumpsys power 2>/dev/null | grep -m 1 -e 'mWakefulness=' -e 'Display Power: state=') in
		*=Awake* | *state=ON*) s=on ;;
		*=Asleep* | *=Dozing* | *state=OFF*) s=off ;;
		esac
	fi
	echo "screen=$s"
fi
exit 0
