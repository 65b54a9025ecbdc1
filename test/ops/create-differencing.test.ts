/**
 * createDifferencingDisk end to end on real files: success (checked by libvhdi), and the faults the contract names
 * forced for real: a folder chain created then removed on failure, a parent deleted between validation and write,
 * cancellation before and during, a full and a read-only volume, an unexpected failure. Every failing case checks
 * that nothing is left (no image, no temporary file, no folder of ours) and the parent is unchanged.
 */
import { promises as fsp, unlinkSync } from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type ErrorName } from "../../provider/errors";
import { createDifferencingDisk, type CreateDifferencingDiskArgs } from "../../provider/ops/create-differencing";
import { vhdiinfo } from "../support/oracles";
import {
  cleanUpTest,
  skipMountRefused,
  makeGoldenParent,
  mountReadOnlyBind,
  mountTmpfs,
  qemuDynamicDisk,
  snapshotFile,
  witness,
  type TestMount,
} from "../inputs/fixtures";
import { DFVFS_FIXTURES, skipWithoutFixtures } from "../support/fixtures";

const MIB = 1024 * 1024;

let temp: string;
let parentPath: string;
const mounts: TestMount[] = [];

beforeEach(async (ctx) => {
  skipWithoutFixtures(ctx, DFVFS_FIXTURES);
  ({ temp, parentPath } = await makeGoldenParent("ops-diff"));
});
afterEach(() => cleanUpTest(temp, mounts));

/** Runs a create that must fail with `code`, and checks that nothing changed under `folder`. */
async function expectFailedCreate(
  args: CreateDifferencingDiskArgs,
  code: ErrorName,
  imagePath: string,
  folder = temp,
): Promise<{ code: string; parameter?: string; path?: string; cause?: unknown; details: Record<string, unknown> }> {
  const observed = await witness({ folder, imagePath, parentPath: args.parentPath ?? parentPath });
  const error = await createDifferencingDisk(args).then(
    () => {
      throw new Error(`expected ${code}, but the disk was created`);
    },
    (failure: unknown) => failure as { code: string; parameter?: string; path?: string; cause?: unknown; details: Record<string, unknown> },
  );
  expect(error.code).toBe(code);
  await observed.expectNothingChanged();
  return error;
}

describe("createDifferencingDisk succeeds", () => {
  it("with a relative image beside an absolute parent, creating the missing folder chain", async () => {
    const before = await snapshotFile(parentPath);
    const progress: number[] = [];
    const info = await createDifferencingDisk({
      imagePath: "../vms/a/b/child.vhd",
      parentPath,
      onProgress: ({ bytesDone }) => progress.push(bytesDone),
    });
    const imagePath = path.join(temp, "vms", "a", "b", "child.vhd");
    expect(info).toMatchObject({ path: imagePath, type: "differencing", virtualSize: 104448 });
    expect(info.parent?.resolvedPath).toBe(parentPath);
    expect(progress).toEqual([0, info.fileSize]);
    // libvhdi, an independent reader, sees a differencing disk of the parent's size naming the parent's id.
    const [childReport, parentReport] = await Promise.all([vhdiinfo(imagePath), vhdiinfo(parentPath)]);
    expect(childReport.diskType).toBe("Differential");
    expect(childReport.mediaSize).toBe(104448);
    expect(childReport.parentIdentifier).toBe(parentReport.identifier);
    expect(await snapshotFile(parentPath)).toEqual(before);
    // Only the child: no temporary file beside it.
    expect(await fsp.readdir(path.dirname(imagePath))).toEqual(["child.vhd"]);
  });

  it("with an imagePath of exactly 259 characters, refusing 260", async () => {
    const folder = path.join(temp, "x".repeat(259 - temp.length - "/".length * 2 - "c.vhd".length));
    const imagePath = path.join(folder, "c.vhd");
    expect(imagePath).toHaveLength(259);
    expect((await createDifferencingDisk({ imagePath, parentPath })).path).toBe(imagePath);
    const tooLong = path.join(folder, "cc.vhd");
    await expectFailedCreate({ imagePath: tooLong, parentPath }, "ERROR_BUFFER_OVERFLOW", tooLong);
  });
});

describe("createDifferencingDisk under a race", () => {
  it("two creates of the same new disk at once: one wins, the other gets ERROR_ALREADY_EXISTS and leaves nothing", async () => {
    const imagePath = path.join(temp, "race", "child.vhd");
    const results = await Promise.allSettled([
      createDifferencingDisk({ imagePath, parentPath }),
      createDifferencingDisk({ imagePath, parentPath }),
    ]);
    const won = results.filter((result) => result.status === "fulfilled");
    const lost = results.flatMap((result) => (result.status === "rejected" ? [result.reason as { code: string }] : []));
    expect(won).toHaveLength(1);
    expect(lost.map((error) => error.code)).toEqual(["ERROR_ALREADY_EXISTS"]);
    // The winner's disk is intact and alone: no temporary file of the loser beside it.
    expect(await fsp.readdir(path.dirname(imagePath))).toEqual(["child.vhd"]);
    expect((await vhdiinfo(imagePath)).diskType).toBe("Differential");
  });
});

