/**
 * VHDX (issue 10), each beside its peer from the same run:
 * - creating a VHDX child off a 64 TB dynamic VHDX parent (writer: open, writeVhdxChild, close) vs one
 *   `fs.writeFile` of the bytes the child holds (its BAT and headers; its sector bitmap blocks are holes);
 * - `vhd read disk.vhdx > out.raw` as a whole process vs `qemu-img convert -f vhdx -O raw` (read-raw.ts);
 * - `vhd convert -t unsafe disk.vhd disk.vhdx` as a whole process vs `qemu-img convert -f vpc -O vhdx` (the issue's
 *   row: qemu-img convert's default cache mode, `unsafe`, on both sides), and `vhd convert` in its durable default vs
 *   `qemu-img convert -t writeback`; outputs compared by `qemu-img compare`.
 * `VHD_BENCH_VHDX_PARENT_SIZE` (bytes) sets the parent's size, `VHD_BENCH_SIZE` the read and convert disks' (fixtures.ts).
 */
import { rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createBaseDisk } from "../provider/ops/create-base";
import type { CacheMode } from "../provider/storage/atomic-create";
import { localStorage } from "../provider/storage/local/local-storage";
import { VHDX_MAX_VIRTUAL_SIZE } from "../provider/vhdx/format";
import { openVhdx } from "../provider/vhdx/reader";
import { parentFactsOf, writeVhdxChild } from "../provider/vhdx/writer";
import { BIG_SIZE, sizeFromEnv } from "./fixtures";
import { alternate, compare, freshOutput, gibibytes, median, runMeasured, runProgram, syncDisks, type Comparison, type ProcessCost } from "./harness";

const RUNS = 5;
const VHD_CLI = join(__dirname, "..", "provider", "bin", "vhd.js");
/** 64 TB, the VHDX limit, unless `VHD_BENCH_VHDX_PARENT_SIZE` says otherwise (a multiple of 1 MiB). */
const PARENT_SIZE = sizeFromEnv("VHD_BENCH_VHDX_PARENT_SIZE", VHDX_MAX_VIRTUAL_SIZE, 2 ** 20);

/** The child of a `PARENT_SIZE` dynamic VHDX, written by the writer alone, vs `fs.writeFile` of its allocated bytes. */
export async function benchCreateVhdxChild(folder: string): Promise<Comparison> {
  const parentPath = join(folder, "parent.vhdx");
  await createBaseDisk({ path: parentPath, size: PARENT_SIZE });
  const parentFile = await localStorage.open(parentPath);
  const parent = parentFactsOf(await openVhdx(parentFile), { relativePath: ".\\parent.vhdx", absoluteWin32Path: "\\\\?\\parent.vhdx" });
  await parentFile.close();
  const childPath = join(folder, "child.vhdx");
  const peerPath = join(folder, "peer.bin");
  const writeChild = async (): Promise<void> => {
    await rm(childPath, { force: true });
    const file = await localStorage.createExclusive(childPath);
    try {
      await writeVhdxChild(file, { parent });
    } finally {
      await file.close();
    }
  };
  await writeChild();
  const { size: childFileSize, blocks } = await stat(childPath);
  // The bytes the child's file holds (its bitmap blocks are holes the writer never writes): what the peer writes.
  const sameBytes = Buffer.alloc(blocks * 512, 0xff);
  const writePeer = async (): Promise<void> => {
    await rm(peerPath, { force: true });
    await writeFile(peerPath, sameBytes);
  };
  const timings = await alternate(RUNS, writeChild, writePeer, syncDisks);
  await Promise.all([childPath, peerPath, parentPath].map((path) => rm(path, { force: true })));
  return compare(
    {
      name: `create a VHDX child off a ${gibibytes(PARENT_SIZE)} dynamic VHDX parent (writer)`,
      ours: "open + writeVhdxChild + close",
      peer: `fs.writeFile of ${sameBytes.length} bytes (the child's allocated bytes)`,
      ...timings,
      target: "within 1.5x of fs.writeFile",
      facts: { parentVirtualSize: PARENT_SIZE, childFileSize, childAllocatedBytes: sameBytes.length },
    },
    (oursMs, peerMs) => oursMs <= 1.5 * peerMs,
  );
}

