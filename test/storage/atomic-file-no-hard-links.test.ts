import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createFileAtomically } from "../../provider/storage/atomic-create";

// Supplements atomic-file.test.ts: a real file system, but `link` answers as on FAT or SMB (no hard links), so the
// claim-then-rename fallback runs. Everything else is the real node:fs.
const linkAttempts = vi.hoisted(() => ({ count: 0 }));
vi.mock("node:fs/promises", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:fs/promises")>();
  const link = async (): Promise<void> => {
    linkAttempts.count += 1;
    throw Object.assign(new Error("EPERM: operation not permitted, link"), { code: "EPERM" });
  };
  return { ...real, link, default: { ...real, link } };
});

let folder: string;
beforeEach(async () => {
  folder = await mkdtemp(join(tmpdir(), "vhd-atomic-nolink-"));
  linkAttempts.count = 0;
});
afterEach(async () => {
  await rm(folder, { recursive: true, force: true });
});

describe("createFileAtomically on a file system without hard links", () => {
  it("publishes by claiming the name and renaming over the claim", async () => {
    const target = join(folder, "child.vhd");
    await createFileAtomically(target, async (handle) => {
      await handle.write(Buffer.from("complete"), 0, 8, 0);
    });
    expect(linkAttempts.count).toBe(1);
    expect(await readFile(target, "utf8")).toBe("complete");
    expect(await readdir(folder)).toEqual(["child.vhd"]);
  });

  it("still refuses a target that appears while writing, leaving it untouched", async () => {
    const target = join(folder, "child.vhd");
    const creating = createFileAtomically(target, async () => {
      await writeFile(target, "the racer's data");
    });
    await expect(creating).rejects.toMatchObject({ code: "ERROR_ALREADY_EXISTS" });
    expect(await readFile(target, "utf8")).toBe("the racer's data");
    expect(await readdir(folder)).toEqual(["child.vhd"]);
  });
});
