import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SHA256_READ_SIZE, sha256File } from "../../provider/checksum/sha256";
import type { ByteProgress } from "../../provider/support/progress";

let folder: string;
beforeEach(async () => {
  folder = await mkdtemp(join(tmpdir(), "vhd-sha256-"));
});
afterEach(async () => {
  await rm(folder, { recursive: true, force: true });
});

/** `sha256sum`'s answer, the independent oracle. */
function sha256sum(path: string): string {
  return execFileSync("sha256sum", ["--binary", path], { encoding: "utf8" }).split(" ")[0] ?? "";
}

describe("sha256File", () => {
  // Sizes around the read size catch off-by-one and short-last-read mistakes; 0 is the empty-file edge.
  const sizes = [0, 1, 511, SHA256_READ_SIZE - 1, SHA256_READ_SIZE, SHA256_READ_SIZE + 1, 2 * SHA256_READ_SIZE + 12_345];

  it.each(sizes)("matches crypto and sha256sum on a %i-byte file", async (size) => {
    const path = join(folder, `data-${size}.bin`);
    const data = randomBytes(size);
    await writeFile(path, data);
    const result = await sha256File(path);
    expect(result.bytes).toBe(size);
    expect(result.sha256).toBe(createHash("sha256").update(data).digest("hex"));
    expect(result.sha256).toBe(sha256sum(path));
  });

  it("reports monotonic progress ending at the file size", async () => {
    const size = 3 * SHA256_READ_SIZE + 100;
    const path = join(folder, "progress.bin");
    await writeFile(path, randomBytes(size));
    const seen: ByteProgress[] = [];
    await sha256File(path, { onProgress: (progress) => seen.push(progress) });
    expect(seen.map((progress) => progress.bytesDone)).toEqual([
      SHA256_READ_SIZE,
      2 * SHA256_READ_SIZE,
      3 * SHA256_READ_SIZE,
      size,
    ]);
    expect(seen.every((progress) => progress.bytesTotal === size)).toBe(true);
  });

  it("stops with VM_E_APP_SHUTTING_DOWN when cancelled midway", async () => {
    const path = join(folder, "cancel.bin");
    await writeFile(path, randomBytes(4 * SHA256_READ_SIZE));
    const controller = new AbortController();
    const seen: number[] = [];
    const hashing = sha256File(path, {
      signal: controller.signal,
      onProgress: ({ bytesDone }) => {
        seen.push(bytesDone);
        controller.abort();
      },
    });
    await expect(hashing).rejects.toMatchObject({ code: "VM_E_APP_SHUTTING_DOWN", path });
    expect(seen).toEqual([SHA256_READ_SIZE]);
  });

  it("refuses an already-cancelled signal before opening the file", async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(sha256File(join(folder, "absent.bin"), { signal: controller.signal })).rejects.toMatchObject({
      code: "VM_E_APP_SHUTTING_DOWN",
    });
  });

  it("names the path and parameter of a missing file", async () => {
    const path = join(folder, "absent.bin");
    const failure = sha256File(path, { parameter: "parentPath" });
    await expect(failure).rejects.toMatchObject({ code: "ERROR_PATH_NOT_FOUND", path, parameter: "parentPath" });
    await expect(failure).rejects.toThrow(/0x80070003/);
  });

  it("refuses a folder with a clear error", async () => {
    await expect(sha256File(folder)).rejects.toMatchObject({ code: "ERROR_INVALID_NAME", path: folder });
  });

  it("hashes zeroRanges as zeros, also across read boundaries and past the end", async () => {
    const path = join(folder, "masked.bin");
    const data = randomBytes(2 * SHA256_READ_SIZE + 100);
    await writeFile(path, data);
    const zeroRanges = [
      { offset: 10, length: 4 },
      { offset: SHA256_READ_SIZE - 3, length: 9 },
      { offset: 2 * SHA256_READ_SIZE + 90, length: 50 },
    ];
    const zeroed = Buffer.from(data);
    for (const { offset, length } of zeroRanges) zeroed.fill(0, offset, Math.min(offset + length, zeroed.length));
    const expected = createHash("sha256").update(zeroed).digest("hex");
    expect(await sha256File(path, { zeroRanges })).toEqual({ sha256: expected, bytes: data.length });
    // The file itself is not touched, and without ranges the plain digest comes back.
    expect((await sha256File(path)).sha256).toBe(sha256sum(path));
  });
});
