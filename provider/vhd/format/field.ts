/**
 * Binary layouts as data. Each on-disk structure is declared once as an ordered list of fields
 * `{ name, offset, size, type }`; {@link decodeLayout} and {@link encodeLayout} walk the same list, so a field's
 * offset and width are written down in exactly one place. Every byte of a structure belongs to exactly one field
 * (reserved areas included), which {@link defineLayout} checks when the module loads.
 *
 * Integers are big-endian unless their type ends in `le` (VHD 1.0 is big-endian throughout, SPEC "Hard Disk Footer
 * Format"; MS-VHDX is little-endian throughout, MS-VHDX §2).
 */
import { VhdError } from "../../errors";

/**
 * How a field's bytes map to a value.
 * - `u8`/`u16`/`u32`/`u64`: unsigned big-endian integers, as `number` (a `u64` is exact up to 2^53; larger values
 *   come back rounded and are refused by validation, since no valid VHD offset or size is that large).
 * - `u64OrNone`: like `u64`, but all-ones (`0xFFFFFFFFFFFFFFFF`, "no next structure") is `null`.
 * - `bytes`: raw bytes, copied (identifiers are opaque 16-byte values, docs/vhd-format.md §2.2).
 * - `ascii`: single-byte text (latin1, so any byte survives a round trip), trailing NULs dropped on decode and
 *   padded back on encode.
 * - `utf16be`: UTF-16 big-endian text up to the first NUL unit, NUL-padded on encode (parent unicode name, §2.4).
 * - `reserved`: must be written as zeros; not part of the decoded record.
 * - `u16le`/`u32le`/`u64le`: the same integers little-endian (MS-VHDX §2).
 * - `guid`: a 16-byte GUID in Windows byte order (Data1 u32 LE, Data2 and Data3 u16 LE, the last 8 bytes as
 *   written; MS-VHDX §2), as the lower-case dashed string `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
 * - `utf16le`: UTF-16 little-endian text up to the first NUL unit, NUL-padded on encode (MS-VHDX creator, §2.2.1).
 */
export type FieldType =
  | "u8"
  | "u16"
  | "u32"
  | "u64"
  | "u64OrNone"
  | "bytes"
  | "ascii"
  | "utf16be"
  | "reserved"
  | "u16le"
  | "u32le"
  | "u64le"
  | "guid"
  | "utf16le";

/** One field of a layout: where it is, how wide, how to read it. */
export interface Field<Name extends string = string, Type extends FieldType = FieldType> {
  readonly name: Name;
  readonly offset: number;
  readonly size: number;
  readonly type: Type;
}

/** A named structure of a fixed size, described field by field. */
export interface Layout<Fields extends readonly Field[] = readonly Field[]> {
  readonly name: string;
  readonly size: number;
  readonly fields: Fields;
}

/** The TypeScript value a field type decodes to. */
export type FieldValue<Type extends FieldType> = Type extends "u8" | "u16" | "u32" | "u64" | "u16le" | "u32le" | "u64le"
  ? number
  : Type extends "u64OrNone"
    ? number | null
    : Type extends "bytes"
      ? Uint8Array
      : Type extends "ascii" | "utf16be" | "utf16le" | "guid"
        ? string
        : never;

/** The record a layout decodes to: one property per non-reserved field. */
export type LayoutRecord<Fields extends readonly Field[]> = {
  [F in Fields[number] as F["type"] extends "reserved" ? never : F["name"]]: FieldValue<F["type"]>;
};

const INTEGER_SIZES: Partial<Record<FieldType, number>> = {
  u8: 1,
  u16: 2,
  u32: 4,
  u64: 8,
  u64OrNone: 8,
  u16le: 2,
  u32le: 4,
  u64le: 8,
  guid: 16,
};
const LITTLE_ENDIAN_TYPES: ReadonlySet<FieldType> = new Set<FieldType>(["u16le", "u32le", "u64le"]);

/**
 * Declares a layout and checks it: fields in offset order, each starting where the previous one ended, integer
 * widths matching their type, and the last one ending exactly at `size`. A mistake here is a bug in this package,
 * so it throws at module load, long before any file is read.
 */
