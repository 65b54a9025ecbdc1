/**
 * Shared steps of the end-to-end tests of `DifferencingDisk`: a temp folder with a golden image, a stack of the
 * `programs/disks` project whose disks come from the stack config, the built `vhd` CLI, and the hash statistics.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { createBaseDisk } from "../../provider/ops/create-base";
import { CHECKSUM_CACHE_ENV } from "../../provider/sha256/checksum-cache";
import { HASH_STATS_ENV, totalBytesHashed } from "../../provider/sha256/hash-stats";
import type { ConnectionArgs } from "../../provider/storage/ssh/connection-args";
import { PulumiTestStack, REPO_ROOT } from "../support/pulumi-cli";
import { runProcess } from "../support/run-process";

/** The test program: disks from config (see its index.ts). */
export const DISKS_PROGRAM = join(__dirname, "programs", "disks");

/** The built CLI, as `bin.vhd` points to it. */
const VHD_CLI = join(REPO_ROOT, "provider", "dist", "cli", "main.js");

/** One disk of the program's `disks` config. */
export interface DiskSpec {
  name: string;
  imagePath: string;
  parentPath?: string;
  parent?: string;
  adopt?: boolean;
  protectParent?: boolean;
  checksum?: boolean;
  blockSize?: number;
  /** The remote host of both paths (storage/ssh/connection-args.ts); absent: this machine. */
  connection?: ConnectionArgs;
  /** Resource options. */
  options?: { ignoreChanges?: string[]; replaceOnChanges?: string[] };
}

/**
 * A temp folder with a 16 MiB dynamic golden image, plus a stack of the disks program whose provider logs hashes and
 * keeps its checksum cache in a temp folder of its own (so a test sees only its own files in `dir`).
 */
export class DiskStack {
  private constructor(
    readonly dir: string,
    readonly golden: string,
    readonly statsFile: string,
    readonly stack: PulumiTestStack,
    private readonly cacheDir: string,
  ) {}

  /** `golden`: the golden image's file name and how it is made (default `golden.vhd` by {@link makeGoldenImage}). */
  static async create(
    name: string,
    disks: (golden: string, dir: string) => DiskSpec[],
    golden: { name: string; make: (path: string) => Promise<void> } = { name: "golden.vhd", make: makeGoldenImage },
  ): Promise<DiskStack> {
    const dir = mkdtempSync(join(tmpdir(), `vhd-e2e-${name}-`));
    const goldenPath = join(dir, golden.name);
    await golden.make(goldenPath);
    const statsFile = join(dir, "hash-stats.jsonl");
    const cacheDir = mkdtempSync(join(tmpdir(), `vhd-e2e-${name}-cache-`));
    const stack = await PulumiTestStack.create({
      projectDir: DISKS_PROGRAM,
      config: { disks: JSON.stringify(disks(goldenPath, dir)) },
      env: { [HASH_STATS_ENV]: statsFile, [CHECKSUM_CACHE_ENV]: cacheDir },
    });
    return new DiskStack(dir, goldenPath, statsFile, stack, cacheDir);
  }

  /** {@link create}, then `pulumi up` (which must succeed). */
  static async deployed(name: string, disks: (golden: string, dir: string) => DiskSpec[]): Promise<DiskStack> {
    const stack = await DiskStack.create(name, disks);
    const up = await stack.stack.up();
    expect(up.code, up.output).toBe(0);
    return stack;
  }

  /** Replaces the program's disks. */
  async setDisks(disks: DiskSpec[]): Promise<void> {
    await this.stack.runChecked(["config", "set", "--stack", this.stack.stackName, "disks", JSON.stringify(disks)]);
  }

  /** Bytes the provider hashed so far (all runs of this stack). */
  bytesHashed(): number {
    return totalBytesHashed(this.statsFile);
  }

  /** The exported outputs of one disk. */
  async outputsOf(name: string): Promise<Record<string, unknown>> {
    const outputs = (await this.stack.outputs()).outputs as Record<string, Record<string, unknown>>;
    const disk = outputs[name];
    if (disk === undefined) throw new Error(`no outputs for disk ${name}`);
    return disk;
  }

  /** Destroys the stack and removes the temp folder. */
  async dispose(): Promise<void> {
    try {
      await this.stack.dispose();
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
      rmSync(this.cacheDir, { recursive: true, force: true });
    }
  }
}

/** Makes a 16 MiB dynamic base disk with 64 KiB of data at `path`, as a golden image. */
export async function makeGoldenImage(path: string): Promise<void> {
  await createBaseDisk({ path, size: 16 * 1024 * 1024, type: "dynamic" });
  await vhdWrite(path, 0, Buffer.alloc(64 * 1024, 0x5a));
}

/** Each disk of a stack, by name: its bytes as a VM reads them, and its unique id. */
export interface WrittenVms {
  expected: Record<string, Buffer>;
  uniqueIds: Record<string, unknown>;
}

/**
 * A stack of VMs that wrote into their disks, for the relink tests: `up` of `program(false)`, the `writes` (what the
 * VMs wrote), then `up` of `program(true)`, which adds `vm1-child` below vm1 (made after vm1 was written: a child is
 * valid only on the parent content it was made on), and 128 KiB of 0x77 written into it at 5 MiB. Every disk's
 * `imagePath` must be absolute.
 */
