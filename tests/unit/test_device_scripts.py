"""device_scripts/*.sh under real mksh with toybox applets, against sysfs trees.

Android runs these scripts with mksh as /system/bin/sh and toybox for the
tools, so the test builds a PATH holding only toybox applet links and `sh`
-> mksh (no GNU coreutils, no bash), and points the scripts at a sysfs tree
from tests/data/sysfs through SYSFS_ROOT.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.device.cores import parse_cores_output
from harness.device.files import scripts_source_dir
from harness.device.info import parse_info
from harness.device.thermal import condition_warnings, parse_state

DATA = Path(__file__).resolve().parents[1] / "data" / "sysfs"
SCRIPTS = scripts_source_dir()
MKSH = shutil.which("mksh")
TOYBOX = shutil.which("toybox")

pytestmark = pytest.mark.skipif(not (MKSH and TOYBOX), reason="needs mksh and toybox (Debian)")

# The identity getprop prints on a Pixel 1; getprop itself is an Android
# binary with no host equivalent, so this stand-in prints its listing format.
FINGERPRINT = "google/sailfish/sailfish:10/QP1A.191005.007.A3/5972272:user/release-keys"
GETPROP_LISTING = f"""[ro.build.fingerprint]: [{FINGERPRINT}]
[ro.build.version.release]: [10]
[ro.build.version.sdk]: [29]
[ro.product.model]: [Pixel]
[ro.product.cpu.abi]: [arm64-v8a]
[ro.product.cpu.abilist]: [arm64-v8a,armeabi-v7a,armeabi]
[persist.sys.timezone]: [Europe/London]
"""


@pytest.fixture(scope="module")
def toybox_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    bindir = tmp_path_factory.mktemp("toybox-bin")
    applets = subprocess.run([str(TOYBOX)], capture_output=True, text=True, check=True).stdout
    for applet in applets.split():
        (bindir / applet).symlink_to(str(TOYBOX))
    (bindir / "sh").unlink(missing_ok=True)
    (bindir / "sh").symlink_to(str(MKSH))
    getprop = bindir / "getprop"
    getprop.write_text(f"#!{MKSH}\ncat <<'EOF'\n{GETPROP_LISTING}EOF\n")
    getprop.chmod(0o755)
    return bindir


def run(script: str, phone: str, *args: str, path: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": str(path), "SYSFS_ROOT": str(DATA / phone)}
    return subprocess.run(
        [str(MKSH), str(SCRIPTS / script), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )


@pytest.mark.parametrize(
    ("phone", "policy", "mask", "cpus"),
    [
        ("pixel1", "big", "c", (2, 3)),
        ("pixel1", "prime", "c", (2, 3)),
        ("pixel1", "little", "3", (0, 1)),
        ("pixel1", "all", "f", (0, 1, 2, 3)),
        ("pixel2", "big", "f0", (4, 5, 6, 7)),
        ("pixel2", "little", "f", (0, 1, 2, 3)),
        ("tricluster", "big", "f0", (4, 5, 6, 7)),
        ("tricluster", "prime", "c0", (6, 7)),
        ("tricluster", "little", "f", (0, 1, 2, 3)),
        ("single", "big", "f", (0, 1, 2, 3)),
        ("single", "prime", "f", (0, 1, 2, 3)),
        ("pixel1", "0x8", "8", (3,)),
        ("pixel2", "F0", "f0", (4, 5, 6, 7)),
    ],
)
def test_masks(
    toybox_path: Path, phone: str, policy: str, mask: str, cpus: tuple[int, ...]
) -> None:
    proc = run("cores.sh", phone, policy, path=toybox_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stderr == ""
    _topo, selection, error = parse_cores_output(proc.stdout)
    assert error is None and selection is not None
    assert (selection.mask, selection.cpus) == (mask, cpus)


def test_pixel1_topology_is_read_from_related_cpus(toybox_path: Path) -> None:
    topo, _sel, _err = parse_cores_output(run("cores.sh", "pixel1", path=toybox_path).stdout)
    assert [(c.cpus, c.max_khz) for c in topo.clusters] == [((0, 1), 1593600), ((2, 3), 2150400)]
    assert topo.masks == {"big": "c", "prime": "c", "little": "3", "all": "f"}
    assert topo.warnings == ()


def test_offline_cluster_falls_back_to_online_cores_with_warning(toybox_path: Path) -> None:
    proc = run("cores.sh", "pixel2_offline", "big", path=toybox_path)
    topo, sel, _ = parse_cores_output(proc.stdout)
    assert proc.returncode == 0 and sel is not None
    assert sel.mask == "f" and topo.online == (0, 1, 2, 3)
    assert any("cpu4 is offline" in w for w in sel.warnings)


def test_offline_core_is_left_out_of_its_cluster(toybox_path: Path) -> None:
    proc = run("cores.sh", "pixel1_cpu3_off", "big", path=toybox_path)
    _, sel, _ = parse_cores_output(proc.stdout)
    assert sel is not None and (sel.mask, sel.cpus) == ("4", (2,))
    assert any("cpu3" in w and "offline" in w for w in sel.warnings)


def test_missing_cpufreq_uses_all_online_cores_with_warning(toybox_path: Path) -> None:
    proc = run("cores.sh", "nocpufreq", "big", path=toybox_path)
    topo, sel, _ = parse_cores_output(proc.stdout)
    assert proc.returncode == 0 and sel is not None
    assert sel.mask == "f" and topo.clusters == ()
    assert any("no cpufreq" in w for w in sel.warnings)


@pytest.mark.parametrize(
    ("phone", "policy", "verified"),
    [
        ("pixel1", "big", True),
        ("pixel1", "little", True),
        ("single", "big", True),  # one performance class: big is every core, and known so
        ("nocpufreq", "all", True),  # every online CPU is what `all` means
        ("nocpufreq", "3", True),  # a mask checked against the online CPUs
        ("nocpufreq", "big", False),
        ("nocpufreq", "prime", False),
        ("nocpufreq", "little", False),
        ("pixel2_offline", "big", False),  # gold cores unplugged: `big` is the little ones
        ("pixel1_cpu3_off", "big", True),  # cpu3 offline, but its cluster is known
    ],
)
def test_a_mask_is_verified_only_when_the_topology_backs_it(
    toybox_path: Path, phone: str, policy: str, verified: bool
) -> None:
    """A `big` mask that fell back to every CPU proves nothing: unverified, with the reason."""
    proc = run("cores.sh", phone, policy, path=toybox_path)
    _topo, sel, _ = parse_cores_output(proc.stdout)
    assert proc.returncode == 0 and sel is not None, proc.stdout
    assert sel.verified is verified
    if verified:
        assert sel.reason is None
    else:
        assert sel.reason is not None and sel.reason.startswith("not verified: ")
        assert f"mask {sel.mask} shows nothing about which cores are {policy}" in sel.reason


@pytest.mark.parametrize(("policy", "code"), [("fast", 2), ("$(id)", 2), ("30", 3), ("0", 2)])
def test_bad_policies_exit_with_meaningful_codes(toybox_path: Path, policy: str, code: int) -> None:
    proc = run("cores.sh", "pixel1", policy, path=toybox_path)
    assert proc.returncode == code
    _, sel, error = parse_cores_output(proc.stdout)
    assert sel is None and error


def test_state_reads_temps_freqs_and_battery(toybox_path: Path) -> None:
    proc = run("state.sh", "pixel1", "2", "3", path=toybox_path)
    assert proc.returncode == 0, proc.stderr
    state = parse_state(proc.stdout)
    assert state.max_temp_c == pytest.approx(41.2)  # the hottest tsens zone, not the PMIC
    assert state.source == "cpu"
    assert state.zones["battery"] == pytest.approx(27.0)
    assert state.freqs == {"2": [2150400, 307200], "3": [2150400, 307200]}
    assert (state.battery_level, state.battery_temp_c) == (87, pytest.approx(27.0))


def test_state_none_skips_freqs(toybox_path: Path) -> None:
    state = parse_state(run("state.sh", "tricluster", "none", path=toybox_path).stdout)
    assert state.freqs == {} and state.max_temp_c == pytest.approx(52.3)


def test_state_without_cpu_zones_uses_battery(toybox_path: Path, tmp_path: Path) -> None:
    root = tmp_path / "phone"
    shutil.copytree(DATA / "pixel1", root)
    for zone in (root / "sys/class/thermal").iterdir():
        shutil.rmtree(zone)
    env = {"PATH": str(toybox_path), "SYSFS_ROOT": str(root)}
    proc = subprocess.run(
        [str(MKSH), str(SCRIPTS / "state.sh")],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=True,
    )
    state = parse_state(proc.stdout)
    assert (state.max_temp_c, state.source) == (pytest.approx(27.0), "battery")


def test_low_battery_and_unlocked_governor_warn(toybox_path: Path) -> None:
    state = parse_state(run("state.sh", "pixel2", path=toybox_path).stdout)
    warnings = condition_warnings(state)
    assert any("battery at 18%" in w for w in warnings)
    assert any("schedutil" in w for w in warnings)
    locked = parse_state(run("state.sh", "tricluster", "6", "7", path=toybox_path).stdout)
    assert condition_warnings(locked) == []


def test_info_in_one_call(toybox_path: Path) -> None:
    proc = run("info.sh", "pixel1", path=toybox_path)
    assert proc.returncode == 0, proc.stderr
    info = parse_info("SERIAL", "device", proc.stdout, frozenset({"shell_v2"}))
    assert (info.model, info.sdk, info.abi) == ("Pixel", 29, "arm64-v8a")
    assert info.fingerprint == FINGERPRINT
    assert info.abilist == ("arm64-v8a", "armeabi-v7a", "armeabi")
    assert info.masks["big"] == "c"
    assert [c.cpus for c in info.clusters] == [(0, 1), (2, 3)]
    assert {z.type for z in info.thermal_zones} >= {"tsens_tz_sensor3", "battery"}
    assert info.battery_level == 87
    assert info.screen_on is None  # no dumpsys here: unknown, not "off"


# Constructs mksh accepts but a POSIX sh / older toybox-era shells do not.
BASHISMS = [
    r"\[\[",
    r"^\s*function\s",
    r"\$\{[A-Za-z_]+//",
    r"^\s*[A-Za-z_]+=\(",
    r"\bsource\s",
    r"<<<",
    r"\$'",
    r"&>",
]
OWN_SCRIPTS = ("cores.sh", "state.sh", "info.sh")


@pytest.mark.parametrize("name", OWN_SCRIPTS)
def test_scripts_are_posix(name: str) -> None:
    text = (SCRIPTS / name).read_text()
    for pattern in BASHISMS:
        hits = [
            line
            for line in text.splitlines()
            if not line.lstrip().startswith("#") and re.search(pattern, line)
        ]
        assert not hits, f"{name}: {pattern} in {hits}"
    dash = shutil.which("dash")
    if dash:  # a second, stricter POSIX parser
        proc = subprocess.run(
            [dash, "-n", str(SCRIPTS / name)], capture_output=True, text=True, check=False
        )
        assert proc.returncode == 0, proc.stderr