/**
 * `vhd convert` of the dynamic VHD at `vhdPath` to VHDX vs qemu-img's, both as processes, in the same cache mode
 * (`cache`, qemu-img's `-t`): `unsafe`, qemu-img convert's default (the row: neither syncs; `vhd convert -t
 * unsafe`), or `writeback`, durable at exit (ours by default: synced before it is published; qemu-img `-t writeback`:
 * block/io.c's bdrv_co_flush skips the flush only under `unsafe`; strace: an fdatasync at each block allocation and one
 * at close). Outputs compared by qemu-img.
 */
export async function benchConvertVhdToVhdx(folder: string, vhdPath: string, cache: CacheMode): Promise<Comparison> {
  // Each side in its default mode where that is the one measured, as a user would run it.
  const oursArgs = cache === "writeback" ? [] : ["-t", cache];
  const qemuArgs = cache === "unsafe" ? [] : ["-t", cache];
  const oursOut = join(folder, "ours.vhdx");
  const peerOut = join(folder, "qemu.vhdx");
  const ours: ProcessCost[] = [];
  const peer: ProcessCost[] = [];
  const timings = await alternate(
    RUNS,
    async () => ours.push(await runMeasured(process.execPath, [VHD_CLI, "convert", ...oursArgs, vhdPath, oursOut, "--quiet"])),
    async () => peer.push(await runMeasured("qemu-img", ["convert", ...qemuArgs, "-f", "vpc", "-O", "vhdx", vhdPath, peerOut])),
    (next) => freshOutput(next === "ours" ? oursOut : peerOut),
  );
  // Exit 0: the two VHDX read the same (qemu-img reads our dynamic VHDX bases).
  const same = await runProgram("qemu-img", ["compare", "-f", "vhdx", "-F", "vhdx", oursOut, peerOut]).then(
    () => true,
    () => false,
  );
  const sizes = { oursFileSize: (await stat(oursOut)).size, qemuFileSize: (await stat(peerOut)).size };
  await Promise.all([oursOut, peerOut].map((path) => rm(path, { force: true })));
  const seconds = (costs: ProcessCost[], pick: (cost: ProcessCost) => number): number => Number(median(costs.map(pick)).toFixed(2));
  return compare(
    {
      name: `vhd convert of a ${gibibytes(BIG_SIZE)} fully allocated dynamic VHD to VHDX, cache ${cache} (${cache === "unsafe" ? "qemu-img's default: neither syncs" : "ours by default: both durable at exit"})`,
      ours: ["node provider/bin/vhd.js convert", ...oursArgs, "disk.vhd disk.vhdx (a whole process)"].join(" "),
      peer: ["qemu-img convert", ...qemuArgs, "-f vpc -O vhdx disk.vhd disk.vhdx"].join(" "),
      ...timings,
      target:
        cache === "unsafe"
          ? "median wall time at most 1.0x qemu-img convert (the issue's row, like for like)"
          : "median wall time at most 1.0x (like for like, beside the issue's row)",
      facts: {
        outputsReadTheSame: same,
        ...sizes,
        oursCpuSeconds: seconds(ours, (cost) => cost.cpuSeconds),
        qemuCpuSeconds: seconds(peer, (cost) => cost.cpuSeconds),
        oursPeakRssMiB: Number(Math.max(...ours.map((cost) => cost.peakRssMiB)).toFixed(1)),
        qemuPeakRssMiB: Number(Math.max(...peer.map((cost) => cost.peakRssMiB)).toFixed(1)),
      },
    },
    (oursMs, peerMs) => oursMs <= peerMs && same,
  );
}
