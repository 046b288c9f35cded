#!/usr/bin/env bash
# Provision a fresh Raspberry Pi OS (Bookworm, 64-bit Lite) as a Touchpoints edge device. Idempotent: run it
# again after an update, or when unsure whether a step ran; it only changes what is not yet as it should be.
#
#   sudo ./provision.sh                          # install from the package index configured for pip
#   sudo TOUCHPOINTS_PIP_SPEC=/path/to/touchpoints-0.1.0-py3-none-any.whl ./provision.sh   # offline wheel
#
# Then: sudo /opt/touchpoints/venv/bin/touchpoints edge enroll --server URL --code CODE \
#           --config /etc/touchpoints/edge.toml && sudo ./provision.sh   (fixes ownership, starts the agent)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
USER_NAME=touchpoints
PREFIX=/opt/touchpoints
VENV="$PREFIX/venv"
CONFIG_DIR=/etc/touchpoints
SPOOL_DIR=/var/lib/touchpoints-edge
PIP_SPEC="${TOUCHPOINTS_PIP_SPEC:-touchpoints[edge]}"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

if [[ $EUID -ne 0 ]]; then
    echo "run as root: sudo $0" >&2
    exit 1
fi

say "system packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends \
    python3 python3-venv python3-pip libusb-1.0-0 bluez rfkill chrony ca-certificates

say "Bluetooth on (rfkill) and bluetoothd running"
rfkill unblock bluetooth || true
systemctl enable --now bluetooth

say "user $USER_NAME"
if ! id "$USER_NAME" >/dev/null 2>&1; then
    useradd --system --home-dir "$SPOOL_DIR" --shell /usr/sbin/nologin "$USER_NAME"
fi
for group in plugdev dialout bluetooth; do
    getent group "$group" >/dev/null || groupadd --system "$group"
    usermod -aG "$group" "$USER_NAME"
done

say "directories"
install -d -o root -g "$USER_NAME" -m 0750 "$CONFIG_DIR"
install -d -o "$USER_NAME" -g "$USER_NAME" -m 0700 "$SPOOL_DIR"
install -d -o root -g root -m 0755 "$PREFIX" "$PREFIX/docs"

say "virtualenv and touchpoints[edge] ($PIP_SPEC)"
[[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --upgrade pip
"$VENV/bin/pip" install -q --upgrade "$PIP_SPEC"
[[ -f "$HERE/../docs/edge.md" ]] && install -m 0644 "$HERE/../docs/edge.md" "$PREFIX/docs/edge.md"

say "udev rule for NFC readers"
if ! cmp -s "$HERE/udev/99-touchpoints-nfc.rules" /etc/udev/rules.d/99-touchpoints-nfc.rules; then
    install -m 0644 "$HERE/udev/99-touchpoints-nfc.rules" /etc/udev/rules.d/
    udevadm control --reload
    udevadm trigger --subsystem-match=usb
fi

say "keep the kernel's pn533 driver off the reader"
install -m 0644 "$HERE/modprobe/blacklist-pn533.conf" /etc/modprobe.d/blacklist-pn533.conf
modprobe -r pn533_usb pn533 nfc 2>/dev/null || true

say "UART for a PN532 on the GPIO header (tty:AMA0:pn532)"
BOOT_CONFIG=/boot/firmware/config.txt
[[ -f $BOOT_CONFIG ]] || BOOT_CONFIG=/boot/config.txt
if [[ -f $BOOT_CONFIG ]]; then
    grep -q '^enable_uart=1' "$BOOT_CONFIG" || echo 'enable_uart=1' >> "$BOOT_CONFIG"
    # Bluetooth keeps the PL011 UART on Pi 3/4/5 unless moved to the mini UART; our BLE scans need it on.
    grep -q '^dtoverlay=miniuart-bt' "$BOOT_CONFIG" || echo 'dtoverlay=miniuart-bt' >> "$BOOT_CONFIG"
    grep -q '^dtparam=i2c_arm=on' "$BOOT_CONFIG" || echo 'dtparam=i2c_arm=on' >> "$BOOT_CONFIG"
fi
# The serial console must not talk over the PN532's line.
if [[ -f /boot/firmware/cmdline.txt ]]; then
    sed -i -E 's/console=(serial0|ttyAMA0),[0-9]+ ?//g' /boot/firmware/cmdline.txt
fi
systemctl disable --now serial-getty@ttyAMA0.service 2>/dev/null || true

say "systemd unit"
if ! cmp -s "$HERE/systemd/touchpoints-edge.service" /etc/systemd/system/touchpoints-edge.service; then
    install -m 0644 "$HERE/systemd/touchpoints-edge.service" /etc/systemd/system/
    systemctl daemon-reload
fi
systemctl enable touchpoints-edge.service
if [[ -f "$CONFIG_DIR/edge.toml" ]]; then
    # It holds the device's MQTT password: readable by the agent's user only.
    chown "$USER_NAME:$USER_NAME" "$CONFIG_DIR/edge.toml"
    chmod 0600 "$CONFIG_DIR/edge.toml"
    systemctl restart touchpoints-edge.service
    say "agent (re)started: journalctl -u touchpoints-edge -f"
else
    say "not enrolled yet: run touchpoints edge enroll (see docs/edge.md), then systemctl start touchpoints-edge"
fi
say "done (a reboot applies the UART settings)"
