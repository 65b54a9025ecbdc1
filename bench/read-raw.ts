/**
 * Reading a 2 GiB dynamic VHD out as a raw file: our chain reader in a child process (the built library; only
 * the bytes some layer holds written, the file extended at the end) vs `qemu-img convert -f vpc -O raw`, which
 * also writes sparse output.
 * Both outputs are checked against the raw image the disk was made from.
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { sha256File } from "../provider/checksum/sha256";
import { alternate, childScript, compare, median, runMeasured, syncDisks, type Comparison, type ProcessCost } from "./harness";

const RUNS = 5;

export async function benchReadRaw(folder: string, vhdPath: string, expectedSha256: string): Promise<Comparison> {
  const oursOut = join(folder, "ours.raw");
  const peerOut = join(folder, "qemu.raw");
  const ours: ProcessCost[] = [];
  const peer: ProcessCost[] = [];
  const timings = await alternate(
    RUNS,
    async () => ours.push(await runMeasured(process.execPath, [childScript("read-raw.js"), vhdPath, oursOut])),
    async () => peer.push(await runMeasured("qemu-img", ["convert", "-f", "vpc", "-O", "raw", vhdPath, peerOut])),
    async (next) => {
      await rm(next === "ours" ? oursOut : peerOut, { force: true });
      await syncDisks();
    },
  );
  const [oursSha, peerSha] = [(await sha256File(oursOut)).sha256, (await sha256File(peerOut)).sha256];
  await rm(oursOut, { force: true });
  await rm(peerOut, { force: true });
  return compare(
    {
      name: "read a 2 GiB dynamic VHD out as raw",
      ours: "node child process: openChain(...).copyToFile(): 2 MiB pieces, 4 in flight, data only, sparse (provider/dist)",
      peer: "qemu-img convert -f vpc -O raw",
      ...timings,
      target: "at least as fast as qemu-img convert",
      facts: {
        oursOutputMatches: oursSha === expectedSha256,
        qemuOutputMatches: peerSha === expectedSha256,
        oursPeakRssMiB: Number(Math.max(...ours.map((cost) => cost.peakRssMiB)).toFixed(1)),
        oursCpuSeconds: Number(median(ours.map((cost) => cost.cpuSeconds)).toFixed(2)),
        qemuCpuSeconds: Number(median(peer.map((cost) => cost.cpuSeconds)).toFixed(2)),
      },
    },
    (oursMs, peerMs) => oursMs <= peerMs && oursSha === expectedSha256,
  );
}
