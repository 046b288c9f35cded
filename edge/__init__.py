"""Touchpoints edge agent: NFC badge taps and BLE beacons, published over MQTT (see docs/mqtt.md)."""

__version__ = "0.1.0"
