import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import fc from "fast-check";
import { beforeAll, describe, expect, test } from "vitest";
import { isVhdError, type ErrorName } from "../../../provider/errors";
import { openChain } from "../../../provider/disk/chain";
import { openDiskImage } from "../../../provider/vhd/reader/reader";
import {
  DYNAMIC_HEADER_SIZE,
  FOOTER_SIZE,
  decodeDynamicHeader,
  decodeFooter,
  encodeDynamicHeader,
  encodeFooter,
  type DynamicHeader,
  type Footer,
} from "../../../provider/vhd/format";
import { inspectDisk } from "../../../provider/disk/inspect";
import { verifyDisk } from "../../../provider/vhd/verify";
import { useTempDir } from "./temp-dir";
import { buildVhd, type BuiltVhd } from "./vhd-builder";

const KiB = 1024;
const MiB = 1024 * KiB;
const temp = useTempDir("malformed");
let parent: BuiltVhd;
let child: BuiltVhd;
let counter = 0;

beforeAll(async () => {
  parent = buildVhd({ type: "dynamic", virtualSize: MiB, blockSize: 64 * KiB, writes: [{ offset: 0, data: new Uint8Array(4096).fill(1) }] });
  child = buildVhd({
    type: "differencing",
    virtualSize: MiB,
    blockSize: 64 * KiB,
    parent: {
      uniqueId: parent.footer.uniqueId,
      name: "parent.vhd",
      locators: [
        { code: "W2ku", path: "C:\\golden\\parent.vhd" },
        { code: "W2ru", path: ".\\parent.vhd" },
      ],
    },
    writes: [
      { offset: 64 * KiB, data: new Uint8Array(8192).fill(2) },
      { offset: 512 * KiB + 512, data: new Uint8Array(1024).fill(3) },
    ],
  });
});

/** Writes `childBytes` as child.vhd next to an intact parent.vhd in a new folder. */
async function placeChild(childBytes: Uint8Array): Promise<string> {
  const folder = join(temp.path(), `case-${counter++}`);
  await mkdir(folder);
  await writeFile(join(folder, "parent.vhd"), parent.bytes);
  await writeFile(join(folder, "child.vhd"), childBytes);
  return join(folder, "child.vhd");
}

/**
 * Everything a user can do with a file: open the chain and read its first and last MiB (a whole read of a damaged
 * size could be terabytes), inspect, verify. Each either works or fails with a VhdError from the table that is
 * not the catch-all for unexpected failures.
 */
async function exercise(path: string): Promise<ErrorName | "ok"> {
  const outcomes: (ErrorName | "ok")[] = [];
  const attempt = async (work: () => Promise<unknown>): Promise<void> => {
    try {
      await work();
      outcomes.push("ok");
    } catch (error) {
      if (!isVhdError(error)) throw new Error(`not a VhdError: ${String(error)}`, { cause: error });
      expect(error.code).not.toBe("DISP_E_EXCEPTION");
      expect(error.message).toContain(error.code);
      outcomes.push(error.code);
    }
  };
  await attempt(async () => {
    const chain = await openChain(path);
    try {
      const length = Math.min(MiB, chain.virtualSize);
      await chain.read(0, length);
      await chain.read(chain.virtualSize - length, length);
    } finally {
      await chain.close();
    }
  });
  await attempt(() => inspectDisk(path));
  const report = await verifyDisk(path);
  expect(typeof report.ok).toBe("boolean");
  return outcomes[0] ?? "ok";
}

function withFooter(bytes: Uint8Array, change: (footer: Footer) => Footer): Uint8Array {
  const copy = bytes.slice();
  const encoded = encodeFooter(change(decodeFooter(copy.subarray(0, FOOTER_SIZE)).footer));
  copy.set(encoded, 0);
  copy.set(encoded, copy.length - FOOTER_SIZE);
  return copy;
}

function withHeader(bytes: Uint8Array, change: (header: DynamicHeader) => DynamicHeader): Uint8Array {
  const copy = bytes.slice();
  copy.set(encodeDynamicHeader(change(decodeDynamicHeader(copy.subarray(512, 512 + DYNAMIC_HEADER_SIZE)).header)), 512);
  return copy;
}

