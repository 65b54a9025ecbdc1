/**
 * The `.pulumi-vhd-folder` record (ops/created-folders.ts): the folders create made go with whichever disk in them is
 * deleted last, and never a folder the record does not lie in or one holding anything else. On real folders and on
 * the in-memory storage; the "disks" are plain files, since only the folder's listing matters here.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { CREATED_FOLDERS_RECORD, recordCreatedFolders, removeCreatedFolders } from "../../provider/ops/created-folders";
import { replaceJsonRecord } from "../../provider/storage/json-record";
import { localStorage } from "../../provider/storage/local/local-storage";
import { MemoryStorage } from "../../provider/storage/memory/memory-storage";
import type { Storage } from "../../provider/storage/port";

interface Place {
  storage: Storage;
  /** An existing folder nobody made for a disk. */
  root: string;
  dispose(): void;
}

const places: Record<string, () => Place> = {
  local: () => {
    const root = mkdtempSync(join(tmpdir(), "vhd-created-folders-"));
    return { storage: localStorage, root, dispose: () => rmSync(root, { recursive: true, force: true }) };
  },
  memory: () => ({ storage: new MemoryStorage().addFolder("/work"), root: "/work", dispose: () => undefined }),
};

let place: Place | undefined;
afterEach(() => place?.dispose());

async function put(storage: Storage, file: string): Promise<void> {
  await (await storage.createExclusive(file)).close();
}

async function exists(storage: Storage, target: string): Promise<boolean> {
  return (await storage.pathFacts(target)).kind !== "missing";
}

/** The names in `folder`. */
async function namesIn(storage: Storage, folder: string): Promise<string[]> {
  return (await storage.list(folder)).map(({ name }) => name);
}

/** What create does for a disk at `<root>/new/<inner>/*.vhd`: both folders made and recorded; outermost first. */
async function createRecorded(storage: Storage, root: string, inner = "vms"): Promise<string[]> {
  const made = [join(root, "new"), join(root, "new", inner)];
  for (const folder of made) await storage.mkdir(folder);
  await recordCreatedFolders(storage, made);
  return made;
}

describe.each(Object.keys(places))("the folders create made, on %s storage", (name) => {
  const open = (): Place => (place = places[name]!());

  it("stay while a sibling disk is in them and go with the last disk, innermost first", async () => {
    const { storage, root } = open();
    const made = await createRecorded(storage, root);
    await put(storage, join(made[1]!, "a.vhd"));
    await put(storage, join(made[1]!, "b.vhd"));

    await storage.unlink(join(made[1]!, "a.vhd"));
    await removeCreatedFolders(storage, made[1]!);
    expect((await namesIn(storage, made[1]!)).sort()).toEqual([CREATED_FOLDERS_RECORD, "b.vhd"]);

    await storage.unlink(join(made[1]!, "b.vhd"));
    await removeCreatedFolders(storage, made[1]!);
    expect(await exists(storage, made[0]!)).toBe(false);
    expect(await namesIn(storage, root)).toEqual([]);
  });

  it("above sibling folders made by different disks, go with the last disk in any of them", async () => {
    const { storage, root } = open();
    // `new/x/a.vhd` made `new` and `new/x`; `new/y/b.vhd`, created next, found `new` and made only `new/y`.
    const [outer, x] = await createRecorded(storage, root, "x");
    const y = join(outer!, "y");
    await storage.mkdir(y);
    await recordCreatedFolders(storage, [y]);
    await put(storage, join(x!, "a.vhd"));
    await put(storage, join(y, "b.vhd"));

    await storage.unlink(join(x!, "a.vhd"));
    await removeCreatedFolders(storage, x!);
    expect((await namesIn(storage, outer!)).sort()).toEqual([CREATED_FOLDERS_RECORD, "y"]);

    await storage.unlink(join(y, "b.vhd"));
    await removeCreatedFolders(storage, y);
    expect(await namesIn(storage, root)).toEqual([]);
  });

  it("leave a folder above that holds something else, and remove nothing without a record", async () => {
    const { storage, root } = open();
    const made = await createRecorded(storage, root);
    await put(storage, join(made[0]!, "notes.txt"));
    await removeCreatedFolders(storage, made[1]!);
    expect(await exists(storage, made[1]!)).toBe(false);
    expect((await namesIn(storage, made[0]!)).sort()).toEqual([CREATED_FOLDERS_RECORD, "notes.txt"]);

    const unrecorded = join(root, "theirs");
    await storage.mkdir(unrecorded);
    await removeCreatedFolders(storage, unrecorded);
    expect(await exists(storage, unrecorded)).toBe(true);
  });

  it("never takes a folder a record names that is not the record's own folder or above it", async () => {
    const { storage, root } = open();
    const elsewhere = join(root, "elsewhere");
    const made = join(root, "new");
    await storage.mkdir(elsewhere);
    await storage.mkdir(made);
    // A record put there by hand, or one copied along with its folder.
    await replaceJsonRecord(storage, join(made, CREATED_FOLDERS_RECORD), { createdFolders: [elsewhere, made] }, { parameter: "imagePath" });
    await removeCreatedFolders(storage, made);
    expect(await exists(storage, made)).toBe(false);
    expect(await exists(storage, elsewhere)).toBe(true);
  });
});
