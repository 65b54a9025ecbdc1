"""Reads byte ranges of one VHD/VHDX with libvhdi (pyvhdi) and prints the SHA-256 of their concatenation.

Usage: pyvhdi-ranges.py IMAGE OFFSET:LENGTH [OFFSET:LENGTH ...]
For disks too large to read whole in a test: the caller names the ranges (every data run, samples of the rest).
"""
import hashlib
import sys

import pyvhdi

CHUNK = 256 * 1024


def main() -> None:
    handle = pyvhdi.file()
    handle.open(sys.argv[1])
    digest = hashlib.sha256()
    for spec in sys.argv[2:]:
        offset, length = (int(part) for part in spec.split(":"))
        end = offset + length
        while offset < end:
            data = handle.read_buffer_at_offset(min(CHUNK, end - offset), offset)
            if not data:
                raise SystemExit(f"short read at {offset}")
            digest.update(data)
            offset += len(data)
    handle.close()
    print(digest.hexdigest())


main()
