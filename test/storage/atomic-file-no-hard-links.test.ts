import { describe, expect, it } from "vitest";
import { createFileAtomically } from "../../provider/storage/atomic-create";
import { MemoryStorage } from "../../provider/storage/memory/memory-storage";

// Supplements atomic-file.test.ts (real files): a storage whose `link` answers as on FAT or SMB (no hard links), so
// the claim-then-rename fallback of the no-clobber publish runs. The fallback's code is the one the local adapter runs.
const text = (bytes: Uint8Array | undefined): string => new TextDecoder().decode(bytes);

describe("createFileAtomically on a file system without hard links", () => {
  it("publishes by claiming the name and renaming over the claim", async () => {
    const storage = new MemoryStorage({ hardLinks: false }).addFolder("/disks");
    const operations: string[] = [];
    storage.beforeCall((operation) => {
      operations.push(operation);
    });
    await createFileAtomically("/disks/child.vhd", (file) => file.write(0, new TextEncoder().encode("complete")), { storage });
    expect(operations).toContain("publishNoClobber");
    expect(text(storage.fileBytes("/disks/child.vhd"))).toBe("complete");
    expect(storage.paths()).toEqual(["/", "/disks", "/disks/child.vhd"]);
  });

  it("still refuses a target that appears while writing, leaving it untouched", async () => {
    const storage = new MemoryStorage({ hardLinks: false }).addFolder("/disks");
    const creating = createFileAtomically(
      "/disks/child.vhd",
      async () => {
        storage.addFile("/disks/child.vhd", new TextEncoder().encode("the racer's data"));
      },
      { storage },
    );
    await expect(creating).rejects.toMatchObject({ code: "ERROR_ALREADY_EXISTS", path: "/disks/child.vhd" });
    expect(text(storage.fileBytes("/disks/child.vhd"))).toBe("the racer's data");
    expect(storage.paths()).toEqual(["/", "/disks", "/disks/child.vhd"]);
  });

  it("with hard links, refuses a racer as well and never replaces it", async () => {
    const storage = new MemoryStorage().addFolder("/disks");
    const creating = createFileAtomically(
      "/disks/child.vhd",
      async () => {
        storage.addSymlink("/disks/child.vhd", "/disks/elsewhere.vhd");
      },
      { storage },
    );
    await expect(creating).rejects.toMatchObject({ code: "ERROR_ALREADY_EXISTS", message: expect.stringMatching(/symbolic link/) });
    expect(storage.paths()).toEqual(["/", "/disks", "/disks/child.vhd"]);
    expect(storage.fileBytes("/disks/elsewhere.vhd")).toBeUndefined();
  });
});
