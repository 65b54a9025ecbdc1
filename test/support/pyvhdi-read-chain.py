"""Reads a VHD chain with libvhdi (pyvhdi) and writes the composed virtual disk to a raw file.

Usage: pyvhdi-read-chain.py OUT.raw LEAF.vhd [PARENT.vhd ... BASE.vhd]
Prints one JSON line: {"mediaSize": N, "sha256": "..."}. pyvhdi has no open_parent, so every parent is opened here
and linked with set_parent, base first (docs/vhd-format.md section 6).
"""
import hashlib
import json
import sys

import pyvhdi

# libvhdi 20210425 misreads some chains when one read spans the whole disk (MEAS: a 2 MiB read of a depth-3 chain
# returned parent data for sectors the leaf holds; the same bytes read in pieces up to 1 MiB were right). Reads of
# 256 KiB stay well inside what was measured correct.
CHUNK = 256 * 1024


def main() -> None:
    out_path, paths = sys.argv[1], sys.argv[2:]
    files = []
    for path in paths:
        handle = pyvhdi.file()
        handle.open(path)
        files.append(handle)
    for child, parent in reversed(list(zip(files, files[1:]))):
        child.set_parent(parent)
    leaf = files[0]
    digest = hashlib.sha256()
    size = leaf.media_size
    with open(out_path, "wb") as out:
        offset = 0
        while offset < size:
            data = leaf.read_buffer_at_offset(min(CHUNK, size - offset), offset)
            if not data:
                raise SystemExit(f"short read at {offset}")
            out.write(data)
            digest.update(data)
            offset += len(data)
    for handle in files:
        handle.close()
    print(json.dumps({"mediaSize": size, "sha256": digest.hexdigest()}))


main()
