/**
 * The provider's functions called directly (no Pulumi CLI), on real disks in a temp folder: the diff matrix against
 * real parent changes, checksum reuse, create/read/update/delete semantics, adopt and protectParent.
 */
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createBaseDisk } from "../../provider/ops/create-base";
import { createDifferencingDisk } from "../../provider/ops/create-differencing";
import { recordCreatedFolders } from "../../provider/ops/created-folders";
import { discardNewDisk } from "../../provider/ops/delete-disk";
import { localStorage } from "../../provider/storage/local/local-storage";
import { CHECKSUM_CACHE_ENV } from "../../provider/sha256/checksum-cache";
import { HASH_STATS_ENV, readStatsLines, totalBytesHashed } from "../../provider/sha256/hash-stats";
import type { RawInputs } from "../../provider/resource/settings";
import * as provider from "../../provider/resource/provider";
import { type DiskInputs, type DiskState, UNKNOWN } from "../../provider/resource/state";
import { writeAt } from "../../provider/vhd/writer/block-writer";

const MiB = 1024 * 1024;

let dir: string;
let golden: string;
let statsFile: string;
let cacheDir: string;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "vhd-resource-"));
  golden = join(dir, "golden.vhd");
  statsFile = join(dir, "hash-stats.jsonl");
  vi.stubEnv(HASH_STATS_ENV, statsFile);
  cacheDir = mkdtempSync(join(tmpdir(), "vhd-checksum-cache-"));
  vi.stubEnv(CHECKSUM_CACHE_ENV, cacheDir);
  // A fixed disk: its data area is raw bytes, so a test can change content without changing the file's size.
  await createBaseDisk({ path: golden, size: 4 * MiB, type: "fixed", pathRules: "posix" });
});

afterEach(() => {
  vi.unstubAllEnvs();
  chmodSync(golden, 0o644);
  rmSync(dir, { recursive: true, force: true });
  rmSync(cacheDir, { recursive: true, force: true });
});

function sha256(file: string): string {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}

function bytesHashed(): number {
  return totalBytesHashed(statsFile);
}

async function checked(raw: RawInputs, olds: Partial<DiskInputs> = {}): Promise<DiskInputs> {
  const result = await provider.check(olds, { pathRules: "posix", ...raw });
  expect(result.failures ?? []).toEqual([]);
  return result.inputs as DiskInputs;
}

/** The next `check` of a disk: the program's inputs again (plus `change`), the previous checked inputs as `olds`. */
function rechecked(inputs: DiskInputs, change: RawInputs = {}): Promise<DiskInputs> {
  const { imagePath, parentPath, adopt, protectParent, pathRules, checksum } = inputs;
  return checked({ imagePath, parentPath, adopt, protectParent, pathRules, checksum, ...change }, inputs);
}

async function created(raw: RawInputs): Promise<{ inputs: DiskInputs; state: DiskState }> {
  const inputs = await checked(raw);
  const result = await provider.create(inputs);
  expect(result.id).toBe(inputs.imagePath);
  return { inputs, state: result.outs as DiskState };
}

/** Overwrites bytes at the start of the golden image's data, then restores its times with `touch -r`. */
function changeGoldenKeepingSizeAndMtime(): void {
  const reference = join(dir, "times.ref");
  execFileSync("touch", ["-r", golden, reference]);
  const before = statSync(golden, { bigint: true });
  const data = readFileSync(golden);
  data.fill(0xab, 0, 4096);
  writeFileSync(golden, data);
  execFileSync("touch", ["-r", reference, golden]);
  rmSync(reference);
  const after = statSync(golden, { bigint: true });
  expect([after.size, after.mtimeNs]).toEqual([before.size, before.mtimeNs]);
}