export function defineLayout<const Fields extends readonly Field[]>(
  name: string,
  size: number,
  fields: Fields,
): Layout<Fields> {
  let expectedOffset = 0;
  for (const field of fields) {
    const integerSize = INTEGER_SIZES[field.type];
    if (field.offset !== expectedOffset || field.size <= 0 || (integerSize !== undefined && integerSize !== field.size)) {
      throw new Error(`layout ${name}: field ${field.name} at ${field.offset} (${field.size} bytes) is misdeclared`);
    }
    expectedOffset += field.size;
  }
  if (expectedOffset !== size) {
    throw new Error(`layout ${name}: fields cover ${expectedOffset} bytes, the structure has ${size}`);
  }
  return { name, size, fields };
}

/** The names of a layout's fields. */
export type FieldName<L extends Layout> = L["fields"][number]["name"];

/** The field called `name` of a layout (for code that needs one offset, e.g. the checksum's). */
export function fieldOf<Fields extends readonly Field[]>(layout: Layout<Fields>, name: Fields[number]["name"]): Field {
  const field = layout.fields.find((candidate) => candidate.name === name);
  if (field === undefined) throw new Error(`layout ${layout.name} has no field ${name}`);
  return field;
}

const TWO_32 = 2 ** 32;

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Reads a big-endian u64 as a number (exact below 2^53). */
export function readU64(data: DataView, offset: number): number {
  return data.getUint32(offset) * TWO_32 + data.getUint32(offset + 4);
}

/** Writes a safe non-negative integer as a big-endian u64. */
export function writeU64(data: DataView, offset: number, value: number): void {
  data.setUint32(offset, Math.floor(value / TWO_32));
  data.setUint32(offset + 4, value % TWO_32);
}

/** Reads a little-endian u64 as a number (exact below 2^53). */
export function readU64le(data: DataView, offset: number): number {
  return data.getUint32(offset + 4, true) * TWO_32 + data.getUint32(offset, true);
}

/** Writes a safe non-negative integer as a little-endian u64. */
export function writeU64le(data: DataView, offset: number, value: number): void {
  data.setUint32(offset, value % TWO_32, true);
  data.setUint32(offset + 4, Math.floor(value / TWO_32), true);
}

/** The byte order of a GUID's first three groups on disk (Windows' mixed-endian layout, MS-VHDX §2). */
const GUID_BYTE_ORDER = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15] as const;

