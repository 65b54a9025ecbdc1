/**
 * VHDX files made by qemu-img (dynamic and fixed, 1 MiB and 256 MiB blocks, a larger log, data written by qemu-io
 * and by convert from raw) read as `qemu-img convert -O raw` reads them. One disk is 5 GiB with 1 MiB blocks, so
 * its data past 4 GiB sits behind the first sector bitmap entry of the interleaved BAT (MS-VHDX §2.5; the FreeBSD
 * mkimg bug of docs/vhdx-format.md §8 shows only there). Large disks are compared on every data run and a sample of the
 * rest, read from qemu's sparse raw conversion.
 */
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { localStorage } from "../../provider/storage/local/local-storage";
import { MIB } from "../../provider/vhdx/format";
import { useTempDir } from "../vhd/reader/temp-dir";
import { HAVE, openVhdxPath, run } from "./support";

const temp = useTempDir("vhdx-qemu");
const GIB = 1024 * MIB;

interface QemuDisk {
  label: string;
  size: number;
  options: string;
  /** Offsets where qemu-io writes 64 KiB of one pattern byte each. */
  writes: number[];
  /** Made by converting a raw image instead of qemu-io writes. */
  fromRaw?: boolean;
}

const DISKS: readonly QemuDisk[] = [
  { label: "dynamic 1 MiB blocks, data past 4 GiB", size: 5 * GIB, options: "subformat=dynamic,block_size=1M", writes: [0, 4 * GIB - 32 * 1024, 4 * GIB + 3 * MIB, 5 * GIB - 65536] },
  { label: "dynamic 256 MiB blocks, 8 MiB log", size: 600 * MIB, options: "subformat=dynamic,block_size=256M,log_size=8M", writes: [512, 300 * MIB + 7] },
  { label: "fixed 1 MiB blocks, block_state_zero=off", size: 48 * MIB, options: "subformat=fixed,block_size=1M,block_state_zero=off", writes: [MIB, 47 * MIB] },
  { label: "fixed default blocks (ZERO entries)", size: 48 * MIB, options: "subformat=fixed", writes: [4096, 20 * MIB + 100] },
  { label: "dynamic, converted from raw", size: 24 * MIB, options: "subformat=dynamic,block_size=1M", writes: [], fromRaw: true },
];

describe.each(DISKS)("qemu-made VHDX: $label", (disk) => {
  test("reads as qemu-img convert -O raw reads it", async (ctx) => {
    if (!HAVE.qemuImg || (!HAVE.qemuIo && !disk.fromRaw)) ctx.skip("qemu-img, or the qemu-io this disk is written with, is not installed here");
    const name = disk.label.replace(/\W+/g, "-");
    const path = join(temp.path(), `${name}.vhdx`);
    if (disk.fromRaw) {
      const raw = new Uint8Array(disk.size);
      raw.set(randomBytes(3 * MIB), 5 * MIB + 3);
      const source = join(temp.path(), `${name}.source.raw`);
      await writeFile(source, raw);
      await run("qemu-img", ["convert", "-f", "raw", "-O", "vhdx", "-o", disk.options, source, path]);
    } else {
      await run("qemu-img", ["create", "-q", "-f", "vhdx", "-o", disk.options, path, String(disk.size)]);
      const commands = disk.writes.flatMap((at, index) => ["-c", `write -P ${0x11 + index * 0x22} ${at} 65536`]);
      await run("qemu-io", ["-f", "vhdx", ...commands, path]);
    }
    const out = join(temp.path(), `${name}.raw`);
    await run("qemu-img", ["convert", "-f", "vhdx", "-O", "raw", path, out]);

    const image = await openVhdxPath(path);
    const theirs = await localStorage.open(out);
    try {
      expect(image.virtualSize).toBe(disk.size);
      const extents = await image.mapRange(0, image.virtualSize);
      expect(extents.some((extent) => extent.kind === "data")).toBe(true);
      for (const extent of extents) {
        const length = extent.kind === "data" ? extent.length : Math.min(extent.length, MIB);
        for (let at = extent.offset; at < extent.offset + length; at += 8 * MIB) {
          const piece = Math.min(8 * MIB, extent.offset + length - at);
          expect(Buffer.compare(Buffer.from(await image.read(at, piece)), Buffer.from(await theirs.read(at, piece)))).toBe(0);
        }
      }
      for (const at of disk.writes) {
        expect((await image.read(at, 65536)).every((byte) => byte !== 0)).toBe(true);
      }
    } finally {
      await image.close();
      await theirs.close();
    }
  });
});
