"""mksh scripts for device tools: getprop, dumpsys, cmd.

They read the device's property file and the sim's state folder (mounted at
/dev/.harness-sim) so that fault injection can change what they report while
the device runs. Output formats follow Android 10's tools.
"""

from __future__ import annotations

_STATE = "/dev/.harness-sim"

GETPROP = r"""#!/system/bin/sh
# getprop [NAME [DEFAULT]]: like Android's, from /system/build.prop.
f=/system/build.prop
if [ $# -eq 0 ]; then
  while IFS= read -r line; do
    echo "[${line%%=*}]: [${line#*=}]"
  done < "$f"
  exit 0
fi
while IFS= read -r line; do
  if [ "${line%%=*}" = "$1" ]; then
    echo "${line#*=}"
    exit 0
  fi
done < "$f"
echo "${2:-}"
"""

DUMPSYS_TEMPLATE = r"""#!/system/bin/sh
# dumpsys battery | power | thermalservice | powerstats | the power-stats HAL
# (the parts a benchmarking host reads).
state=@STATE@
kv() {
  while IFS== read -r k v; do [ "$k" = "$1" ] && { echo "$v"; return; }; done < "$state/battery"
}
# The ODPM meters, as the power-stats HAL finds them: iio devices named *odpm*.
meters() {
  for d in /sys/bus/iio/devices/iio:device*; do
    [ -r "$d/name" ] || continue
    read -r n < "$d/name"
    case $n in *odpm*) echo "$d" ;; esac
  done
}
case "$1" in
battery)
  case "$2" in
  unplug) echo unplugged > "$state/battery_override"; exit 0 ;;
  reset) rm -f "$state/battery_override"; exit 0 ;;
  esac
  ac=$(kv ac); usb=$(kv usb)
  b=/sys/class/power_supply/battery
  cc=0; v=4213000
  [ -e "$b/charge_counter" ] && read -r cc < "$b/charge_counter"
  [ -r "$b/voltage_now" ] && read -r v < "$b/voltage_now"
  echo "Current Battery Service state:"
  if [ -f "$state/battery_override" ]; then
    # BatteryService only forgets the chargers; the battery still charges.
    echo "  (UPDATES STOPPED -- use 'reset' to restart)"
    ac=false; usb=false
  fi
  echo "  AC powered: $ac"
  echo "  USB powered: $usb"
  echo "  Wireless powered: false"
  echo "  Max charging current: 500000"
  echo "  Max charging voltage: 5000000"
  echo "  Charge counter: $cc"
  echo "  status: $(kv status)"
  echo "  health: 2"
  echo "  present: true"
  echo "  level: $(kv level)"
  echo "  scale: 100"
  echo "  voltage: $((v / 1000))"
  echo "  temperature: $(kv temperature)"
  echo "  technology: Li-ion"
  ;;
power)
  read -r screen < "$state/screen"
  if [ "$screen" = ON ]; then wake=Awake; else wake=Asleep; fi
  echo "POWER MANAGER (dumpsys power)"
  echo ""
  echo "Power Manager State:"
  echo "  mDirty=0x0"
  echo "  mWakefulness=$wake"
  echo "  mWakefulnessChanging=false"
  echo "  mIsPowered=$(kv usb)"
  echo "  mBatteryLevel=$(kv level)"
  echo "  mHoldingDisplaySuspendBlocker=$([ "$screen" = ON ] && echo true || echo false)"
  echo ""
  echo "Display Power: state=$screen"
  ;;
thermalservice)
  echo "IsStatusOverride: false"
  echo "ThermalEventListeners:"
  echo "Current temperatures from HAL:"
  for z in /sys/class/thermal/thermal_zone*; do
    read -r t < "$z/type"; read -r v < "$z/temp"
    echo "	Temperature{mValue=$((v / 1000)).$(( (v % 1000) / 100 )), mType=0, mName=$t, mStatus=0}"
  done
  ;;
powerstats)
  # PowerStatsService (Android 11+): the channels the HAL reads, numbered across meters.
  [ -n "$(meters)" ] || { echo "Can't find service: $1"; exit 0; }
  echo "PowerStatsService dumpsys: available PowerEntities"
  echo "PowerStatsService dumpsys: available Channels"
  meters | while read -r d; do cat "$d/enabled_rails"; done | awk '{
    i = index($0, "["); j = index($0, "]")
    printf "  ChannelId: %d, ChannelName: %s, ChannelSubsystem: %s\n", NR - 1,
      substr($0, i + 1, j - i - 1), substr($0, j + 2)
  }'
  echo "PowerStatsService dumpsys: available EnergyConsumers"
  ;;
android.hardware.power.stats.IPowerStats/default)
  # Pixel's PowerStatsAidl dump: the meters' cumulative energy in mWs.
  [ -n "$(meters)" ] || { echo "Can't find service: $1"; exit 0; }
  echo ""
  echo "============= PowerStats HAL 2.0 state residencies =============="
  echo "========== End of PowerStats HAL 2.0 state residencies =========="
  echo ""
  echo "============= PowerStats HAL 2.0 energy consumers =============="
  echo "========== End of PowerStats HAL 2.0 energy consumers =========="
  echo ""
  echo "============= PowerStats HAL 2.0 energy meter =============="
  printf '  %32s   %18s\n' Channel "Cumulative Energy"
  meters | while read -r d; do
    awk 'FNR == NR { i = index($0, "["); j = index($0, "]")
                     subsys[substr($0, i + 1, j - i - 1)] = substr($0, j + 2); next }
         /^CH/ { i = index($0, "["); j = index($0, "]"); n = substr($0, i + 1, j - i - 1)
                 printf "  %32s   %14.2f mWs\n", "[" n "]:" subsys[n], substr($0, j + 3) / 1000 }' \
      "$d/enabled_rails" "$d/energy_value"
  done
  echo "========== End of PowerStats HAL 2.0 energy meter =========="
  ;;
"")
  echo "Currently running services:"
  [ -n "$(meters)" ] && echo "  android.hardware.power.stats.IPowerStats/default"
  echo "  battery"
  echo "  power"
  [ -n "$(meters)" ] && echo "  powerstats"
  echo "  thermalservice"
  ;;
*)
  echo "Can't find service: $1"
  ;;
esac
"""

CMD_TEMPLATE = r"""#!/system/bin/sh
# cmd power set-fixed-performance-mode-enabled true|false (Android 11+ ADPF knob).
state=@STATE@
if [ "$1" = power ] && [ "$2" = set-fixed-performance-mode-enabled ]; then
  case "$3" in
  true|false) echo "$3" > "$state/fixed_performance_mode"; exit 0 ;;
  *) echo "Error: expected true or false" >&2; exit 255 ;;
  esac
fi
if [ "$1" = power ]; then
  echo "Unknown command: $2" >&2
  exit 255
fi
echo "cmd: Can't find service: $1" >&2
exit 20
"""

DUMPSYS = DUMPSYS_TEMPLATE.replace("@STATE@", _STATE)
CMD = CMD_TEMPLATE.replace("@STATE@", _STATE)
SCRIPTS = {"getprop": GETPROP, "dumpsys": DUMPSYS, "cmd": CMD}
