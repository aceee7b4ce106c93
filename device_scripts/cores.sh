#!/system/bin/sh
# cores.sh [POLICY]: CPU topology and the taskset mask for POLICY.
#
# POLICY: big (default; every core outside the slowest cluster, all cores on a
# single-cluster phone), prime (fastest cluster only), little (slowest
# cluster), all, or an explicit hex mask such as c or 0xf0.
# Clusters are CPUs grouped by cpufreq/related_cpus and ranked by
# cpuinfo_max_freq (the method of the kernel's cpufreq docs and of peer tools).
#
# Output: key=value lines (cluster lines hold several space-separated pairs):
#   cpus=N  online=0,1,..  cluster=K cpus=.. max_khz=.. governor=.. online=..
#   mask_all= mask_big= mask_prime= mask_little=  policy= mask= selected=
#   unverified_<big|prime|little>=<why the topology does not back that mask>
#   warning=<text> (any number)   error=<text> (on failure)
# Exit: 0 ok, 2 bad POLICY, 3 no online CPU can be selected.
#
# Runs under Android's mksh with toybox: builtins only in the loops (no awk,
# no tr, no bash arrays). SYSFS_ROOT prefixes /sys for unit tests only.

CPU_DIR="${SYSFS_ROOT:-}/sys/devices/system/cpu"
policy="${1:-big}"

# expand_list "0-3,6 7" -> "0 1 2 3 6 7" (kernel cpu lists use both forms)
expand_list() {
	_out=""
	_old_ifs=$IFS
	IFS=', 	'
	set -- $1
	IFS=$_old_ifs
	for _part in "$@"; do
		case $_part in
		*-*)
			_a=${_part%-*}
			_b=${_part#*-}
			while [ "$_a" -le "$_b" ]; do
				_out="$_out $_a"
				_a=$((_a + 1))
			done
			;;
		[0-9]*) _out="$_out $_part" ;;
		esac
	done
	echo $_out
}

# read_one FILE: first line of FILE, empty when unreadable (no fork)
read_one() {
	_v=""
	if [ -r "$1" ]; then
		IFS= read -r _v <"$1" || true
	fi
	echo "$_v"
}

to_hex() {
	_v=$1
	_h=""
	while :; do
		_d=$((_v % 16))
		case $_d in
		10) _d=a ;; 11) _d=b ;; 12) _d=c ;; 13) _d=d ;; 14) _d=e ;; 15) _d=f ;;
		esac
		_h="$_d$_h"
		_v=$((_v / 16))
		[ "$_v" -eq 0 ] && break
	done
	echo "$_h"
}

# from_hex HEX -> decimal, or empty when HEX is not a hex number
from_hex() {
	_s=${1#0x}
	_s=${_s#0X}
	[ -n "$_s" ] || return 0
	[ "${#_s}" -le 8 ] || return 0 # shell arithmetic is 32-bit on mksh
	_v=0
	while [ -n "$_s" ]; do
		_c=${_s%"${_s#?}"}
		_s=${_s#?}
		case $_c in
		[0-9]) _d=$_c ;;
		a | A) _d=10 ;; b | B) _d=11 ;; c | C) _d=12 ;;
		d | D) _d=13 ;; e | E) _d=14 ;; f | F) _d=15 ;;
		*) return 0 ;;
		esac
		_v=$((_v * 16 + _d))
	done
	echo "$_v"
}

# mask_of "2 3" -> 12
mask_of() {
	_m=0
	for _c in $1; do
		_m=$((_m | (1 << _c)))
	done
	echo "$_m"
}

commas() {
	_old_ifs=$IFS
	set -- $1
	IFS=,
	echo "$*"
	IFS=$_old_ifs
}

is_in() { # is_in N "list"
	case " $2 " in *" $1 "*) return 0 ;; esac
	return 1
}

# --- CPUs present and online -------------------------------------------------
ncpu=0
while [ -d "$CPU_DIR/cpu$ncpu" ]; do
	ncpu=$((ncpu + 1))
done
if [ "$ncpu" -eq 0 ]; then
	echo "error=no CPUs under $CPU_DIR"
	exit 3
fi

online_list=$(read_one "$CPU_DIR/online")
if [ -n "$online_list" ]; then
	online=$(expand_list "$online_list")
else
	online=""
	n=0
	while [ "$n" -lt "$ncpu" ]; do
		o=$(read_one "$CPU_DIR/cpu$n/online")
		[ "$o" = 0 ] || online="$online $n"
		n=$((n + 1))
	done
	online=$(echo $online)
fi
echo "cpus=$ncpu"
echo "online=$(commas "$online")"

# --- Clusters ------------------------------------------------------------------
nclusters=0
covered=""
n=0
while [ "$n" -lt "$ncpu" ]; do
	freq_dir="$CPU_DIR/cpu$n/cpufreq"
	if ! is_in "$n" "$covered" && [ -d "$freq_dir" ]; then
		rel=$(read_one "$freq_dir/related_cpus")
		[ -n "$rel" ] || rel=$(read_one "$freq_dir/affected_cpus")
		[ -n "$rel" ] || rel=$n
		rel=$(expand_list "$rel")
		max=$(read_one "$freq_dir/cpuinfo_max_freq")
		[ -n "$max" ] || max=$(read_one "$freq_dir/scaling_max_freq")
		gov=$(read_one "$freq_dir/scaling_governor")
		if [ -n "$max" ]; then
			eval "cl_cpus_$nclusters=\"\$rel\" cl_max_$nclusters=\$max"
			cl_on=""
			for c in $rel; do
				is_in "$c" "$online" && cl_on="$cl_on $c"
			done
			echo "cluster=$nclusters cpus=$(commas "$rel") max_khz=$max governor=${gov:-unknown} online=$(commas "$cl_on")"
			nclusters=$((nclusters + 1))
			covered="$covered $rel"
		fi
	fi
	n=$((n + 1))