describe("createDifferencingDisk fails and leaves nothing", () => {
  it("when the parent is deleted between validation and write: ERROR_PATH_NOT_FOUND, folders it made removed", async () => {
    const imagePath = path.join(temp, "new", "deeper", "child.vhd");
    const observed = await witness({ folder: temp, imagePath });
    const error = await createDifferencingDisk({
      imagePath,
      parentPath,
      // The first report comes after every rule passed and before anything is written: delete the parent then.
      onProgress: ({ bytesDone }) => {
        if (bytesDone === 0) unlinkSync(parentPath);
      },
    }).catch((failure: unknown) => failure as { code: string; parameter: string });
    expect(error).toMatchObject({ code: "ERROR_PATH_NOT_FOUND", parameter: "parentPath" });
    await fsp.copyFile(path.join(DFVFS_FIXTURES, "image.vhd"), parentPath);
    await observed.expectNothingChanged();
  });

  it("when cancelled before it starts: VM_E_APP_SHUTTING_DOWN", async () => {
    const imagePath = path.join(temp, "child.vhd");
    const controller = new AbortController();
    controller.abort();
    await expectFailedCreate({ imagePath, parentPath, signal: controller.signal }, "VM_E_APP_SHUTTING_DOWN", imagePath);
  });

  it("when cancelled during the create (after validation): VM_E_APP_SHUTTING_DOWN, folders removed", async () => {
    const imagePath = path.join(temp, "made", "for", "child.vhd");
    const controller = new AbortController();
    const error = await expectFailedCreate(
      { imagePath, parentPath, signal: controller.signal, onProgress: () => controller.abort() },
      "VM_E_APP_SHUTTING_DOWN",
      imagePath,
    );
    expect(error).toMatchObject({ parameter: "imagePath", path: imagePath });
  });

  it("when something unexpected fails: DISP_E_EXCEPTION keeping the cause and naming both paths", async () => {
    const imagePath = path.join(temp, "child.vhd");
    const cause = new Error("progress sink broke");
    const error = await expectFailedCreate(
      {
        imagePath,
        parentPath,
        onProgress: () => {
          throw cause;
        },
      },
      "DISP_E_EXCEPTION",
      imagePath,
    );
    expect(error.cause).toBe(cause);
    expect(error).toMatchObject({ path: imagePath, details: { imagePath, parentPath } });
  });

  it("when the last step fails after the file was published: the file and its new folder are removed again", async () => {
    const imagePath = path.join(temp, "late", "child.vhd");
    const error = await expectFailedCreate(
      {
        imagePath,
        parentPath,
        onProgress: ({ bytesDone }) => {
          if (bytesDone > 0) throw new Error("the caller gave up at the very end");
        },
      },
      "DISP_E_EXCEPTION",
      imagePath,
    );
    expect(error.path).toBe(imagePath);
  });

  it("when imagePath exists: ERROR_ALREADY_EXISTS, the existing file untouched", async () => {
    const imagePath = path.join(temp, "child.vhd");
    await fsp.writeFile(imagePath, "not ours");
    await expectFailedCreate({ imagePath, parentPath }, "ERROR_ALREADY_EXISTS", imagePath);
    expect(await fsp.readFile(imagePath, "utf8")).toBe("not ours");
  });

  it("on a full volume (a 6 MB tmpfs): ERROR_DISK_FULL", async (context) => {
    const volume = await mountTmpfs(temp, 6 * MIB);
    if (volume === undefined) return skipMountRefused(context);
    mounts.push(volume);
    const imagePath = path.join(volume.path, "sub", "child.vhd");
    await expectFailedCreate({ imagePath, parentPath }, "ERROR_DISK_FULL", imagePath, volume.path);
  });

  it("on a read-only bind mount: ERROR_INVALID_DRIVE", async (context) => {
    const source = path.join(temp, "rw");
    await fsp.mkdir(source);
    const view = await mountReadOnlyBind(temp, source);
    if (view === undefined) return skipMountRefused(context);
    mounts.push(view);
    const imagePath = path.join(view.path, "child.vhd");
    await expectFailedCreate({ imagePath, parentPath }, "ERROR_INVALID_DRIVE", imagePath, view.path);
  });

  it("with an (injected) FAT32 volume too small for the child's full expansion: VM_E_FILE_TOO_LARGE_FOR_VOLUME", async () => {
    const imagePath = path.join(temp, "child.vhd");
    const big = qemuDynamicDisk(path.join(temp, "golden", "big.vhd"), "5G");
    const error = await expectFailedCreate(
      { imagePath, parentPath: big, assumeFsType: "fat32" },
      "VM_E_FILE_TOO_LARGE_FOR_VOLUME",
      imagePath,
    );
    expect(error.details).toMatchObject({ fsType: "fat32", maxFileSize: 4 * 1024 * MIB - 1 });
  });
});