describe("check", () => {
  it("reports the contract's path errors as failures with name and HRESULT", async () => {
    const bothRelative = await provider.check({}, { imagePath: "a.vhd", parentPath: "b.vhd" });
    expect(bothRelative.failures).toEqual([
      { property: "imagePath", reason: expect.stringMatching(/^ERROR_BAD_PATHNAME \(0x800700A1\)/) },
    ]);
    const badName = await provider.check({}, { imagePath: join(dir, "a?.vhd"), parentPath: golden });
    expect(badName.failures?.[0]?.reason).toMatch(/^ERROR_INVALID_NAME \(0x8007007B\): imagePath /);
    const missing = await provider.check({}, { parentPath: golden });
    expect(missing.failures?.[0]).toMatchObject({ property: "imagePath", reason: expect.stringMatching(/^E_POINTER \(0x80004003\)/) });
    const wrongType = await provider.check({}, { imagePath: join(dir, "c.vhd"), parentPath: golden, adopt: "yes" });
    expect(wrongType.failures?.[0]).toMatchObject({ property: "adopt", reason: expect.stringMatching(/^E_INVALIDARG \(0x80070057\)/) });
  });

  it("resolves a relative imagePath against the parent's folder and records the parent's SHA-256", async () => {
    const inputs = await checked({ imagePath: "children/web.vhd", parentPath: golden });
    expect(inputs.imagePath).toBe(join(dir, "children", "web.vhd"));
    expect(inputs.parentChecksum).toBe(sha256(golden));
    expect(inputs.parentSize).toBe(statSync(golden).size);
    expect(inputs).toMatchObject({ adopt: false, protectParent: false, checksum: true, pathRules: "posix" });
  });

  it("passes an unknown parent through as unknown observations (the parent is being replaced)", async () => {
    const inputs = await checked({ imagePath: join(dir, "x.vhd"), parentPath: UNKNOWN });
    expect(inputs).toMatchObject({ imagePath: join(dir, "x.vhd"), parentPath: UNKNOWN, parentChecksum: UNKNOWN, parentUniqueId: UNKNOWN });
    // Relative to an unknown parent, the child's own path is unknown too.
    expect(await checked({ imagePath: "x.vhd", parentPath: UNKNOWN })).toMatchObject({ imagePath: UNKNOWN });
    expect(bytesHashed()).toBe(0);
  });

  it("observes no parent (null facts, no failure) when none is at parentPath yet, for a new or an existing disk", async () => {
    const none = { parentUniqueId: null, parentSize: null, parentChecksum: null, ancestors: null };
    expect(await checked({ imagePath: join(dir, "c.vhd"), parentPath: join(dir, "later.vhd") })).toMatchObject(none);
    const { inputs, state } = await created({ imagePath: join(dir, "c.vhd"), parentPath: golden });
    renameSync(golden, `${golden}.away`);
    const gone = await rechecked(inputs);
    renameSync(`${golden}.away`, golden);
    expect(gone).toMatchObject(none);
    expect(await provider.diff(state.imagePath, state, gone)).toEqual({ changes: undefined, replaces: ["parentPath"], deleteBeforeReplace: false });
  });

  it("does not re-hash an unchanged parent in a new provider process, and does after touch -r", async () => {
    const first = await checked({ imagePath: join(dir, "a.vhd"), parentPath: golden });
    expect(bytesHashed()).toBe(statSync(golden).size);
    // Nothing in the inputs but the facts a person reads: no fingerprint to show up in the diff.
    expect(JSON.stringify(first)).not.toMatch(/ctimeNs|"ino"/);
    // A fresh module graph stands for the next `pulumi preview`: no in-process cache survives.
    vi.resetModules();
    const fresh = (await import("../../provider/resource/provider")) as typeof provider;
    const again = await fresh.check(first, { imagePath: join(dir, "a.vhd"), parentPath: golden, pathRules: "posix" });
    expect(again.inputs?.parentChecksum).toBe(first.parentChecksum);
    expect(bytesHashed()).toBe(statSync(golden).size);
    // Recalled from the checksum cache on this machine, which holds fingerprints and checksums, no paths.
    const cache = readFileSync(join(cacheDir, "checksums.json"), "utf8");
    expect(cache).toContain(first.parentChecksum);
    expect(cache).not.toContain(dir);

    changeGoldenKeepingSizeAndMtime();
    vi.resetModules();
    const next = (await import("../../provider/resource/provider")) as typeof provider;
    const changed = await next.check(first, { imagePath: join(dir, "a.vhd"), parentPath: golden, pathRules: "posix" });
    expect(changed.inputs?.parentChecksum).toBe(sha256(golden));
    expect(changed.inputs?.parentChecksum).not.toBe(first.parentChecksum);
    expect(bytesHashed()).toBe(2 * statSync(golden).size);
  });

  it("hashes a parent shared by many disks once per run", async () => {
    await Promise.all(
      Array.from({ length: 8 }, (_, index) => checked({ imagePath: join(dir, `s${index}.vhd`), parentPath: golden })),
    );
    expect(bytesHashed()).toBe(statSync(golden).size);
  });

  it("times each hook and each checksum into the statistics record when it is on (the benchmark's breakdown)", async () => {
    const { inputs, state } = await created({ imagePath: join(dir, "timed.vhd"), parentPath: golden });
    await provider.diff(state.imagePath, state, inputs);
    const lines = readStatsLines(statsFile);
    const hooks = lines.filter((line) => line.event === "hook");
    expect(hooks.map((line) => line.hook)).toEqual(["check", "create", "diff"]);
    for (const line of hooks) {
      expect(line.pid).toBe(process.pid);
      expect(line.ms).toBeGreaterThanOrEqual(0);
      expect(line.uptimeMs).toBeGreaterThan(0);
    }
    const hashes = lines.filter((line) => line.event === "sha256");
    expect(hashes).toEqual([expect.objectContaining({ path: golden, bytes: statSync(golden).size, ms: expect.any(Number) })]);
    // The hash ran inside the check that needed it.
    expect(Number(hashes[0]?.ms)).toBeLessThanOrEqual(Number(hooks[0]?.ms));
  });
});

