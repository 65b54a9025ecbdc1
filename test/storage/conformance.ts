/**
 * What every storage adapter must do the way a local POSIX file system does, as one suite any adapter runs:
 * `describeStorageConformance("ssh", makeFixture)`. The fixture gives a storage, a fresh folder on it, and the few
 * things the port deliberately cannot do (make a symbolic link, edit a file behind the storage's back keeping its
 * mtime, read permission bits), which a test needs to set up a case.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, openSync, rmSync, statSync, symlinkSync, writeSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isVhdError, type ErrorName } from "../../provider/errors";
import type { Storage } from "../../provider/storage/port";
import { fileIdentity, fingerprintKey, modifiedDate } from "../../provider/storage/facts";

/** One test's storage and folder. */
export interface ConformanceFixture {
  storage: Storage;
  /** An existing, empty folder on the storage, in the storage's path flavour. */
  root: string;
  /** Joins names onto `root` in the storage's path flavour. */
  join(...names: string[]): string;
  /** Makes a symbolic link at `linkPath` pointing to `target` (which need not exist). */
  symlink(target: string, linkPath: string): Promise<void>;
  /** Overwrites bytes of an existing file without going through the storage, then restores its mtime (`touch -r`). */
  editKeepingMtime(path: string, offset: number, bytes: Uint8Array): Promise<void>;
  /** The permission bits of a file (`mode & 0o7777`). */
  modeOf(path: string): Promise<number>;
  /** Removes everything the test made. */
  cleanup(): Promise<void>;
}

/** Resolves when `promise` rejects with a VhdError of `code`; fails the test otherwise. */
export async function expectVhdError(promise: Promise<unknown>, code: ErrorName): Promise<Error> {
  const error = await promise.then(
    () => new Error(`expected ${code}, but the call succeeded`),
    (caught: unknown) => caught as Error,
  );
  expect(isVhdError(error) ? error.code : error.message).toBe(code);
  return error;
}

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

async function writeFile(storage: Storage, path: string, content: Uint8Array): Promise<void> {
  const file = await storage.createExclusive(path);
  await file.write(0, content);
  await file.sync();
  await file.close();
}

async function readAll(storage: Storage, path: string): Promise<Buffer> {
  const file = await storage.open(path);
  try {
    return Buffer.from(await file.read(0, file.size));
  } finally {
    await file.close();
  }
}

/**
 * Registers the conformance tests for one adapter. `makeFixture` runs before each test; `unavailable` says why the
 * adapter cannot run here (the tests are then skipped with that reason).
 */
