/**
 * `vhd read disk.vhd > out.raw` as a user runs it: the `vhd` command (provider/bin/vhd.js, a whole Node.js process:
 * start-up, module loading, the copy) with stdout redirected to a new file each run, against
 * `qemu-img convert -f vpc -O raw disk.vhd out.raw`, which also writes a sparse output. Both outputs are checked
 * against the raw image the disk was made from. Each side's process start-up alone (`--version`) is measured beside
 * it: what neither can make up by copying faster on a small disk.
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { sha256File } from "../provider/sha256/sha256";
import { BIG_SIZE } from "./fixtures";
import { alternate, compare, gibibytes, median, freshOutput, runMeasured, type Comparison, type ProcessCost } from "./harness";

const RUNS = 5;
const VHD_CLI = join(__dirname, "..", "provider", "bin", "vhd.js");

/**
 * `label` names the disk in the comparison (e.g. "fully allocated"); `qemuFormat` is qemu-img's name of the disk's
 * format (`vpc` for VHD, `vhdx`).
 */
export async function benchReadRaw(
  folder: string,
  vhdPath: string,
  expectedSha256: string,
  label: string,
  qemuFormat: "vpc" | "vhdx" = "vpc",
): Promise<Comparison> {
  const format = qemuFormat === "vpc" ? "VHD" : "VHDX";
  const extension = qemuFormat === "vpc" ? "vhd" : "vhdx";
  const oursOut = join(folder, "ours.raw");
  const peerOut = join(folder, "qemu.raw");
  const ours: ProcessCost[] = [];
  const peer: ProcessCost[] = [];
  const timings = await alternate(
    RUNS,
    async () => ours.push(await runMeasured(process.execPath, [VHD_CLI, "read", vhdPath], oursOut)),
    async () => peer.push(await runMeasured("qemu-img", ["convert", "-f", qemuFormat, "-O", "raw", vhdPath, peerOut])),
    (next) => freshOutput(next === "ours" ? oursOut : peerOut),
  );
  // What each side pays before it reads a byte: the process start-up alone, the same for any disk size.
  const startup = await alternate(
    RUNS,
    () => runMeasured(process.execPath, [VHD_CLI, "--version"]),
    () => runMeasured("qemu-img", ["--version"]),
  );
  const [oursSha, peerSha] = [(await sha256File(oursOut)).sha256, (await sha256File(peerOut)).sha256];
  await rm(oursOut, { force: true });
  await rm(peerOut, { force: true });
  const seconds = (costs: ProcessCost[], pick: (cost: ProcessCost) => number): number =>
    Number(median(costs.map(pick)).toFixed(2));
  return compare(
    {
      name: `vhd read of a ${gibibytes(BIG_SIZE)} ${label} dynamic ${format} > out.raw`,
      ours: `node provider/bin/vhd.js read disk.${extension} > out.raw (a whole process)`,
      peer: `qemu-img convert -f ${qemuFormat} -O raw disk.${extension} out.raw`,
      ...timings,
      target: "median wall time at most 1.0x qemu-img convert",
      facts: {
        oursStartupMs: Number(median(startup.oursRunsMs).toFixed(1)),
        qemuStartupMs: Number(median(startup.peerRunsMs).toFixed(1)),
        oursOutputMatches: oursSha === expectedSha256,
        qemuOutputMatches: peerSha === expectedSha256,
        oursUserSeconds: seconds(ours, (cost) => cost.userSeconds),
        oursSystemSeconds: seconds(ours, (cost) => cost.systemSeconds),
        qemuUserSeconds: seconds(peer, (cost) => cost.userSeconds),
        qemuSystemSeconds: seconds(peer, (cost) => cost.systemSeconds),
        oursPeakRssMiB: Number(Math.max(...ours.map((cost) => cost.peakRssMiB)).toFixed(1)),
        qemuPeakRssMiB: Number(Math.max(...peer.map((cost) => cost.peakRssMiB)).toFixed(1)),
      },
    },
    (oursMs, peerMs) => oursMs <= peerMs && oursSha === expectedSha256,
  );
}
