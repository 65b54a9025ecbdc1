/**
 * blocksWithData (disk/content.ts), the blocks `create --from` and `vhd convert` write: which blocks, and the memory
 * they take. The content here is a stand-in that counts its reads; the real conversions are tested in test/ops.
 */
import { describe, expect, it } from "vitest";
import { blocksWithData, type DiskContent } from "../../provider/disk/content";

const MIB = 1024 * 1024;

/** Content of `size` bytes, block `i`'s bytes given by `fill(i, bytes)`, that records the most reads in flight at once. */
function countedContent(size: number, blockSize: number, fill: (block: number, bytes: Uint8Array) => void): DiskContent & { mostReadsAtOnce: number } {
  let inFlight = 0;
  const content = {
    size,
    path: "/stand-in.raw",
    mostReadsAtOnce: 0,
    dataRanges: () => Promise.resolve([{ offset: 0, length: size }]),
    async read(offset: number, target: Uint8Array): Promise<void> {
      content.mostReadsAtOnce = Math.max(content.mostReadsAtOnce, ++inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      fill(Math.floor(offset / blockSize), target);
      inFlight--;
    },
  };
  return content;
}

describe("blocksWithData", () => {
  it("yields the blocks that are not all zeros: a block whose only non-zero byte is its last one included", async () => {
    const blockSize = MIB;
    const lastByteOnly = 4;
    const content = countedContent(6 * blockSize, blockSize, (block, bytes) => {
      bytes.fill(block % 2 === 1 ? block : 0);
      if (block === lastByteOnly) bytes[bytes.length - 1] = 1;
    });
    const seen: number[] = [];
    for await (const { index, data } of blocksWithData(content, blockSize, { virtualSize: content.size, imagePath: "/x.vhdx" })) {
      expect(data[data.length - 1]).toBe(index === lastByteOnly ? 1 : index);
      seen.push(index);
    }
    expect(seen).toEqual([1, 3, 4, 5]);
  });

  it("reads at most 64 MiB ahead of the block it holds: 4 blocks of 2 MiB, 2 of VHDX's 32 MiB", async () => {
    for (const [blockSize, ahead] of [[2 * MIB, 4], [32 * MIB, 2]] as const) {
      const content = countedContent(8 * blockSize, blockSize, (_, bytes) => bytes.fill(1));
      let blocks = 0;
      for await (const block of blocksWithData(content, blockSize, { virtualSize: content.size, imagePath: "/x.vhdx" })) {
        expect(block.data.length).toBe(blockSize);
        blocks++;
      }
      expect(blocks).toBe(8);
      expect(content.mostReadsAtOnce).toBe(ahead + 1);
    }
  });
});