/** Decodes a 16-byte Windows-order GUID at `offset` as the lower-case dashed string. */
export function decodeGuid(bytes: Uint8Array, offset = 0): string {
  const hex = GUID_BYTE_ORDER.map((index) => (bytes[offset + index] ?? 0).toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const GUID_TEXT = /^\{?([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})\}?$/i;

/**
 * Encodes a GUID string (dashed, braces optional, any case) into 16 bytes in Windows order; undefined when the
 * text is not a GUID.
 */
export function encodeGuid(text: string): Uint8Array | undefined {
  const match = GUID_TEXT.exec(text);
  if (match === null) return undefined;
  const hex = match.slice(1).join("");
  const bytes = new Uint8Array(16);
  GUID_BYTE_ORDER.forEach((index, position) => {
    bytes[index] = Number.parseInt(hex.slice(position * 2, position * 2 + 2), 16);
  });
  return bytes;
}

function decodeField(data: DataView, bytes: Uint8Array, field: Field): FieldValue<FieldType> {
  const { offset, size } = field;
  switch (field.type) {
    case "u8":
      return data.getUint8(offset);
    case "u16":
      return data.getUint16(offset);
    case "u32":
      return data.getUint32(offset);
    case "u64":
      return readU64(data, offset);
    case "u64OrNone":
      return data.getUint32(offset) === 0xffffffff && data.getUint32(offset + 4) === 0xffffffff
        ? null
        : readU64(data, offset);
    case "u16le":
      return data.getUint16(offset, true);
    case "u32le":
      return data.getUint32(offset, true);
    case "u64le":
      return readU64le(data, offset);
    case "guid":
      return decodeGuid(bytes, offset);
    case "utf16le": {
      let end = offset;
      while (end + 1 < offset + size && (bytes[end] !== 0 || bytes[end + 1] !== 0)) end += 2;
      return Buffer.from(bytes.buffer, bytes.byteOffset + offset, end - offset).toString("utf16le");
    }
    case "bytes":
      return bytes.slice(offset, offset + size);
    case "ascii": {
      let end = offset + size;
      while (end > offset && bytes[end - 1] === 0) end--;
      return Buffer.from(bytes.buffer, bytes.byteOffset + offset, end - offset).toString("latin1");
    }
    case "utf16be": {
      let end = offset;
      while (end + 1 < offset + size && (bytes[end] !== 0 || bytes[end + 1] !== 0)) end += 2;
      const swapped = Buffer.from(bytes.subarray(offset, end)).swap16();
      return swapped.toString("utf16le");
    }
    case "reserved":
      return undefined as never;
  }
}

function encodeError(layout: Layout, field: Field, reason: string): VhdError {
  return new VhdError("E_INVALIDARG", `cannot encode ${layout.name}.${field.name}: ${reason}`, {
    parameter: field.name,
    details: { structure: layout.name, field: field.name, offset: field.offset },
  });
}

function encodeField(layout: Layout, data: DataView, bytes: Uint8Array, field: Field, value: unknown): void {
  const { offset, size } = field;
  const integerSize = INTEGER_SIZES[field.type];
  if (field.type === "reserved") return;
  if (field.type === "u64OrNone" && value === null) {
    data.setUint32(offset, 0xffffffff);
    data.setUint32(offset + 4, 0xffffffff);
    return;
  }
  if (field.type === "guid") {
    const encoded = typeof value === "string" ? encodeGuid(value) : undefined;
    if (encoded === undefined) throw encodeError(layout, field, `${String(value)} is not a GUID`);
    bytes.set(encoded, offset);
    return;
  }
  if (integerSize !== undefined) {
    const limit = integerSize === 8 ? Number.MAX_SAFE_INTEGER : 2 ** (8 * integerSize) - 1;
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > limit) {
      throw encodeError(layout, field, `${String(value)} is not an integer from 0 to ${limit}`);
    }
    const littleEndian = LITTLE_ENDIAN_TYPES.has(field.type);
    if (integerSize === 1) data.setUint8(offset, value);
    else if (integerSize === 2) data.setUint16(offset, value, littleEndian);
    else if (integerSize === 4) data.setUint32(offset, value, littleEndian);
    else if (littleEndian) writeU64le(data, offset, value);
    else writeU64(data, offset, value);
    return;
  }
  const encoded =
    field.type === "bytes"
      ? value
      : typeof value !== "string"
        ? undefined
        : field.type === "ascii"
          ? Buffer.from(value, "latin1")
          : field.type === "utf16le"
            ? Buffer.from(value, "utf16le")
            : Buffer.from(value, "utf16le").swap16();
  if (!(encoded instanceof Uint8Array) || encoded.length > size || (field.type === "bytes" && encoded.length !== size)) {
    throw encodeError(layout, field, `the value does not fit in ${size} bytes`);
  }
  bytes.set(encoded, offset);
}

/** Decodes `bytes` (at least `layout.size` long, from offset 0) into a record. Pure: never validates meaning. */
export function decodeLayout<Fields extends readonly Field[]>(
  layout: Layout<Fields>,
  bytes: Uint8Array,
): LayoutRecord<Fields> {
  if (bytes.length < layout.size) {
    throw new VhdError("E_INVALIDARG", `${layout.name} needs ${layout.size} bytes, got ${bytes.length}`, {
      details: { structure: layout.name },
    });
  }
  const data = view(bytes);
  const record: Record<string, unknown> = {};
  for (const field of layout.fields) {
    if (field.type !== "reserved") record[field.name] = decodeField(data, bytes, field);
  }
  return record as LayoutRecord<Fields>;
}

/** Encodes a record into a new zero-filled buffer of `layout.size` bytes. */
export function encodeLayout<Fields extends readonly Field[]>(
  layout: Layout<Fields>,
  record: LayoutRecord<Fields>,
): Uint8Array {
  const bytes = new Uint8Array(layout.size);
  const data = view(bytes);
  const values = record as Record<string, unknown>;
  for (const field of layout.fields) encodeField(layout, data, bytes, field, values[field.name]);
  return bytes;
}
