#!/bin/sh
# Debian packages the harness needs beside its pip dependencies:
#   bubblewrap, mksh, toybox  the simulated device's shell (a phone's mksh + toybox
#                             in a mount namespace); mksh/toybox also test device_scripts/
#   chromium                  the headless browser the report tests open (and --pdf)
#   poppler-utils             pdfinfo/pdftotext: the browser tests read the printed PDF
#   adb                       Debian's adb (29.x): the integration tests run against
#                             it as well as the adb bundled with adbutils
# Idempotent: installs only what is missing. Uses sudo when not root.
set -eu
need=""
for pkg in bubblewrap mksh toybox chromium poppler-utils adb; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need="$need $pkg"
done
[ -z "$need" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup-system: please install:$need (Debian/Ubuntu package names)" >&2
    exit 1
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $need