export async function deployWrittenVms(
  stack: DiskStack,
  program: (withChild: boolean) => DiskSpec[],
  writes: { path: string; offset: number; data: Uint8Array }[],
): Promise<WrittenVms> {
  await stack.setDisks(program(false));
  const up = await stack.stack.up();
  expect(up.code, up.output).toBe(0);
  for (const { path, offset, data } of writes) await vhdWrite(path, offset, data);
  const all = program(true);
  await stack.setDisks(all);
  const withChild = await stack.stack.up();
  expect(withChild.code, withChild.output).toBe(0);
  const child = all.find((disk) => disk.name === "vm1-child");
  if (child === undefined) throw new Error("the program with its child has no vm1-child");
  await vhdWrite(child.imagePath, 5 * 1024 * 1024, Buffer.alloc(128 * 1024, 0x77));
  const written: WrittenVms = { expected: {}, uniqueIds: {} };
  for (const { name, imagePath } of all) {
    const outputs = await stack.outputsOf(name);
    written.expected[name] = await vhdRead(imagePath, 0, Number(outputs.virtualSize));
    written.uniqueIds[name] = outputs.uniqueId;
  }
  return written;
}

/** Disk `a` off the golden image in `<dir>/vms`, and `b` off `a` next to it. */
export function chainOfTwo(golden: string, dir: string): DiskSpec[] {
  return [
    { name: "a", parentPath: golden, imagePath: join(dir, "vms", "a.vhd") },
    { name: "b", parent: "a", imagePath: "b.vhd" },
  ];
}

/** The files in `dir` a test put there or the provider left, sorted, without the provider's hash statistics. */
export function filesLeft(dir: string): string[] {
  return readdirSync(dir)
    .filter((file) => file !== "hash-stats.jsonl")
    .sort();
}

/** Runs `vhd write <path> --offset <offset>` with `data` on stdin, as a user (or a VM) would write into a disk. */
export async function vhdWrite(path: string, offset: number, data: Uint8Array): Promise<void> {
  const run = await runProcess(process.execPath, [VHD_CLI, "write", path, "--offset", String(offset), "--quiet"], { input: data });
  expect(run.status, run.stderr.toString("utf8")).toBe(0);
}

/** Runs `vhd read <path> --offset <offset> --length <length>`: the bytes a VM sees, composed through the chain. */
export async function vhdRead(path: string, offset: number, length: number): Promise<Buffer> {
  const run = await runProcess(process.execPath, [VHD_CLI, "read", path, "--offset", String(offset), "--length", String(length), "--quiet"]);
  expect(run.status, run.stderr.toString()).toBe(0);
  return run.stdout;
}

/** Changes a file's content with `vhd write`, then gives it back its size and times with `touch -r`. */
export async function changeKeepingSizeAndMtime(path: string, offset: number): Promise<void> {
  const reference = `${path}.times`;
  execFileSync("touch", ["-r", path, reference]);
  const before = statSync(path, { bigint: true });
  await vhdWrite(path, offset, Buffer.alloc(512, 0xc3));
  execFileSync("touch", ["-r", reference, path]);
  rmSync(reference);
  const after = statSync(path, { bigint: true });
  expect([after.size, after.mtimeNs]).toEqual([before.size, before.mtimeNs]);
}

/** SHA-256 of a file, computed here (not by the code under test). */
export function sha256Of(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

/** One disk's block in `pulumi preview --diff` output: its name, the planned operation and the property lines. */
export interface PlannedStep {
  name: string;
  operation: string;
  text: string;
}

/**
 * The disk steps of a `pulumi preview --diff` output, which prints one block per resource:
 * `+-pulumi-nodejs:dynamic/vhd:DifferencingDisk: (replace)` or `~ pulumi-nodejs:...: (update)`, then
 * `[urn=...::name]`, then its properties.
 */
export function plannedSteps(output: string): PlannedStep[] {
  const steps: PlannedStep[] = [];
  for (const block of output.split(/\n(?=\s*\S*\s?pulumi-nodejs:dynamic\/vhd:DifferencingDisk: \()/)) {
    const head = /pulumi-nodejs:dynamic\/vhd:DifferencingDisk: \(([^)]+)\)/.exec(block);
    const urn = /\[urn=[^\]]*:DifferencingDisk::([^\]]+)\]/.exec(block);
    if (head?.[1] !== undefined && urn?.[1] !== undefined) steps.push({ name: urn[1], operation: head[1], text: block });
  }
  return steps;
}

/** One step of `pulumi preview --json`, as a pipeline reads it. */
export interface JsonStep {
  op: string;
  urn: string;
  replaceReasons?: string[] | null;
  diffReasons?: string[] | null;
  detailedDiff?: Record<string, unknown> | null;
}

/** The disk steps of a `pulumi preview --json` output, by disk name (a name with several steps keeps them all). */
export function jsonSteps(stdout: string): Map<string, JsonStep[]> {
  const digest = JSON.parse(stdout) as { steps?: JsonStep[] };
  const steps = new Map<string, JsonStep[]>();
  for (const step of digest.steps ?? []) {
    const name = /:DifferencingDisk::(.+)$/.exec(step.urn)?.[1];
    if (name !== undefined) steps.set(name, [...(steps.get(name) ?? []), step]);
  }
  return steps;
}