describe("diff against real parent changes", () => {
  it("is empty when nothing changed and after writing into the child", async () => {
    const { inputs, state } = await created({ imagePath: join(dir, "web.vhd"), parentPath: golden });
    expect(await provider.diff(state.imagePath, state, await rechecked(inputs))).toMatchObject({ changes: false });
    await writeAt(state.imagePath, 0, new Uint8Array(8192).fill(7));
    expect(await provider.diff(state.imagePath, state, await rechecked(inputs))).toMatchObject({ changes: false });
  });

  it("replaces, deleting first, when the parent's content changed keeping size and mtime", async () => {
    const { inputs, state } = await created({ imagePath: join(dir, "web.vhd"), parentPath: golden });
    changeGoldenKeepingSizeAndMtime();
    const diff = await provider.diff(state.imagePath, state, await rechecked(inputs));
    // A change of the inputs: the engine diffs them itself (changes left undefined) and keeps this replace list.
    expect(diff).toEqual({ changes: undefined, replaces: ["parentChecksum"], deleteBeforeReplace: true });
  });

  it("replaces a grandchild when a disk further up the chain changed, naming it in the inputs", async () => {
    const { state: a } = await created({ imagePath: join(dir, "a.vhd"), parentPath: golden });
    const { inputs, state: b } = await created({ imagePath: "b.vhd", parentPath: a.imagePath });
    expect(b.ancestors).toEqual({ [golden]: expect.objectContaining({ checksum: sha256(golden) }) });
    changeGoldenKeepingSizeAndMtime();
    const news = await rechecked(inputs);
    expect(news.ancestors?.[golden]?.checksum).toBe(sha256(golden));
    expect(await provider.diff(b.imagePath, b, news)).toEqual({ changes: undefined, replaces: ["ancestors"], deleteBeforeReplace: true });
  });

  it("names a dependent's own reason when asked with its parentPath unknown (the engine's delete-before-replace cascade)", async () => {
    const { state: a } = await created({ imagePath: join(dir, "a.vhd"), parentPath: golden });
    const { inputs: b, state: bState } = await created({ imagePath: "b.vhd", parentPath: a.imagePath });
    const { inputs: c, state: cState } = await created({ imagePath: "c.vhd", parentPath: bState.imagePath });
    // What the engine sends: the old inputs, with every input that depends on a replaced resource unknown.
    const cascade = (inputs: DiskInputs): DiskInputs => ({ ...inputs, parentPath: UNKNOWN });
    // Nothing changed above: the parent's replace is the reason (a moved parent, a changed setting).
    expect((await provider.diff(bState.imagePath, bState, cascade(b))).replaces).toEqual(["parentPath"]);
    changeGoldenKeepingSizeAndMtime();
    for (const [state, inputs] of [[bState, b], [cState, c]] as const) {
      expect(await provider.diff(state.imagePath, state, cascade(inputs))).toEqual({
        changes: undefined,
        replaces: ["parentPath", "ancestors"],
        deleteBeforeReplace: true,
      });
    }
    // A parent gone from its recorded path: the rule that says so.
    rmSync(bState.imagePath);
    expect((await provider.diff(cState.imagePath, cState, cascade(c))).replaces).toEqual(["parentPath"]);
  });

  it("replaces when the parent is another disk at the same path (unique id and size differ)", async () => {
    const { inputs, state } = await created({ imagePath: join(dir, "web.vhd"), parentPath: golden });
    chmodSync(golden, 0o644);
    rmSync(golden);
    await createBaseDisk({ path: golden, size: 8 * MiB, type: "dynamic", pathRules: "posix" });
    const diff = await provider.diff(state.imagePath, state, await rechecked(inputs));
    expect(diff.replaces).toEqual(["parentUniqueId", "parentSize", "parentChecksum"]);
  });

  it("keeps a fact the engine carried over for ignoreChanges, while the hidden observation stays true", async () => {
    const { inputs, state } = await created({ imagePath: join(dir, "web.vhd"), parentPath: golden });
    changeGoldenKeepingSizeAndMtime();
    const kept = await rechecked(inputs, { parentChecksum: inputs.parentChecksum });
    expect(kept.parentChecksum).toBe(state.parentChecksum);
    expect(await provider.diff(state.imagePath, state, kept)).toMatchObject({ changes: false });
    // Without the option, the next check sees the true checksum, never the carried one.
    expect((await rechecked(kept)).parentChecksum).toBe(sha256(golden));
  });

  it("never replaces for a carried fact older than the disk (a dependent the engine recreated from old inputs)", async () => {
    const { inputs, state } = await created({ imagePath: join(dir, "web.vhd"), parentPath: golden });
    // What `up --target <parent>` leaves: the state's inputs are the old plan's, its outputs the files made on.
    const stale = await rechecked(inputs, { parentChecksum: "0".repeat(64), parentSize: state.parentSize + 512 });
    expect(stale.carriedFacts).toEqual(["parentSize", "parentChecksum"]);
    expect(await provider.diff(state.imagePath, state, stale)).toMatchObject({ changes: false, replaces: [] });
    // Carried or not, another reason still replaces.
    rmSync(state.imagePath);
    expect(await provider.diff(state.imagePath, state, stale)).toMatchObject({ changes: true, replaces: ["imagePath"] });
  });

  it("does not compare checksums with checksum: false (the benchmark's baseline)", async () => {
    const { inputs, state } = await created({ imagePath: join(dir, "web.vhd"), parentPath: golden, checksum: false });
    expect(state.parentChecksum).toBeNull();
    changeGoldenKeepingSizeAndMtime();
    expect(await provider.diff(state.imagePath, state, await rechecked(inputs))).toMatchObject({ changes: false });
    expect(bytesHashed()).toBe(0);
  });
});

