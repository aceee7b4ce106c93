#!/system/bin/sh
# info.sh: everything `harness devices` shows, in one shell round trip.
#
# Prints prop.<name>=<value> for the identity properties, then the output of
# cores.sh (topology and masks) and state.sh --screen (thermal, battery,
# screen), all key=value lines. Exit: cores.sh's exit code when topology
# could not be read, else 0.
#
# Runs under Android's mksh with toybox; sits beside cores.sh and state.sh.

here=${0%/*}
[ "$here" = "$0" ] && here=.

if command -v getprop >/dev/null 2>&1; then
	# One getprop call lists every property as "[name]: [value]".
	getprop | grep -E '^\[(ro\.product\.(model|device|name|manufacturer|cpu\.abi|cpu\.abilist)|ro\.board\.platform|ro\.hardware|ro\.build\.version\.(release|sdk)|ro\.build\.fingerprint|ro\.kernel\.qemu|ro\.boot\.qemu|ro\.harness\.simulated)\]:' |
		sed -n 's/^\[\([^]]*\)\]: \[\(.*\)\]$/prop.\1=\2/p'
fi
echo "kernel=$(uname -r 2>/dev/null)"
sh "$here/cores.sh" all
rc=$?
sh "$here/state.sh" --screen
exit "$rc"
