/**
 * Unique ids: 16 opaque bytes, never reparsed as a UUID (docs/vhd-format.md §2.2). They are compared as the text below
 * (`DiskImage.uniqueId`), which maps bytes to text one to one, so comparing the text compares the bytes.
 */

/**
 * The id as text: the 16 bytes in file order, hex, dashed 8-4-4-4-12. This is how libvhdi prints it, so our output
 * can be compared with `vhdiinfo` directly (Hyper-V's GUID reading would reorder the first three groups).
 */
export function formatUniqueId(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
  return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
}