async function codeOf(promise: Promise<unknown>): Promise<{ code: string; details: Record<string, unknown> } | "ok"> {
  try {
    await promise;
    return "ok";
  } catch (error) {
    if (!isVhdError(error)) throw error;
    return { code: error.code, details: error.details };
  }
}

describe("malformed input: each gives a clear VhdError", () => {
  test("the intact pair opens and reads (the baseline the mutations start from)", async () => {
    expect(await exercise(await placeChild(child.bytes))).toBe("ok");
  });

  test.each([
    ["empty file", 0, "ERROR_VHD_DRIVE_FOOTER_MISSING"],
    ["100 bytes", 100, "ERROR_VHD_DRIVE_FOOTER_MISSING"],
    // 511 bytes read as a pre-2004 short footer: the head copy, whose header offset lies past the end.
    ["511 bytes", 511, "ERROR_VHD_DRIVE_FOOTER_CORRUPT"],
    // Only the head copy is left; strict opening refuses a missing tail footer.
    ["cut inside the BAT", 2000, "ERROR_VHD_DRIVE_FOOTER_MISSING"],
  ])("truncated: %s (strict)", async (_label, length, code) => {
    const path = await placeChild(child.bytes.subarray(0, length));
    expect(await codeOf(openDiskImage(path, { strict: true }))).toMatchObject({ code });
    await exercise(path);
  });

  test("truncated after the metadata: the BAT points at blocks that are gone", async () => {
    const path = await placeChild(child.bytes.subarray(0, 8192));
    expect(await codeOf(openDiskImage(path))).toMatchObject({ code: "ERROR_VHD_BLOCK_ALLOCATION_TABLE_CORRUPT", details: { field: "bat[1]" } });
  });

  test("a wiped tail footer: opens by the head copy with a warning, reads the same; strictly it is refused", async () => {
    const damaged = child.bytes.slice();
    damaged.fill(0, damaged.length - FOOTER_SIZE);
    const path = await placeChild(damaged);
    const image = await openDiskImage(path);
    expect(image.footerSource).toBe("head");
    expect(image.warnings.map((warning) => warning.code)).toContain("ERROR_VHD_DRIVE_FOOTER_MISSING");
    await image.close();
    const chain = await openChain(path);
    const intact = await openChain(await placeChild(child.bytes));
    expect(Buffer.from(await chain.read(0, MiB)).equals(await intact.read(0, MiB))).toBe(true);
    await Promise.all([chain.close(), intact.close()]);
    expect(await codeOf(openDiskImage(path, { strict: true }))).toMatchObject({ code: "ERROR_VHD_DRIVE_FOOTER_MISSING" });
  });

  test("no cookie anywhere: a raw image or a VHDX file is ERROR_VHD_FORMAT_UNKNOWN, saying which", async () => {
    const raw = await placeChild(new Uint8Array(64 * KiB).fill(0x5a));
    expect(await codeOf(openDiskImage(raw))).toMatchObject({ code: "ERROR_VHD_FORMAT_UNKNOWN" });
    const vhdx = new Uint8Array(64 * KiB);
    vhdx.set(Buffer.from("vhdxfile"));
    const error = await openDiskImage(await placeChild(vhdx)).catch((caught: unknown) => caught);
    expect(isVhdError(error, "ERROR_VHD_FORMAT_UNKNOWN") && error.message).toMatch(/VHDX/);
  });

  test("bad checksums: read on with warnings by default, refused when strict", async () => {
    const footerDamaged = child.bytes.slice();
    for (const at of [70, footerDamaged.length - FOOTER_SIZE + 70]) footerDamaged[at] = (footerDamaged[at] ?? 0) ^ 0xff;
    expect(await codeOf(openDiskImage(await placeChild(footerDamaged), { strict: true }))).toMatchObject({
      code: "ERROR_VHD_DRIVE_FOOTER_CHECKSUM_MISMATCH",
      details: { field: "checksum" },
    });
    const headerDamaged = child.bytes.slice();
    headerDamaged[512 + 600] = 0x77;
    const path = await placeChild(headerDamaged);
    expect(await codeOf(openDiskImage(path, { strict: true }))).toMatchObject({ code: "ERROR_VHD_SPARSE_HEADER_CHECKSUM_MISMATCH" });
    expect((await verifyDisk(path)).ok).toBe(false);
  });

  test.each<[string, (bytes: Uint8Array) => Uint8Array, ErrorName, string]>([
    ["bad footer cookie, both copies", (b) => withFooter(b, (f) => ({ ...f, cookie: "conectiy" })), "ERROR_VHD_FORMAT_UNKNOWN", "cookie"],
    ["bad header cookie", (b) => withHeader(b, (h) => ({ ...h, cookie: "cxsparsx" })), "ERROR_VHD_SPARSE_HEADER_CORRUPT", "cookie"],
    ["unknown disk type", (b) => withFooter(b, (f) => ({ ...f, diskType: 5 })), "ERROR_VHD_DRIVE_FOOTER_CORRUPT", "diskType"],
    ["version 2.0", (b) => withFooter(b, (f) => ({ ...f, fileFormatVersion: 0x00020000 })), "ERROR_VHD_FORMAT_UNSUPPORTED_VERSION", "fileFormatVersion"],
    ["header past the end", (b) => withFooter(b, (f) => ({ ...f, dataOffset: 2 ** 40 })), "ERROR_VHD_DRIVE_FOOTER_CORRUPT", "dataOffset"],
    ["BAT offset past the end", (b) => withHeader(b, (h) => ({ ...h, tableOffset: 2 ** 40 })), "ERROR_VHD_BLOCK_ALLOCATION_TABLE_CORRUPT", "tableOffset"],
    ["BAT offset not sector aligned", (b) => withHeader(b, (h) => ({ ...h, tableOffset: 1537 })), "ERROR_VHD_BLOCK_ALLOCATION_TABLE_CORRUPT", "tableOffset"],
    ["BAT over the header", (b) => withHeader(b, (h) => ({ ...h, tableOffset: 512 })), "ERROR_VHD_BLOCK_ALLOCATION_TABLE_CORRUPT", "tableOffset"],
    ["huge max table entries", (b) => withHeader(b, (h) => ({ ...h, maxTableEntries: 0xffffffff })), "ERROR_VHD_BLOCK_ALLOCATION_TABLE_CORRUPT", "maxTableEntries"],
    ["too few table entries", (b) => withHeader(b, (h) => ({ ...h, maxTableEntries: 3 })), "ERROR_VHD_SPARSE_HEADER_CORRUPT", "maxTableEntries"],
    ["block size not a power of two", (b) => withHeader(b, (h) => ({ ...h, blockSize: 3 * 65536 })), "ERROR_VHD_INVALID_BLOCK_SIZE", "blockSize"],
    ["block size 0", (b) => withHeader(b, (h) => ({ ...h, blockSize: 0 })), "ERROR_VHD_INVALID_BLOCK_SIZE", "blockSize"],
    ["header version 2", (b) => withHeader(b, (h) => ({ ...h, headerVersion: 0x00020000 })), "ERROR_VHD_SPARSE_HEADER_UNSUPPORTED_VERSION", "headerVersion"],
    [
      "locator offset past the end",
      (b) => withHeader(b, (h) => ({ ...h, locators: h.locators.map((l, slot) => (slot === 0 ? { ...l, platformDataOffset: 2 ** 33 } : l)) })),
      "ERROR_VHD_SPARSE_HEADER_CORRUPT",
      "locators[0].platformDataOffset",
    ],
    [
      "locator length past the end",
      (b) => withHeader(b, (h) => ({ ...h, locators: h.locators.map((l, slot) => (slot === 1 ? { ...l, platformDataLength: 0x7fffffff } : l)) })),
      "ERROR_VHD_SPARSE_HEADER_CORRUPT",
      "locators[1].platformDataOffset",
    ],
    ["size above 2040 GiB", (b) => withFooter(b, (f) => ({ ...f, currentSize: 2041 * 1024 * MiB })), "VM_E_IMAGE_SIZE_TOO_LARGE", "currentSize"],
    ["size not whole sectors", (b) => withFooter(b, (f) => ({ ...f, currentSize: MiB - 1 })), "ERROR_VHD_INVALID_SIZE", "currentSize"],
  ])("%s", async (_label, damage, code, field) => {
    const path = await placeChild(damage(child.bytes));
    const error = await openDiskImage(path).catch((caught: unknown) => caught);
    expect(isVhdError(error, code)).toBe(true);
    if (!isVhdError(error)) return;
    expect(error.details).toMatchObject({ field, file: path });
    expect(typeof error.details["offset"]).toBe("number");
    expect(error.path).toBe(path);
  });

  test("a BAT entry pointing past the end names the entry", async () => {
    const damaged = child.bytes.slice();
    new DataView(damaged.buffer).setUint32(1536 + 4, 0x00ffffff);
    const error = await openDiskImage(await placeChild(damaged)).catch((caught: unknown) => caught);
    expect(isVhdError(error, "ERROR_VHD_BLOCK_ALLOCATION_TABLE_CORRUPT") && error.details["field"]).toBe("bat[1]");
  });

  test("a BAT entry pointing into the metadata opens, but verify reports the overlap", async () => {
    const damaged = child.bytes.slice();
    new DataView(damaged.buffer).setUint32(1536 + 4, 2);
    const path = await placeChild(damaged);
    const report = await verifyDisk(path);
    expect(report.ok).toBe(false);
    const overlap = report.checks.find((check) => check.name === "layout: no two structures or blocks overlap");
    expect(overlap?.ok).toBe(false);
    expect(overlap?.detail).toMatch(/dynamic header and block 1|block 1 and/);
  });

  test("a child whose recorded parent id was damaged is ERROR_VHD_CHILD_PARENT_ID_MISMATCH", async () => {
    const damaged = withHeader(child.bytes, (h) => ({ ...h, parentUniqueId: new Uint8Array(16).fill(9) }));
    expect(await codeOf(openChain(await placeChild(damaged)))).toMatchObject({ code: "ERROR_VHD_CHILD_PARENT_ID_MISMATCH" });
  });

  test("property: random byte damage never crashes, hangs or escapes as a non-VhdError", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 12 }),
        fc.boolean(),
        async (pokes, hitMetadata) => {
          const damaged = child.bytes.slice();
          // Half the runs aim at the metadata (first 4 KiB and the tail footer), where damage matters most.
          const span = hitMetadata ? 4096 : damaged.length;
          for (const [position, value] of pokes) {
            const index = hitMetadata && position % 5 === 0 ? damaged.length - 1 - (position % FOOTER_SIZE) : position % span;
            damaged[index] = value;
          }
          await exercise(await placeChild(damaged));
        },
      ),
      { numRuns: 60 },
    );
  });

  test("property: any footer or header field set to any value (checksums kept valid) gives a VhdError or a readable disk", async () => {
    const footerFields = ["features", "dataOffset", "currentSize", "originalSize", "diskType", "cylinders"] as const;
    const headerFields = ["tableOffset", "maxTableEntries", "blockSize", "dataOffset", "parentTimeStamp"] as const;
    const value = fc.oneof(fc.constantFrom(0, 1, 511, 512, 0xffffffff, 2 ** 32, 2 ** 41, 2 ** 53 - 1), fc.nat());
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.record({ where: fc.constant("footer" as const), field: fc.constantFrom(...footerFields), value }),
          fc.record({ where: fc.constant("header" as const), field: fc.constantFrom(...headerFields), value }),
        ),
        async ({ where, field, value: newValue }) => {
          const clamp = (limit: number): number => newValue % (limit + 1);
          const damaged =
            where === "footer"
              ? withFooter(child.bytes, (f) => ({ ...f, [field]: field === "diskType" || field === "features" ? clamp(0xffffffff) : field === "cylinders" ? clamp(0xffff) : newValue }))
              : withHeader(child.bytes, (h) => ({ ...h, [field]: ["tableOffset", "dataOffset"].includes(field) ? newValue : clamp(0xffffffff) }));
          await exercise(await placeChild(damaged));
        },
      ),
      { numRuns: 60 },
    );
  });
});
