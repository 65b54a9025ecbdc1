/**
 * absolute_win32_path of a child made on a POSIX host: the Win32 namespace prefix `\\?\` followed by the path's
 * components (MS-VHDX §2.6.2.6.3), the root's separator not doubled; read back as the POSIX path (also the form
 * earlier versions wrote, `\\?\\tmp\...`), and enough alone to find the parent when relative_path no longer leads
 * there. Windows drive, UNC and volume paths give no candidate here but their file name next to the child.
 */
import { mkdir, rename } from "node:fs/promises";
import { join } from "node:path";
import { expect, test } from "vitest";
import { openChain } from "../../provider/disk/chain";
import { createBaseDisk } from "../../provider/ops/create-base";
import { createDifferencingDisk } from "../../provider/ops/create-differencing";
import { vhdxParentCandidates } from "../../provider/vhdx/parent-locator";
import type { VhdxParentLocator } from "../../provider/vhdx/reader";
import { useTempDir } from "../vhd/reader/temp-dir";
import { openVhdxPath } from "./support";

const temp = useTempDir("vhdx-locator");

function locator(paths: Pick<VhdxParentLocator, "relativePath" | "volumePath" | "absoluteWin32Path">): VhdxParentLocator {
  return { locatorType: "", entries: [], parentLinkage: "{00000000-0000-0000-0000-000000000000}", ...paths };
}

test("a child made here records absolute_win32_path as \\\\?\\ and the path's components, and it alone finds the parent", async () => {
  const parent = join(temp.path(), "images", "golden.vhdx");
  const child = join(temp.path(), "vms", "os.vhdx");
  await createBaseDisk({ path: parent, size: 8 * 2 ** 20 });
  await createDifferencingDisk({ imagePath: child, parentPath: parent });

  const image = await openVhdxPath(child);
  const stored = image.parentLocator?.absoluteWin32Path;
  await image.close();
  expect(stored).toBe(`\\\\?\\${parent.slice(1).split("/").join("\\")}`);
  expect(stored?.startsWith("\\\\?\\\\")).toBe(false);

  // Moved to another folder: relative_path (..\images\golden.vhdx) and the file name next to it lead nowhere.
  await mkdir(join(temp.path(), "moved", "deeper"), { recursive: true });
  const moved = join(temp.path(), "moved", "deeper", "os.vhdx");
  await rename(child, moved);
  const chain = await openChain(moved);
  try {
    expect(chain.images.map((disk) => disk.path)).toEqual([moved, parent]);
    expect(chain.links[0]?.attempts.at(-1)).toMatchObject({ path: parent, source: "absolute_win32_path", result: "found" });
  } finally {
    await chain.close();
  }
});

const besideChild = { path: "/vms/golden.vhdx", source: "absolute_win32_path file name" };
const asPosix = [{ path: "/srv/images/golden.vhdx", source: "absolute_win32_path" }, besideChild];

test.each([
  ["this version's POSIX form", "\\\\?\\srv\\images\\golden.vhdx", asPosix],
  ["the POSIX form earlier versions wrote (root separator doubled)", "\\\\?\\\\srv\\images\\golden.vhdx", asPosix],
  ["a drive path (only its file name, next to the child)", "\\\\?\\C:\\images\\golden.vhdx", [besideChild]],
  ["a UNC path (only its file name, next to the child)", "\\\\?\\UNC\\server\\share\\golden.vhdx", [besideChild]],
])("absolute_win32_path holding %s: the candidates on this host", (_form, stored, expected) => {
  expect(vhdxParentCandidates("/vms/os.vhdx", locator({ absoluteWin32Path: stored }))).toEqual(expected);
});
