/**
 * Independent readers of VHD files, for tests: libvhdi's `vhdiinfo` and Python binding (pyvhdi), and `qemu-img`.
 * Each runs the real tool from Debian (docs/vhd-format.md §6) and returns what it reported, parsed.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const MAX_BUFFER = 64 * 1024 * 1024;

/** The Python that has pyvhdi (Debian's python3-libvhdi), not whichever python3 is first on PATH. */
export const SYSTEM_PYTHON = "/usr/bin/python3";

/** What `vhdiinfo` printed, by label (`Disk type`, `Media size`, `Identifier`, `Parent identifier`, ...). */
export interface VhdiInfo {
  /** Every `label : value` line, as printed. */
  fields: Record<string, string>;
  /** `Fixed`, `Dynamic` or `Differential`. */
  diskType: string | undefined;
  /** Bytes, from `Media size : 4.0 MiB (4194304 bytes)`. */
  mediaSize: number | undefined;
  /** The unique id as libvhdi prints it: the 16 bytes in file order, dashed 8-4-4-4-12. */
  identifier: string | undefined;
  parentIdentifier: string | undefined;
  parentFilename: string | undefined;
}

/** Runs `vhdiinfo` on a file and parses its report. Rejects when vhdiinfo fails (its stderr in the message). */
export async function vhdiinfo(path: string): Promise<VhdiInfo> {
  const { stdout } = await run("vhdiinfo", [path], { maxBuffer: MAX_BUFFER });
  const fields: Record<string, string> = {};
  for (const line of stdout.split("\n")) {
    const match = /^\s*([^:]+?)\s*:\s(.*)$/.exec(line);
    if (match?.[1] !== undefined && match[2] !== undefined) fields[match[1]] = match[2].trim();
  }
  const sizeMatch = /\((\d+) bytes\)/.exec(fields["Media size"] ?? "");
  return {
    fields,
    diskType: fields["Disk type"],
    mediaSize: sizeMatch?.[1] === undefined ? undefined : Number(sizeMatch[1]),
    identifier: fields["Identifier"],
    parentIdentifier: fields["Parent identifier"],
    parentFilename: fields["Parent filename"],
  };
}

/** The fields of `qemu-img info --output=json` that the tests use. */
export interface QemuImgInfo {
  "virtual-size": number;
  "actual-size"?: number;
  format: string;
  filename: string;
  "backing-filename"?: string;
  [key: string]: unknown;
}

/** Runs `qemu-img info --output=json -f vpc` (forcing vpc: a fixed VHD would otherwise probe as raw). */
export async function qemuImgInfo(path: string): Promise<QemuImgInfo> {
  const { stdout } = await run("qemu-img", ["info", "--output=json", "-f", "vpc", path], { maxBuffer: MAX_BUFFER });
  return JSON.parse(stdout) as QemuImgInfo;
}

/** One extent of `qemu-img map --output=json`. */
export interface QemuMapExtent {
  start: number;
  length: number;
  depth: number;
  present: boolean;
  zero: boolean;
  data: boolean;
  /** File offset of the data, when it is in the file. */
  offset?: number;
}

/** Runs `qemu-img map --output=json -f vpc`: the allocated extents and their file offsets (checks the BAT). */
export async function qemuImgMap(path: string): Promise<QemuMapExtent[]> {
  const { stdout } = await run("qemu-img", ["map", "--output=json", "-f", "vpc", path], { maxBuffer: MAX_BUFFER });
  return JSON.parse(stdout) as QemuMapExtent[];
}

/** What pyvhdi read. */
export interface PyvhdiChainRead {
  /** libvhdi's media size (it reads the footer's original size, docs/vhd-format.md §1). */
  mediaSize: number;
  /** SHA-256 (hex) of the composed virtual disk. */
  sha256: string;
}

/**
 * Reads a chain with pyvhdi, composing it from the leaf down to the base (`chain` = [leaf, parent, ..., base]),
 * and writes the raw virtual disk to `outPath`. Mind libvhdi's bitmap bug (§6): it reads a sector wrongly when an
 * earlier bit of the same bitmap byte is set and a later one clear, so compare only chains whose bitmap bytes are
 * a run of clear bits followed by set bits (e.g. written in whole 8-sector units).
 */
export async function pyvhdiReadChain(chain: readonly string[], outPath: string): Promise<PyvhdiChainRead> {
  const script = join(__dirname, "pyvhdi-read-chain.py");
  const { stdout } = await run(SYSTEM_PYTHON, [script, outPath, ...chain], { maxBuffer: MAX_BUFFER });
  return JSON.parse(stdout.trim()) as PyvhdiChainRead;
}

/**
 * Runs `qemu-img convert -O raw -f <format>` (`vpc`, qemu's name for VHD, or `vhdx`): qemu's reading of one file (no
 * parents: qemu has no VHD backing files). Rejects when qemu-img fails.
 */
export async function qemuImgConvertToRaw(path: string, outPath: string, format: "vpc" | "vhdx" = "vpc"): Promise<void> {
  await run("qemu-img", ["convert", "-f", format, "-O", "raw", path, outPath], { maxBuffer: MAX_BUFFER });
}

/** Runs `qemu-img create -f vpc -o subformat=...`: a base disk made by qemu (creator `qemu`, size rounded to CHS). */
export async function qemuImgCreate(
  path: string,
  size: number | string,
  subformat: "dynamic" | "fixed" = "dynamic",
): Promise<void> {
  await run("qemu-img", ["create", "-q", "-f", "vpc", "-o", `subformat=${subformat}`, path, String(size)]);
}
