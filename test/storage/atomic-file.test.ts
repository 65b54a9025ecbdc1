import { lstat, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createFileAtomically as createOn, type AtomicFileOptions, type FileWriter } from "../../provider/storage/atomic-create";
import { localStorage } from "../../provider/storage/local/local-storage";

/** On this machine's storage: these tests prove the local adapter's exclusive create and no-clobber publish. */
function createFileAtomically<T>(target: string, write: FileWriter<T>, options: Omit<AtomicFileOptions, "storage"> = {}): Promise<T> {
  return createOn(target, write, { storage: localStorage, ...options });
}

let folder: string;
beforeEach(async () => {
  folder = await mkdtemp(join(tmpdir(), "vhd-atomic-"));
});
afterEach(async () => {
  await rm(folder, { recursive: true, force: true });
});

const payload = Buffer.from("a finished disk image\n");

describe("createFileAtomically", () => {
  it("publishes the written bytes at the target, mode 0644, and leaves no temporary file", async () => {
    const target = join(folder, "child.vhd");
    const returned = await createFileAtomically(target, async (file) => {
      await file.write(0, payload);
      return "done";
    });
    expect(returned).toBe("done");
    expect(await readFile(target)).toEqual(payload);
    expect((await stat(target)).mode & 0o777).toBe(0o644 & ~process.umask());
    expect((await stat(target)).nlink).toBe(1);
    expect(await readdir(folder)).toEqual(["child.vhd"]);
  });

  it("writes into a hidden temporary file named after the target, in the target's folder", async () => {
    const target = join(folder, "child.vhd");
    let seenDuringWrite: string[] = [];
    await createFileAtomically(target, async () => {
      seenDuringWrite = await readdir(folder);
    });
    expect(seenDuringWrite).toHaveLength(1);
    expect(seenDuringWrite[0]).toMatch(/^\.child\.vhd\.[0-9a-f]{12}\.[0-9a-f]{8}-\d+\.tmp$/);
  });

  it("leaves nothing behind when the writer fails, and passes its error on", async () => {
    const target = join(folder, "child.vhd");
    const injected = new Error("injected failure halfway through");
    const creating = createFileAtomically(target, async (file) => {
      await file.write(0, payload);
      throw injected;
    });
    await expect(creating).rejects.toBe(injected);
    expect(await readdir(folder)).toEqual([]);
  });

  it("leaves nothing behind when cancelled during the write", async () => {
    const target = join(folder, "child.vhd");
    const controller = new AbortController();
    const creating = createFileAtomically(
      target,
      async (file) => {
        await file.write(0, payload);
        controller.abort();
      },
      { signal: controller.signal },
    );
    await expect(creating).rejects.toMatchObject({ code: "VM_E_APP_SHUTTING_DOWN", path: target });
    expect(await readdir(folder)).toEqual([]);
  });

  it("in a missing folder: ERROR_PATH_NOT_FOUND about the target, its message never naming the temporary file", async () => {
    const target = join(folder, "missing", "copy.raw");
    const failure = createFileAtomically(target, async () => undefined, { parameter: "target" });
    await expect(failure).rejects.toMatchObject({ code: "ERROR_PATH_NOT_FOUND", parameter: "target", path: target });
    const message = await failure.catch((error: unknown) => (error as Error).message);
    expect(message).toContain(target);
    expect(message).not.toMatch(/\.tmp/);
  });

  it("refuses an existing file without calling the writer or touching it", async () => {
    const target = join(folder, "child.vhd");
    await writeFile(target, "someone else's data");
    let called = false;
    const creating = createFileAtomically(target, async () => {
      called = true;
    });
    await expect(creating).rejects.toMatchObject({ code: "ERROR_ALREADY_EXISTS", parameter: "imagePath", path: target });
    await expect(creating).rejects.toThrow(/0x800700B7/);
    expect(called).toBe(false);
    expect(await readFile(target, "utf8")).toBe("someone else's data");
    expect(await readdir(folder)).toEqual(["child.vhd"]);
  });

  it("refuses a symbolic link at the target, leaving the link and the file it points to untouched", async () => {
    const victim = join(folder, "victim.bin");
    await writeFile(victim, "precious");
    const target = join(folder, "child.vhd");
    await symlink(victim, target);
    await expect(createFileAtomically(target, async () => undefined)).rejects.toMatchObject({
      code: "ERROR_ALREADY_EXISTS",
      message: expect.stringMatching(/symbolic link/),
    });
    expect((await lstat(target)).isSymbolicLink()).toBe(true);
    expect(await readlink(target)).toBe(victim);
    expect(await readFile(victim, "utf8")).toBe("precious");
  });

  it("refuses a dangling symbolic link and does not create the file it points to", async () => {
    const pointee = join(folder, "elsewhere.vhd");
    const target = join(folder, "child.vhd");
    await symlink(pointee, target);
    await expect(createFileAtomically(target, async () => undefined)).rejects.toMatchObject({
      code: "ERROR_ALREADY_EXISTS",
    });
    await expect(lstat(pointee)).rejects.toMatchObject({ code: "ENOENT" });
    expect(await readdir(folder)).toEqual(["child.vhd"]);
  });

  it("loses cleanly to a file that appears at the target while writing", async () => {
    const target = join(folder, "child.vhd");
    const creating = createFileAtomically(target, async (file) => {
      await file.write(0, payload);
      await writeFile(target, "the racer's data");
    });
    await expect(creating).rejects.toMatchObject({ code: "ERROR_ALREADY_EXISTS" });
    expect(await readFile(target, "utf8")).toBe("the racer's data");
    expect(await readdir(folder)).toEqual(["child.vhd"]);
  });

  it("lets exactly one of many concurrent creators win", async () => {
    const target = join(folder, "child.vhd");
    const attempts = Array.from({ length: 8 }, (_, index) =>
      createFileAtomically(target, async (file) => {
        const data = Buffer.from(`writer ${index}`);
        await file.write(0, data);
        return index;
      }),
    );
    const results = await Promise.allSettled(attempts);
    const winners = results.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
    expect(winners).toHaveLength(1);
    for (const result of results) {
      if (result.status === "rejected") expect(result.reason).toMatchObject({ code: "ERROR_ALREADY_EXISTS" });
    }
    expect(await readFile(target, "utf8")).toBe(`writer ${winners[0]}`);
    expect(await readdir(folder)).toEqual(["child.vhd"]);
  });

  it("reports a missing folder as ERROR_PATH_NOT_FOUND", async () => {
    const target = join(folder, "no-such-folder", "child.vhd");
    await expect(createFileAtomically(target, async () => undefined)).rejects.toMatchObject({
      code: "ERROR_PATH_NOT_FOUND",
      path: target,
    });
  });
});
