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
# dumpsys battery | power | thermalservice (the parts a benchmarking host reads).
state=@STATE@
kv() {
  while IFS== read -r k v; do [ "$k" = "$1" ] && { echo "$v"; return; }; done < "$state/battery"
}
case "$1" in
battery)
  echo "Current Battery Service state:"
  echo "  AC powered: $(kv ac)"
  echo "  USB powered: $(kv usb)"
  echo "  Wireless powered: false"
  echo "  Max charging current: 500000"
  echo "  Max charging voltage: 5000000"
  echo "  Charge counter: 2418000"
  echo "  status: $(kv status)"
  echo "  health: 2"
  echo "  present: true"
  echo "  level: $(kv level)"
  echo "  scale: 100"
  echo "  voltage: 4213"
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
  echo "  mIsPowered=true"
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
"")
  echo "Currently running services:"
  echo "  battery"
  echo "  power"
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