describe("create", () => {
  it("records the child, the parent's identity, checksum and chain", async () => {
    const { state: web } = await created({ imagePath: join(dir, "web.vhd"), parentPath: golden });
    expect(web).toMatchObject({
      imagePath: join(dir, "web.vhd"),
      parentPath: golden,
      parentChecksum: sha256(golden),
      parentDiskType: "fixed",
      virtualSize: 4 * MiB,
      blockSize: 2 * MiB,
      chain: [golden],
      chainDepth: 1,
      adopted: false,
    });
    expect(web.foundUniqueId).toBe(web.uniqueId);
    const { state: patch } = await created({ imagePath: "patch.vhd", parentPath: web.imagePath });
    expect(patch).toMatchObject({ chain: [web.imagePath, golden], chainDepth: 2, parentUniqueId: web.uniqueId });
  });

  it("records the parent and ancestors as they are when it runs, not the stale facts of old inputs (--target)", async () => {
    const { inputs: aInputs, state: a } = await created({ imagePath: join(dir, "a.vhd"), parentPath: golden });
    const { inputs: bInputs, state: b } = await created({ imagePath: "b.vhd", parentPath: a.imagePath });
    changeGoldenKeepingSizeAndMtime();
    // The engine replaces a, and b as its dependent, recreating b from b's old inputs.
    await provider.remove(b.imagePath, b);
    await provider.remove(a.imagePath, a);
    const newA = await provider.create(await rechecked(aInputs));
    const newB = (await provider.create(bInputs)).outs as DiskState;
    expect(newB.ancestors?.[golden]?.checksum).toBe(sha256(golden));
    expect(newB.parentChecksum).not.toBe(b.parentChecksum);
    expect(newB.parentUniqueId).toBe((newA.outs as DiskState).uniqueId);
    expect(await provider.diff(newB.imagePath, newB, await rechecked(bInputs))).toMatchObject({ changes: false });
  });

  it("fails with ERROR_ALREADY_EXISTS on an existing file and leaves it untouched", async () => {
    const target = join(dir, "taken.vhd");
    writeFileSync(target, "not ours");
    await expect(provider.create(await checked({ imagePath: target, parentPath: golden }))).rejects.toThrow(
      /^ERROR_ALREADY_EXISTS \(0x800700B7\): imagePath /,
    );
    expect(readFileSync(target, "utf8")).toBe("not ours");
  });

  it("adopts an existing child of the same parent, and refuses one of another parent", async () => {
    const existing = await createDifferencingDisk({ imagePath: join(dir, "legacy.vhd"), parentPath: golden, pathRules: "posix" });
    const { state } = await created({ imagePath: "legacy.vhd", parentPath: golden, adopt: true });
    expect(state).toMatchObject({ adopted: true, uniqueId: existing.uniqueId });

    const other = join(dir, "other.vhd");
    await createBaseDisk({ path: other, size: 4 * MiB, type: "dynamic", pathRules: "posix" });
    await createDifferencingDisk({ imagePath: join(dir, "foreign.vhd"), parentPath: other, pathRules: "posix" });
    const before = readFileSync(join(dir, "foreign.vhd"));
    await expect(provider.create(await checked({ imagePath: "foreign.vhd", parentPath: golden, adopt: true }))).rejects.toThrow(
      /^ERROR_ALREADY_EXISTS \(0x800700B7\): imagePath ".*foreign\.vhd": the file exists and cannot be adopted: its parent is/,
    );
    expect(readFileSync(join(dir, "foreign.vhd"))).toEqual(before);
  });
});

