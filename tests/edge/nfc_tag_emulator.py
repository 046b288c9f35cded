"""Emulates one NFC badge (a Type 3 tag with an NDEF text record) on nfcpy's UDP radio, in its own process.

    python nfc_tag_emulator.py PORT IDM_HEX BADGE_ID HOLD_S

The tag answers the reader at ``udp:localhost:PORT`` like tagtool's ``--emulate tt3`` would, stays in the
field for HOLD_S seconds after the reader read its NDEF, then leaves (the process exits).
"""

from __future__ import annotations

import struct
import sys
import time

import ndef
import nfc

BLOCK = 16
PMM = bytes.fromhex("01e0000000ffff00")
NFC_FORUM_SYSTEM = bytes.fromhex("12fc")
NDEF_READ_SERVICE, NDEF_WRITE_SERVICE = 0x000B, 0x0009
GIVE_UP_S = 25.0


def tag_memory(badge_id: str) -> bytes:
    message = b"".join(ndef.message_encoder([ndef.TextRecord(badge_id)]))
    area = -(-len(message) // BLOCK) * BLOCK
    attributes = bytearray(BLOCK)
    attributes[0] = 0x10  # NDEF mapping version 1.0
    attributes[1] = attributes[2] = 1  # blocks per read / write command
    attributes[3:5] = struct.pack(">H", area // BLOCK)
    attributes[11:14] = struct.pack(">I", len(message))[1:]
    attributes[14:16] = struct.pack(">H", sum(attributes[:14]))
    return bytes(attributes) + message + bytes(area - len(message))


def main() -> None:
    port, idm, badge_id, hold_s = (
        int(sys.argv[1]),
        bytes.fromhex(sys.argv[2]),
        sys.argv[3],
        float(sys.argv[4]),
    )
    memory = tag_memory(badge_id)
    last_block = len(memory) // BLOCK - 1
    read_at: list[float] = []

    def on_startup(target: nfc.clf.LocalTarget) -> nfc.clf.LocalTarget:
        target.brty = "212F"
        target.sensf_res = b"\x01" + idm + PMM + NFC_FORUM_SYSTEM
        return target

    def on_connect(tag: nfc.tag.TagEmulation) -> bool:
        def read(block: int, _rb: int, _re: int) -> bytes | None:
            if block == last_block and not read_at:
                read_at.append(time.monotonic())
            return memory[block * BLOCK : (block + 1) * BLOCK] if block <= last_block else None

        tag.add_service(NDEF_WRITE_SERVICE, read, None)
        tag.add_service(NDEF_READ_SERVICE, read, None)
        return True

    started = time.monotonic()

    def leave() -> bool:
        now = time.monotonic()
        return now - started > GIVE_UP_S or bool(read_at and now - read_at[0] > hold_s)

    with nfc.ContactlessFrontend(f"udp:localhost:{port}") as frontend:
        while not leave():
            frontend.connect(card={"on-startup": on_startup, "on-connect": on_connect}, terminate=leave)
    print("read" if read_at else "never read", flush=True)


if __name__ == "__main__":
    main()