done

# --- Rank and build the policy masks --------------------------------------------
# why_<policy>: set when the topology does not back that policy's mask (which
# then shows nothing about which cores are big, prime or little).
all_mask=$(mask_of "$online")
why_big="" why_prime="" why_little=""
if [ "$nclusters" -eq 0 ]; then
	echo "warning=no cpufreq topology: every policy uses all online cpus"
	big_mask=$all_mask prime_mask=$all_mask little_mask=$all_mask
	why_big="no cpufreq topology to rank the cores by (every policy is all online cpus)"
	why_prime=$why_big why_little=$why_big
else
	lo="" hi=""
	k=0
	while [ "$k" -lt "$nclusters" ]; do
		eval "m=\$cl_max_$k"
		if [ -z "$lo" ] || [ "$m" -lt "$lo" ]; then lo=$m; fi
		if [ -z "$hi" ] || [ "$m" -gt "$hi" ]; then hi=$m; fi
		k=$((k + 1))
	done
	big="" prime="" little=""
	k=0
	while [ "$k" -lt "$nclusters" ]; do
		eval "m=\$cl_max_$k cpus=\$cl_cpus_$k"
		for c in $cpus; do
			if ! is_in "$c" "$online"; then
				echo "warning=cpu$c (max $m kHz) is offline: masks leave it out"
				continue
			fi
			# Equal clocks everywhere means one performance class: big = all.
			if [ "$m" -gt "$lo" ] || [ "$lo" -eq "$hi" ]; then big="$big $c"; fi
			[ "$m" -eq "$hi" ] && prime="$prime $c"
			[ "$m" -eq "$lo" ] && little="$little $c"
		done
		k=$((k + 1))
	done
	n=0
	unranked=""
	while [ "$n" -lt "$ncpu" ]; do
		if ! is_in "$n" "$covered"; then
			if is_in "$n" "$online"; then
				echo "warning=cpu$n has no cpufreq policy: only policy all uses it"
			else
				# Old kernels drop cpufreq/ of an unplugged CPU: its cluster is unknown.
				echo "warning=cpu$n is offline and has no cpufreq policy: topology may be incomplete"
			fi
			unranked="$unranked $n"
		fi
		n=$((n + 1))
	done
	if [ -n "$unranked" ]; then
		# A cluster that cannot be ranked may be the big one (Pixel 2, gold cores unplugged).
		why_big="cpu $(commas "$unranked") has no cpufreq policy, so not every cluster can be ranked"
		why_prime=$why_big why_little=$why_big
	fi
	big_mask=$(mask_of "$big")
	prime_mask=$(mask_of "$prime")
	little_mask=$(mask_of "$little")
	for p in big prime little; do
		eval "v=\$${p}_mask"
		if [ "$v" -eq 0 ]; then
			echo "warning=every $p cpu is offline: policy $p falls back to all online cpus"
			eval "${p}_mask=\$all_mask"
			eval "why_$p=\"every $p cpu is offline (the mask falls back to all online cpus)\""
		fi
	done
fi
echo "mask_all=$(to_hex "$all_mask")"
echo "mask_big=$(to_hex "$big_mask")"
echo "mask_prime=$(to_hex "$prime_mask")"
echo "mask_little=$(to_hex "$little_mask")"
for p in big prime little; do
	eval "v=\$why_$p"
	[ -n "$v" ] && echo "unverified_$p=$v"
done

# --- The requested policy ----------------------------------------------------------
case $policy in
all) sel=$all_mask ;;
big) sel=$big_mask ;;
prime) sel=$prime_mask ;;
little) sel=$little_mask ;;
*)
	want=$(from_hex "$policy")
	if [ -z "$want" ] || [ "$want" -eq 0 ]; then
		echo "error=unknown core policy '$policy' (use big, prime, little, all or a hex mask like f0)"
		exit 2
	fi
	sel=0
	n=0
	while [ "$n" -lt 32 ]; do
		if [ $((want & (1 << n))) -ne 0 ]; then
			if is_in "$n" "$online"; then
				sel=$((sel | (1 << n)))
			else
				echo "warning=cpu$n in mask $policy is offline or absent; left out"
			fi
		fi
		n=$((n + 1))
	done
	if [ "$sel" -eq 0 ]; then
		echo "error=mask $policy selects no online cpu (online: $(commas "$online"))"
		exit 3
	fi
	;;
esac
selected=""
for c in $online; do
	[ $((sel & (1 << c))) -ne 0 ] && selected="$selected $c"
done
echo "policy=$policy"
echo "mask=$(to_hex "$sel")"
echo "selected=$(commas "$selected")"
exit 0