describe("read (refresh, get)", () => {
  it("returns the recorded state unchanged for an untouched disk and after a write into it", async () => {
    const { state } = await created({ imagePath: join(dir, "web.vhd"), parentPath: golden });
    expect(await provider.read(state.imagePath, state)).toEqual({ id: state.imagePath, props: state });
    await writeAt(state.imagePath, 3 * MiB, new Uint8Array(4096).fill(1));
    expect(await provider.read(state.imagePath, state)).toEqual({ id: state.imagePath, props: state });
  });

  it("reads a disk of an interrupted create (refresh --import-pending-creates) keeping the inputs' settings", async () => {
    const inputs = await checked({ imagePath: join(dir, "web.vhd"), parentPath: golden, protectParent: true, checksum: false });
    const made = await createDifferencingDisk({ imagePath: inputs.imagePath, parentPath: golden, pathRules: "posix" });
    // The engine reads a pending create with the inputs it was given as the properties: nothing recorded yet.
    const read = await provider.read(inputs.imagePath, inputs as unknown as DiskState);
    expect(read).toMatchObject({
      id: inputs.imagePath,
      props: { uniqueId: made.uniqueId, parentPath: golden, protectParent: true, checksum: false, pathRules: "posix" },
    });
  });

  it("an import of a pending create claims the disk for the resource, so another resource cannot take it over", async () => {
    const owner = "urn:pulumi:dev::p::pulumi-nodejs:dynamic/vhd:DifferencingDisk::web";
    const inputs = await checked({ imagePath: join(dir, "web.vhd"), parentPath: golden, owner });
    // Killed between writing the disk and its ownership record: the disk is there, no record.
    const made = await createDifferencingDisk({ imagePath: inputs.imagePath, parentPath: golden, pathRules: "posix" });
    const read = await provider.read(inputs.imagePath, inputs as unknown as DiskState);
    expect(read.props).toMatchObject({ uniqueId: made.uniqueId, owner });
    expect(JSON.parse(readFileSync(join(dir, ".web.vhd.pulumi-vhd-owner"), "utf8"))).toEqual({ owner, uniqueId: made.uniqueId });
    const other = "urn:pulumi:dev::p::pulumi-nodejs:dynamic/vhd:DifferencingDisk::intruder";
    await expect(provider.create(await checked({ imagePath: inputs.imagePath, parentPath: golden, adopt: true, owner: other }))).rejects.toThrow(
      /ERROR_ALREADY_EXISTS .*managed by another resource, urn:.*::web /,
    );
    // And an import by that other resource is refused the same way, leaving the record as it was.
    const intruder = await checked({ imagePath: inputs.imagePath, parentPath: golden, owner: other });
    await expect(provider.read(inputs.imagePath, intruder as unknown as DiskState)).rejects.toThrow(/ERROR_ALREADY_EXISTS .*::web /);
    expect(JSON.parse(readFileSync(join(dir, ".web.vhd.pulumi-vhd-owner"), "utf8"))).toMatchObject({ owner });
  });

  it("notes a file that is not a VHD at all the same way (foundUniqueId null), instead of failing", async () => {
    const { inputs, state } = await created({ imagePath: join(dir, "web.vhd"), parentPath: golden });
    writeFileSync(state.imagePath, "a text file now\n");
    const read = await provider.read(state.imagePath, state);
    expect(read.props).toMatchObject({ uniqueId: state.uniqueId, foundUniqueId: null });
    const diff = await provider.diff(state.imagePath, state, await rechecked(inputs));
    expect(diff).toMatchObject({ changes: true, replaces: ["imagePath"], deleteBeforeReplace: true });
  });

  it("drops a disk deleted outside Pulumi (empty id)", async () => {
    const { state } = await created({ imagePath: join(dir, "web.vhd"), parentPath: golden });
    rmSync(state.imagePath);
    expect(await provider.read(state.imagePath, state)).toEqual({ id: "" });
  });

  it("keeps the recorded disk but notes a file replaced outside Pulumi, so the next diff replaces it", async () => {
    const { inputs, state } = await created({ imagePath: join(dir, "web.vhd"), parentPath: golden });
    rmSync(state.imagePath);
    const impostor = await createDifferencingDisk({ imagePath: state.imagePath, parentPath: golden, pathRules: "posix" });
    const read = await provider.read(state.imagePath, state);
    expect(read.props).toMatchObject({ uniqueId: state.uniqueId, foundUniqueId: impostor.uniqueId });
    const diff = await provider.diff(state.imagePath, read.props as DiskState, await rechecked(inputs));
    expect(diff).toMatchObject({ changes: true, replaces: ["imagePath"], deleteBeforeReplace: true });
  });

  it("records a relink (the disk's header names another parent than recorded) and rewrites the inputs", async () => {
    const { inputs, state } = await created({ imagePath: join(dir, "web.vhd"), parentPath: golden });
    const recordedElsewhere = { ...state, parentPath: join(dir, "old-golden.vhd"), parentUniqueId: "0".repeat(8) + "-0000-0000-0000-000000000000" };
    const read = await provider.read(state.imagePath, recordedElsewhere);
    expect(read.props).toMatchObject({ parentPath: golden, parentUniqueId: state.parentUniqueId });
    expect(read.inputs).toMatchObject({ parentPath: golden, parentUniqueId: state.parentUniqueId });
    const diff = await provider.diff(state.imagePath, recordedElsewhere, await rechecked(inputs));
    expect(diff.replaces).toEqual(["parentPath", "parentUniqueId"]);
  });

  it("describes a disk read with get (nothing recorded)", async () => {
    const disk = await createDifferencingDisk({ imagePath: join(dir, "found.vhd"), parentPath: golden, pathRules: "posix" });
    const read = await provider.read(join(dir, "found.vhd"), {});
    expect(read.props).toMatchObject({ uniqueId: disk.uniqueId, parentPath: golden, parentChecksum: sha256(golden), chainDepth: 1 });
  });

  it("refuses get by the id of a disk with secret paths (its unique id), saying to give the path as a secret", async () => {
    const disk = await createDifferencingDisk({ imagePath: join(dir, "secret.vhd"), parentPath: golden, pathRules: "posix" });
    const read = provider.read(disk.uniqueId, { imagePath: disk.uniqueId });
    await expect(read).rejects.toThrow(/^E_INVALIDARG \(0x80070057\): .*unique id.*give DifferencingDisk\.get the disk's absolute path, as a secret/);
  });
});

describe("delete", () => {
  it("removes exactly the one file, and treats an already deleted disk as success", async () => {
    const { state } = await created({ imagePath: join(dir, "web.vhd"), parentPath: golden });
    const goldenBefore = sha256(golden);
    await provider.remove(state.imagePath, state);
    expect(readdirSync(dir).sort()).toEqual(["golden.vhd", "hash-stats.jsonl"]);
    expect(sha256(golden)).toBe(goldenBefore);
    await expect(provider.remove(state.imagePath, state)).resolves.toBeUndefined();
  });

  it("refuses to delete a file that is not the disk it created, and leaves it", async () => {
    const { state } = await created({ imagePath: join(dir, "web.vhd"), parentPath: golden });
    rmSync(state.imagePath);
    await createDifferencingDisk({ imagePath: state.imagePath, parentPath: golden, pathRules: "posix" });
    await expect(provider.remove(state.imagePath, state)).rejects.toThrow(
      /^ERROR_ACCESS_DENIED \(0x80070005\): imagePath ".*web\.vhd": the file is not the disk this resource created/,
    );
    expect(existsSync(state.imagePath)).toBe(true);
  });

  it("refuses, listing them, while other disks in its folder use it as parent", async () => {
    const { state: web } = await created({ imagePath: join(dir, "web.vhd"), parentPath: golden });
    await createDifferencingDisk({ imagePath: join(dir, "child-b.vhd"), parentPath: web.imagePath, pathRules: "posix" });
    await createDifferencingDisk({ imagePath: join(dir, "child-a.vhd"), parentPath: web.imagePath, pathRules: "posix" });
    await expect(provider.remove(web.imagePath, web)).rejects.toThrow(
      `ERROR_SHARING_VIOLATION (0x80070020): imagePath "${web.imagePath}": the disk is still the parent of ` +
        `${join(dir, "child-a.vhd")}, ${join(dir, "child-b.vhd")}`,
    );
    expect(existsSync(web.imagePath)).toBe(true);
  });
});

describe("folders create made, shared by sibling disks", () => {
  it("go with whichever disk is deleted last, also when the disk that made them goes first", async () => {
    const outer = join(dir, "new");
    const folder = join(outer, "vms");
    const { state: first } = await created({ imagePath: join(folder, "first.vhd"), parentPath: golden });
    const { state: second } = await created({ imagePath: join(folder, "second.vhd"), parentPath: golden });
    expect(first.createdFolders).toEqual([outer, folder]);
    expect(second.createdFolders).toEqual([]);
    await provider.remove(first.imagePath, first);
    expect(readdirSync(folder).sort()).toEqual([".pulumi-vhd-folder", "second.vhd"]);
    await provider.remove(second.imagePath, second);
    expect(existsSync(outer)).toBe(false);
    expect(readdirSync(dir).sort()).toEqual(["golden.vhd", "hash-stats.jsonl"]);
  });

  it("stay while they hold anything else, and a folder create did not make is never removed", async () => {
    const folder = join(dir, "vms");
    const { state: made } = await created({ imagePath: join(folder, "a.vhd"), parentPath: golden });
    writeFileSync(join(folder, "notes.txt"), "the user's\n");
    await provider.remove(made.imagePath, made);
    expect(readdirSync(folder).sort()).toEqual([".pulumi-vhd-folder", "notes.txt"]);

    const existing = join(dir, "existing");
    mkdirSync(existing);
    const { state: inExisting } = await created({ imagePath: join(existing, "b.vhd"), parentPath: golden });
    const { state: sibling } = await created({ imagePath: join(existing, "c.vhd"), parentPath: golden });
    await provider.remove(inExisting.imagePath, inExisting);
    await provider.remove(sibling.imagePath, sibling);
    expect(readdirSync(existing)).toEqual([]);
  });

  it("a disk taken back right after it was made (a create failing late) takes its folders and their record along", async () => {
    const outer = join(dir, "new");
    const made = await createDifferencingDisk({ imagePath: join(outer, "vms", "a.vhd"), parentPath: golden, pathRules: "posix" });
    await recordCreatedFolders(localStorage, made.createdFolders);
    await discardNewDisk(made.path, []);
    expect(existsSync(outer)).toBe(false);
  });
});

describe("protectParent and update", () => {
  it("makes the parent read-only while children exist, and writable again after the last one", async () => {
    chmodSync(golden, 0o644);
    const { state: a } = await created({ imagePath: join(dir, "a.vhd"), parentPath: golden, protectParent: true });
    expect(statSync(golden).mode & 0o777).toBe(0o444);
    expect(a.parentModeBeforeProtect).toBe(0o644);
    // In another folder: the holds record beside the parent knows it wherever it is.
    const { state: b } = await created({ imagePath: join(dir, "elsewhere", "b.vhd"), parentPath: golden, protectParent: true });
    expect(b.parentModeBeforeProtect).toBe(0o644);
    await provider.remove(a.imagePath, a);
    expect(statSync(golden).mode & 0o777).toBe(0o444);
    await provider.remove(b.imagePath, b);
    // b was the last holder: the parent gets its mode back, as the README promises.
    expect(statSync(golden).mode & 0o777).toBe(0o644);
    // No holds record left beside the parent, and the folder create made for b is gone with it.
    expect(readdirSync(dir).filter((file) => file !== "hash-stats.jsonl")).toEqual(["golden.vhd"]);
  });

  it("a holder whose disk was deleted outside Pulumi holds nothing", async () => {
    chmodSync(golden, 0o644);
    const { state: a } = await created({ imagePath: join(dir, "a.vhd"), parentPath: golden, protectParent: true });
    const { state: b } = await created({ imagePath: join(dir, "b.vhd"), parentPath: golden, protectParent: true });
    rmSync(b.imagePath);
    await provider.remove(a.imagePath, a);
    expect(statSync(golden).mode & 0o777).toBe(0o644);
  });

  it("undoes protection when the only child is deleted; the chmod costs one re-hash, never a diff", async () => {
    chmodSync(golden, 0o640);
    const { inputs, state } = await created({ imagePath: join(dir, "a.vhd"), parentPath: golden, protectParent: true });
    expect(statSync(golden).mode & 0o777).toBe(0o440);
    // The stored inputs carry the fingerprint from before the chmod (ctime moved): the next run hashes once, finds
    // the same checksum, plans nothing, and the inputs it stores carry the new fingerprint.
    const hashedAtCreate = bytesHashed();
    vi.resetModules();
    const nextRun = (await import("../../provider/resource/provider")) as typeof provider;
    const rechecked = (await nextRun.check(inputs, { ...inputs })).inputs as DiskInputs;
    expect(await nextRun.diff(state.imagePath, state, rechecked)).toMatchObject({ changes: false });
    expect(bytesHashed()).toBe(hashedAtCreate + statSync(golden).size);
    vi.resetModules();
    const runAfter = (await import("../../provider/resource/provider")) as typeof provider;
    await runAfter.check(rechecked, { ...inputs });
    expect(bytesHashed()).toBe(hashedAtCreate + statSync(golden).size);

    await provider.remove(state.imagePath, state);
    expect(statSync(golden).mode & 0o777).toBe(0o640);
  });

  it("update under a new URN (stack or resource renamed) moves the ownership record along, so delete still works", async () => {
    const before = "urn:pulumi:old::p::pulumi-nodejs:dynamic/vhd:DifferencingDisk::a";
    const after = "urn:pulumi:renamed::p::pulumi-nodejs:dynamic/vhd:DifferencingDisk::a";
    const { inputs, state } = await created({ imagePath: join(dir, "a.vhd"), parentPath: golden, owner: before });
    const news = await rechecked({ ...inputs, owner: after }, { protectParent: true, owner: after });
    const { outs } = await provider.update(state.imagePath, state, news);
    expect(outs).toMatchObject({ owner: after });
    expect(JSON.parse(readFileSync(join(dir, ".a.vhd.pulumi-vhd-owner"), "utf8"))).toMatchObject({ owner: after });
    await provider.remove(state.imagePath, outs as DiskState);
    expect(existsSync(state.imagePath)).toBe(false);
    expect(readdirSync(dir).filter((file) => file.includes("a.vhd"))).toEqual([]);
  });

  it("a record naming this resource in another stack (a stack rename not yet followed by an update) is refused, saying how to go on", async () => {
    const type = "p::pulumi-nodejs:dynamic/vhd:DifferencingDisk";
    const before = `urn:pulumi:old::${type}::a`;
    const after = `urn:pulumi:renamed::${type}::a`;
    const { state } = await created({ imagePath: join(dir, "a.vhd"), parentPath: golden, owner: before });
    const record = join(dir, ".a.vhd.pulumi-vhd-owner");
    // The takeover after an interrupted up, now under the new stack name: the same project, type and name.
    const again = await checked({ imagePath: state.imagePath, parentPath: golden, owner: after });
    await expect(provider.create(again)).rejects.toThrow(
      `managed by another resource, ${before} (ownership record ${record}); one disk has one owner: that is this resource ` +
        `in stack "old": if "old" is another stack of this project, it owns the disk (choose another imagePath per stack); ` +
        `if this stack was renamed from it (\`pulumi stack rename\`), remove that record and set \`adopt: true\` for one \`up\``,
    );
    // Another resource of the other stack gets the plain refusal.
    const other = await checked({ imagePath: state.imagePath, parentPath: golden, adopt: true, owner: `urn:pulumi:renamed::${type}::b` });
    await expect(provider.create(other)).rejects.toThrow(/one disk has one owner: choose another imagePath, or remove that resource first$/);
    // The way out it names, after a rename: the record removed, the disk adopted under the new name, and then deleted.
    rmSync(record);
    const { outs } = await provider.create(await checked({ imagePath: state.imagePath, parentPath: golden, adopt: true, owner: after }));
    expect(outs).toMatchObject({ uniqueId: state.uniqueId, owner: after });
    expect(JSON.parse(readFileSync(record, "utf8"))).toEqual({ owner: after, uniqueId: state.uniqueId });
    await provider.remove(state.imagePath, outs as DiskState);
    expect(existsSync(state.imagePath)).toBe(false);
  });

  it("update applies protectParent in place and returns the full outputs", async () => {
    chmodSync(golden, 0o644);
    const { inputs, state } = await created({ imagePath: join(dir, "a.vhd"), parentPath: golden });
    const news = await rechecked(inputs, { protectParent: true });
    // A settings-only update leaves `changes` to the engine, which then finds the changed keys (replaceOnChanges);
    // should that make it a replace, the old disk goes first (the new one takes the same path).
    expect(await provider.diff(state.imagePath, state, news)).toEqual({ changes: undefined, replaces: [], deleteBeforeReplace: true });
    const { outs } = await provider.update(state.imagePath, state, news);
    expect(outs).toEqual({ ...state, protectParent: true, parentModeBeforeProtect: 0o644 });
    expect(statSync(golden).mode & 0o777).toBe(0o444);
    const off = await provider.update(state.imagePath, outs as DiskState, { ...news, protectParent: false });
    expect(off.outs).toMatchObject({ protectParent: false, parentModeBeforeProtect: null });
    expect(statSync(golden).mode & 0o777).toBe(0o644);
  });
});

describe("relink (the parent moved)", () => {
  it("plans an update, not a replace, for the same parent at a new path; update relinks and keeps the data", async () => {
    const { inputs, state } = await created({ imagePath: join(dir, "vms", "a.vhd"), parentPath: golden });
    await writeAt(state.imagePath, MiB, Buffer.alloc(8192, 0x7e));
    const moved = join(dir, "images", "golden-moved.vhd");
    execFileSync("mkdir", ["-p", join(dir, "images")]);
    execFileSync("mv", [golden, moved]);
    try {
      const news = await rechecked(inputs, { parentPath: moved });
      expect(news.relink).toBe("same parent at a new path");
      // No replace; the engine finds the changed inputs (parentPath, relink) itself and plans an update. (Delete first
      // only matters if replaceOnChanges turns the update into a replace at the same path.)
      expect(await provider.diff(state.imagePath, state, news)).toEqual({ changes: undefined, replaces: [], deleteBeforeReplace: true });
      const { outs } = await provider.update(state.imagePath, state, news);
      expect(outs).toMatchObject({ uniqueId: state.uniqueId, parentPath: moved, chain: [moved], parentChecksum: state.parentChecksum });
      expect(outs).not.toHaveProperty("relink");
      const again = await rechecked(news);
      expect(again.relink).toBeUndefined();
      expect(await provider.diff(state.imagePath, outs as DiskState, again)).toMatchObject({ changes: false });
      expect((await provider.read(state.imagePath, outs as DiskState)).inputs).toBeUndefined();
    } finally {
      execFileSync("mv", [moved, golden]);
    }
  });

  it("still replaces when the moved parent's content changed too, and update refuses a parent changed after the plan", async () => {
    const { inputs, state } = await created({ imagePath: join(dir, "a.vhd"), parentPath: golden });
    const copy = join(dir, "golden-copy.vhd");
    execFileSync("cp", [golden, copy]);
    const news = await rechecked(inputs, { parentPath: copy });
    expect(news.relink).toBe("same parent at a new path");
    const planned = await provider.diff(state.imagePath, state, news);
    expect(planned).toMatchObject({ replaces: [] });
    // Changed between preview and up: the update re-checks and refuses, leaving the disk as it was.
    await writeAt(copy, 0, Buffer.alloc(512, 1));
    const before = sha256(state.imagePath);
    await expect(provider.update(state.imagePath, state, news)).rejects.toThrow(/ERROR_VHD_CHILD_PARENT_ID_MISMATCH \(0xC03A000E\): parentPath/);
    expect(sha256(state.imagePath)).toBe(before);
    const changed = await rechecked(inputs, { parentPath: copy });
    expect(changed.relink).toBeUndefined();
    expect((await provider.diff(state.imagePath, state, changed)).replaces).toEqual(["parentPath", "parentChecksum"]);
  });

  it("keeps the disk below a relinked middle disk: it plans nothing, then records the moved ancestor in place", async () => {
    const { inputs: aInputs, state: a } = await created({ imagePath: join(dir, "vms", "a.vhd"), parentPath: golden });
    await writeAt(a.imagePath, MiB, Buffer.alloc(8192, 0x7e));
    const { inputs: bInputs, state: b } = await created({ imagePath: "b.vhd", parentPath: a.imagePath });
    await writeAt(b.imagePath, 2 * MiB, Buffer.alloc(8192, 0x3c));
    expect(b.parentChecksum).toMatch(/^sha256-unlinked:[0-9a-f]{64}$/);
    const moved = join(dir, "images", "golden-moved.vhd");
    execFileSync("mkdir", ["-p", join(dir, "images")]);
    execFileSync("mv", [golden, moved]);
    try {
      // The preview, before a is relinked: a's link names a path with no file; b rests on a's own facts.
      const pending = await rechecked(bInputs);
      expect(pending).toMatchObject({ parentChecksum: b.parentChecksum, ancestors: null });
      expect(await provider.diff(b.imagePath, b, pending)).toMatchObject({ changes: false });
      const aNews = await rechecked(aInputs, { parentPath: moved });
      await provider.update(a.imagePath, a, aNews);
      // After the relink: a's file changed (its plain SHA-256), not what b recorded of it.
      const news = await rechecked(bInputs);
      expect(news.parentChecksum).toBe(b.parentChecksum);
      expect(news.ancestors).toEqual({ [moved]: { uniqueId: b.ancestors?.[golden]?.uniqueId, size: b.ancestors?.[golden]?.size, checksum: sha256(moved) } });
      expect(await provider.diff(b.imagePath, b, news)).toMatchObject({ changes: true, replaces: [] });
      const { outs } = await provider.update(b.imagePath, b, news);
      expect(outs).toMatchObject({ uniqueId: b.uniqueId, chain: [a.imagePath, moved], ancestors: { [moved]: { checksum: sha256(moved) } } });
      expect(await provider.diff(b.imagePath, outs as DiskState, await rechecked(news))).toMatchObject({ changes: false });
      // A data write into a (into its allocated block: same size) still invalidates b.
      await writeAt(a.imagePath, MiB + 16384, Buffer.alloc(512, 1));
      expect((await provider.diff(b.imagePath, outs as DiskState, await rechecked(news))).replaces).toEqual(["parentChecksum"]);
    } finally {
      execFileSync("mv", [moved, golden]);
    }
  });

  it("reads state of an earlier version (a plain checksum of a differencing parent): updated while it holds, else replaced", async () => {
    const { state: a } = await created({ imagePath: join(dir, "a.vhd"), parentPath: golden });
    const { inputs, state } = await created({ imagePath: "b.vhd", parentPath: a.imagePath });
    const plain = sha256(a.imagePath);
    const oldInputs = { ...inputs, parentChecksum: plain };
    const oldState = { ...state, parentChecksum: plain };
    const news = await rechecked(oldInputs);
    expect(news.parentChecksum).toBe(state.parentChecksum);
    expect(await provider.diff(state.imagePath, oldState, news)).toMatchObject({ changes: true, replaces: [] });
    expect((await provider.update(state.imagePath, oldState, news)).outs).toMatchObject({ parentChecksum: state.parentChecksum });
    // A plain checksum that no longer holds is compared as plain: old -> new, a replace with its reason.
    await writeAt(a.imagePath, 0, Buffer.alloc(512, 1));
    const changed = await rechecked(oldInputs);
    expect(changed.parentChecksum).toBe(sha256(a.imagePath));
    // (The write allocated a block in a, so its size changed too.)
    expect((await provider.diff(state.imagePath, oldState, changed)).replaces).toEqual(["parentSize", "parentChecksum"]);
  });
});