export function describeStorageConformance(
  name: string,
  makeFixture: () => Promise<ConformanceFixture>,
  unavailable: () => string | undefined = () => undefined,
): void {
  describe(`storage conformance: ${name}`, () => {
    let fx: ConformanceFixture;
    let made = false;
    beforeEach(async (context) => {
      const reason = unavailable();
      if (reason !== undefined) return context.skip(reason);
      fx = await makeFixture();
      made = true;
    });
    afterEach(async () => {
      if (made) await fx.cleanup();
      made = false;
    });

    it("createExclusive makes a new file that reads back what was written, zeros past its end", async () => {
      const path = fx.join("a.bin");
      const file = await fx.storage.createExclusive(path);
      expect(file.size).toBe(0);
      await file.write(3, bytes("xyz"));
      expect(file.size).toBe(6);
      const back = await file.read(0, 10);
      expect(Buffer.from(back)).toEqual(Buffer.from([0, 0, 0, 120, 121, 122, 0, 0, 0, 0]));
      await file.sync();
      await file.close();
      await file.close();
      expect(await fx.storage.pathFacts(path)).toMatchObject({ kind: "file", size: 6 });
    });

    it("a large write and read cross many requests and keep every byte in place", async () => {
      const path = fx.join("big.bin");
      const content = createHash("sha512").update("seed").digest();
      const large = Buffer.alloc(3 * 1024 * 1024 + 17);
      for (let offset = 0; offset < large.length; offset += content.length) content.copy(large, offset);
      const file = await fx.storage.createExclusive(path);
      await file.write(5, large);
      await file.close();
      const reopened = await fx.storage.open(path);
      expect(reopened.size).toBe(large.length + 5);
      const target = new Uint8Array(large.length + 9);
      await reopened.read(5, large.length, target, 4);
      expect(Buffer.from(target.subarray(4, 4 + large.length)).equals(large)).toBe(true);
      await reopened.close();
    });

    it("writeGathered writes its chunks back to back, as one write of their concatenation (an empty chunk writes nothing)", async () => {
      const path = fx.join("gathered.bin");
      const chunks = [bytes("ab"), new Uint8Array(0), Buffer.alloc(300 * 1024, 7), bytes("cde")];
      const file = await fx.storage.createExclusive(path);
      await file.writeGathered(4, chunks);
      expect(file.size).toBe(4 + 2 + 300 * 1024 + 3);
      expect(Buffer.from(await file.read(0, file.size)).equals(Buffer.concat([Buffer.alloc(4), ...chunks]))).toBe(true);
      await file.close();
    });

    it("createExclusive refuses an existing file and leaves it unchanged", async () => {
      const path = fx.join("taken.bin");
      await writeFile(fx.storage, path, bytes("keep"));
      await expectVhdError(fx.storage.createExclusive(path), "ERROR_ALREADY_EXISTS");
      expect((await readAll(fx.storage, path)).toString()).toBe("keep");
    });

    it("createExclusive refuses a symbolic link, dangling or not, and creates nothing at its target", async () => {
      const target = fx.join("target.bin");
      const dangling = fx.join("dangling.lnk");
      await fx.symlink(target, dangling);
      await expectVhdError(fx.storage.createExclusive(dangling), "ERROR_ALREADY_EXISTS");
      expect((await fx.storage.pathFacts(target)).kind).toBe("missing");
      await writeFile(fx.storage, target, bytes("t"));
      const live = fx.join("live.lnk");
      await fx.symlink(target, live);
      await expectVhdError(fx.storage.createExclusive(live), "ERROR_ALREADY_EXISTS");
    });

    it("createExclusive in a missing folder is ERROR_PATH_NOT_FOUND", async () => {
      await expectVhdError(fx.storage.createExclusive(fx.join("nope", "a.bin")), "ERROR_PATH_NOT_FOUND");
    });

    it("open: a missing file is ERROR_PATH_NOT_FOUND, a folder ERROR_INVALID_NAME", async () => {
      await expectVhdError(fx.storage.open(fx.join("missing.bin")), "ERROR_PATH_NOT_FOUND");
      await fx.storage.mkdir(fx.join("folder"));
      await expectVhdError(fx.storage.open(fx.join("folder")), "ERROR_INVALID_NAME");
    });

    it("a file cut through another handle while open: a read within the size it had fails naming it, never reads zeros", async () => {
      const path = fx.join("cut.bin");
      await writeFile(fx.storage, path, Buffer.alloc(3 * 1024 * 1024, 7));
      const reader = await fx.storage.open(path, { parameter: "source" });
      const cutter = await fx.storage.open(path, { writable: true });
      await cutter.truncate(1024 * 1024);
      await cutter.close();
      expect(Buffer.from(await reader.read(0, 4096)).equals(Buffer.alloc(4096, 7))).toBe(true);
      const error = await expectVhdError(reader.read(1024 * 1024 - 512, 1024 * 1024), "ERROR_VHD_METADATA_READ_FAILURE");
      expect(error).toMatchObject({ parameter: "source" });
      expect(error.message).toContain(JSON.stringify(fx.storage.describe(path)));
      expect(error.message).toContain("cut it while in use");
      // Past the size it had, zeros as ever (a sparse tail).
      expect(Buffer.from(await reader.read(3 * 1024 * 1024, 100)).equals(Buffer.alloc(100))).toBe(true);
      await reader.close();
    });

    it("a writable open writes in place; truncate shortens and extends with zeros", async () => {
      const path = fx.join("rw.bin");
      await writeFile(fx.storage, path, bytes("abcdef"));
      const file = await fx.storage.open(path, { writable: true });
      await file.write(1, bytes("B"));
      await file.truncate(4);
      expect(file.size).toBe(4);
      await file.truncate(6);
      await file.close();
      expect(await readAll(fx.storage, path)).toEqual(Buffer.from([97, 66, 99, 100, 0, 0]));
    });

    it("the same file opened twice has one identity; another file has another", async () => {
      const a = fx.join("id-a.bin");
      const b = fx.join("id-b.bin");
      await writeFile(fx.storage, a, bytes("a"));
      await writeFile(fx.storage, b, bytes("b"));
      const [a1, a2, b1] = await Promise.all([fx.storage.open(a), fx.storage.open(a), fx.storage.open(b)]);
      const [idA1, idA2, idB1] = await Promise.all([a1.identity(), a2.identity(), b1.identity()]);
      expect(idA1).toBe(idA2);
      expect(idA1).not.toBe(idB1);
      // The form the chain walk compares a parent candidate's fingerprint with (disk/chain.ts, storage/facts.ts).
      expect(idA1).toBe(fileIdentity(await fx.storage.fingerprint(a)));
      expect(await a1.identity()).toBe(idA1);
      await Promise.all([a1.close(), a2.close(), b1.close()]);
    });

    it("publishNoClobber publishes, never overwrites, and keeps the temporary file when refused", async () => {
      const temp = fx.join(".a.tmp");
      const target = fx.join("a.vhd");
      await writeFile(fx.storage, temp, bytes("new"));
      await fx.storage.publishNoClobber(temp, target);
      expect((await readAll(fx.storage, target)).toString()).toBe("new");
      expect((await fx.storage.pathFacts(temp)).kind).toBe("missing");
      const second = fx.join(".b.tmp");
      await writeFile(fx.storage, second, bytes("other"));
      await expectVhdError(fx.storage.publishNoClobber(second, target), "ERROR_ALREADY_EXISTS");
      expect((await readAll(fx.storage, target)).toString()).toBe("new");
      expect((await fx.storage.pathFacts(second)).kind).toBe("file");
    });

    it("publishNoClobber refuses a dangling symbolic link at the target", async () => {
      const temp = fx.join(".c.tmp");
      const target = fx.join("c.vhd");
      await fx.symlink(fx.join("nowhere"), target);
      await writeFile(fx.storage, temp, bytes("c"));
      await expectVhdError(fx.storage.publishNoClobber(temp, target), "ERROR_ALREADY_EXISTS");
      expect((await fx.storage.pathFacts(fx.join("nowhere"))).kind).toBe("missing");
    });

    it("replace renames over an existing file", async () => {
      const source = fx.join("record.tmp");
      const target = fx.join("record.json");
      await writeFile(fx.storage, target, bytes("old"));
      await writeFile(fx.storage, source, bytes("new"));
      await fx.storage.replace(source, target);
      expect((await readAll(fx.storage, target)).toString()).toBe("new");
      expect((await fx.storage.pathFacts(source)).kind).toBe("missing");
    });

    it("unlink removes a file; a missing one is ERROR_PATH_NOT_FOUND", async () => {
      const path = fx.join("gone.bin");
      await writeFile(fx.storage, path, bytes("x"));
      await fx.storage.unlink(path);
      expect((await fx.storage.pathFacts(path)).kind).toBe("missing");
      await expectVhdError(fx.storage.unlink(path), "ERROR_PATH_NOT_FOUND");
    });

    it("mkdir, list, rmdir: existing folder refused, non-empty folder kept", async () => {
      const folder = fx.join("sub");
      await fx.storage.mkdir(folder);
      await expectVhdError(fx.storage.mkdir(folder), "ERROR_ALREADY_EXISTS");
      await expectVhdError(fx.storage.mkdir(fx.join("no", "deeper")), "ERROR_PATH_NOT_FOUND");
      await writeFile(fx.storage, fx.join("sub", "x.bin"), bytes("x"));
      await writeFile(fx.storage, fx.join("sub", "y.bin"), bytes("y"));
      expect((await fx.storage.list(folder)).map(({ name }) => name).sort()).toEqual(["x.bin", "y.bin"]);
      // The port leaves the code to the host (the SSH adapter says ERROR_DIR_NOT_EMPTY); the folder must survive.
      expect(isVhdError(await fx.storage.rmdir(folder).catch((error: unknown) => error))).toBe(true);
      expect((await fx.storage.list(folder)).length).toBe(2);
      await fx.storage.unlink(fx.join("sub", "x.bin"));
      await fx.storage.unlink(fx.join("sub", "y.bin"));
      await fx.storage.rmdir(folder);
      expect((await fx.storage.pathFacts(folder)).kind).toBe("missing");
      await expectVhdError(fx.storage.list(folder), "ERROR_PATH_NOT_FOUND");
    });

    it("list names each entry with its kind, a symbolic link as itself", async () => {
      await fx.storage.mkdir(fx.join("folder"));
      await writeFile(fx.storage, fx.join("file.bin"), bytes("f"));
      await fx.symlink("file.bin", fx.join("link.bin"));
      await fx.symlink("nowhere.bin", fx.join("dangling.bin"));
      const entries = (await fx.storage.list(fx.root)).sort((a, b) => a.name.localeCompare(b.name));
      expect(entries).toEqual([
        { name: "dangling.bin", kind: "symlink" },
        { name: "file.bin", kind: "file" },
        { name: "folder", kind: "folder" },
        { name: "link.bin", kind: "symlink" },
      ]);
    });

    it("chmod sets the permission bits", async () => {
      const path = fx.join("mode.bin");
      await writeFile(fx.storage, path, bytes("m"));
      await fx.storage.chmod(path, 0o600);
      expect(await fx.modeOf(path)).toBe(0o600);
      await fx.storage.chmod(path, 0o640);
      expect(await fx.modeOf(path)).toBe(0o640);
    });

    it("pathFacts tells file, folder, symlink, missing and through-file apart", async () => {
      const file = fx.join("f.bin");
      await writeFile(fx.storage, file, bytes("12345"));
      const link = fx.join("l.lnk");
      await fx.symlink(file, link);
      const dangling = fx.join("d.lnk");
      await fx.symlink(fx.join("none"), dangling);
      expect(await fx.storage.pathFacts(file)).toMatchObject({ kind: "file", size: 5 });
      expect(await fx.storage.pathFacts(fx.root)).toMatchObject({ kind: "folder", size: 0 });
      expect(await fx.storage.pathFacts(link)).toMatchObject({ kind: "symlink", size: 0 });
      expect(await fx.storage.pathFacts(link, { followLinks: true })).toMatchObject({ kind: "file", size: 5 });
      expect(await fx.storage.pathFacts(dangling)).toMatchObject({ kind: "symlink", size: 0 });
      expect(await fx.storage.pathFacts(dangling, { followLinks: true })).toMatchObject({ kind: "missing", size: 0 });
      expect(await fx.storage.pathFacts(fx.join("none"))).toMatchObject({ kind: "missing", size: 0 });
      expect(await fx.storage.pathFacts(fx.join("no", "such", "x"))).toMatchObject({ kind: "missing", size: 0 });
      expect(await fx.storage.pathFacts(fx.join("f.bin", "x.vhd"))).toMatchObject({ kind: "through-file", size: 0 });
      // A file's mtime, to the second at least: what a VHD child records of its parent.
      const seconds = (ms: number | undefined): number => Math.floor((ms ?? Number.NaN) / 1000);
      const fingerprinted = modifiedDate(await fx.storage.fingerprint(file)).getTime();
      expect(seconds((await fx.storage.pathFacts(file)).modifiedMs)).toBe(seconds(fingerprinted));
      expect((await fx.storage.pathFacts(fx.root)).modifiedMs).toBeUndefined();
    });

    it("fingerprint: stable while unchanged, and changed by an edit that restores the mtime", async () => {
      const path = fx.join("golden.vhd");
      await writeFile(fx.storage, path, bytes("golden image"));
      const before = await fx.storage.fingerprint(path);
      expect(await fx.storage.fingerprint(path)).toEqual(before);
      expect(before.size).toBe(12);
      await new Promise((resolve) => setTimeout(resolve, 20));
      await fx.editKeepingMtime(path, 0, bytes("G"));
      const after = await fx.storage.fingerprint(path);
      expect(after.mtimeNs).toBe(before.mtimeNs);
      expect(fingerprintKey(after)).not.toBe(fingerprintKey(before));
      await expectVhdError(fx.storage.fingerprint(fx.join("missing")), "ERROR_PATH_NOT_FOUND");
    });

    it("sha256 equals node:crypto's, with zero ranges and progress", async () => {
      const path = fx.join("hash.bin");
      const content = Buffer.alloc(5 * 1024 * 1024 + 3);
      for (let i = 0; i < content.length; i++) content[i] = (i * 7919) & 0xff;
      await writeFile(fx.storage, path, content);
      const plain = await fx.storage.sha256(path);
      expect(plain).toEqual({ sha256: createHash("sha256").update(content).digest("hex"), bytes: content.length });
      const zeroed = Buffer.from(content);
      zeroed.fill(0, 100, 300);
      const seen: number[] = [];
      const ranged = await fx.storage.sha256(path, {
        zeroRanges: [{ offset: 100, length: 200 }],
        onProgress: ({ bytesDone }) => seen.push(bytesDone),
      });
      expect(ranged.sha256).toBe(createHash("sha256").update(zeroed).digest("hex"));
      expect(seen.at(-1)).toBe(content.length);
      await expectVhdError(fx.storage.sha256(fx.join("missing")), "ERROR_PATH_NOT_FOUND");
    });

    it("volumeFacts of a writable folder; syncFolder succeeds", async () => {
      const facts = await fx.storage.volumeFacts(fx.root);
      expect(facts.freeBytes).toBeGreaterThan(0);
      expect(facts.readOnly).toBe(false);
      expect(facts.writable).toBe(true);
      expect(facts.fsType).not.toBe("unknown");
      expect(facts.maxFileSize).toBeGreaterThan(0);
      expect((await fx.storage.volumeFacts(fx.root, { assumeFsType: "fat16" })).maxFileSize).toBe(2 * 1024 ** 3 - 1);
      await fx.storage.syncFolder(fx.root);
    });

    it("volumeFacts with nearestExisting answers for the nearest existing folder up a path not made yet, a file in the way skipped", async () => {
      const asked = fx.join("not", "made", "yet");
      await expectVhdError(fx.storage.volumeFacts(asked), "ERROR_PATH_NOT_FOUND");
      const facts = await fx.storage.volumeFacts(asked, { nearestExisting: true });
      expect(facts).toMatchObject({ folder: fx.root, readOnly: false, writable: true });
      expect(facts.fsType).not.toBe("unknown");
      await writeFile(fx.storage, fx.join("a file"), bytes("x"));
      expect((await fx.storage.volumeFacts(fx.join("a file", "below"), { nearestExisting: true })).folder).toBe(fx.root);
      expect((await fx.storage.volumeFacts(fx.root, { nearestExisting: true })).folder).toBe(fx.root);
    });
  });
}

/**
 * The fixture parts for an adapter whose files are also this machine's files (the local adapter, and the SSH adapter
 * against a loopback sshd): links, edits with the mtime put back by GNU `touch -r`, and modes, through node:fs.
 */
export function nodeFsFixtureParts(root: string): Pick<ConformanceFixture, "symlink" | "editKeepingMtime" | "modeOf" | "cleanup"> {
  return {
    symlink: async (target, linkPath) => symlinkSync(target, linkPath),
    editKeepingMtime: async (path, offset, content) => {
      const reference = `${path}.mtime-ref`;
      execFileSync("touch", ["-r", path, reference]);
      const fd = openSync(path, "r+");
      writeSync(fd, content, 0, content.length, offset);
      closeSync(fd);
      execFileSync("touch", ["-r", reference, path]);
      rmSync(reference);
    },
    modeOf: async (path) => statSync(path).mode & 0o7777,
    cleanup: async () => rmSync(root, { recursive: true, force: true }),
  };
}
