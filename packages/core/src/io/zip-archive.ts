/**
 * A small read-only zip reader for in-memory archives: what `torch.save` writes (entries stored uncompressed, a
 * zip64 end record) and what zip tools write when an archive is re-packed (deflate). Only what a checkpoint needs:
 * the central directory, stored and deflated entries, CRC-32 checks. No encryption, no multi-disk archives.
 */
import { inflateRawSync } from 'node:zlib';

/** One file of an archive, as its central-directory record describes it. */
export interface ZipEntry {
  /** Path inside the archive (`/`-separated). */
  name: string;
  /** 0 (stored) or 8 (deflate); others are refused when read. */
  method: number;
  /** Bytes in the archive. */
  compressedSize: number;
  /** Bytes once extracted. */
  size: number;
  /** CRC-32 of the extracted bytes. */
  crc32: number;
  /** Where the entry's local header starts. */
  localHeaderOffset: number;
}

/** An opened archive: its entries by name and a reader for their contents. */
export interface ZipArchive {
  /** Entries by name, in central-directory order. */
  entries: Map<string, ZipEntry>;
  /**
   * The extracted bytes of `name` (a view into the archive for stored entries), CRC-checked.
   *
   * @throws Error naming the source and entry when it is missing, truncated, compressed with an unsupported method,
   *   or fails its CRC check.
   */
  read(name: string): Uint8Array;
}

const EOCD = 0x06054b50;
const EOCD64_LOCATOR = 0x07064b50;
const EOCD64 = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

let crcTable: Uint32Array | undefined;

/** CRC-32 (the zip/PNG polynomial) of `bytes`. */
export function crc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  const table = crcTable;
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = table[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * Opens an in-memory zip archive: finds the end-of-central-directory record (zip64 where present) and reads every
 * central-directory entry. Entry contents are read lazily by {@link ZipArchive.read}.
 *
 * @param bytes - The whole archive.
 * @param where - Names the archive in error messages (e.g. `"torch checkpoint 'unet.pt'"`).
 * @throws Error starting with `where` when there is no end record (not a zip, or truncated) or the directory runs
 *   out of the file.
 */
export function openZipArchive(bytes: Uint8Array, where: string): ZipArchive {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (problem: string): Error => new Error(`${where}: ${problem}`);
  const u64 = (at: number, what: string): number => {
    const v = view.getBigUint64(at, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw fail(`${what} ${v} is too large`);
    return Number(v);
  };
  const need = (at: number, n: number, what: string): void => {
    if (at < 0 || at + n > bytes.byteLength) throw fail(`${what} at byte ${at} runs past the end of the file (${bytes.byteLength} bytes): truncated or corrupt`);
  };

  let eocd = -1;
  for (let at = bytes.byteLength - 22; at >= Math.max(0, bytes.byteLength - 22 - 0xffff); at--) {
    if (view.getUint32(at, true) === EOCD) {
      eocd = at;
      break;
    }
  }
  if (eocd < 0) throw fail('no end-of-central-directory record: not a zip archive, or truncated');
  let count = view.getUint16(eocd + 10, true);
  let dirSize = view.getUint32(eocd + 12, true);
  let dirOffset = view.getUint32(eocd + 16, true);
  if (eocd >= 20 && view.getUint32(eocd - 20, true) === EOCD64_LOCATOR) {
    const rec = u64(eocd - 20 + 8, 'zip64 end-record offset');
    need(rec, 56, 'zip64 end record');
    if (view.getUint32(rec, true) !== EOCD64) throw fail(`no zip64 end record at byte ${rec}`);
    count = u64(rec + 32, 'entry count');
    dirSize = u64(rec + 40, 'central-directory size');
    dirOffset = u64(rec + 48, 'central-directory offset');
  } else if (count === 0xffff || dirSize === 0xffffffff || dirOffset === 0xffffffff) {
    throw fail('zip64 sizes without a zip64 end record');
  }
  need(dirOffset, dirSize, 'central directory');

  const decoder = new TextDecoder('utf-8');
  const entries = new Map<string, ZipEntry>();
  let at = dirOffset;
  for (let i = 0; i < count; i++) {
    need(at, 46, `central-directory entry ${i}`);
    if (view.getUint32(at, true) !== CENTRAL) throw fail(`central-directory entry ${i} at byte ${at} has a bad signature`);
    const flags = view.getUint16(at + 8, true);
    const method = view.getUint16(at + 10, true);
    const crc = view.getUint32(at + 16, true);
    let compressedSize = view.getUint32(at + 20, true);
    let size = view.getUint32(at + 24, true);
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    let localHeaderOffset = view.getUint32(at + 42, true);
    need(at + 46, nameLength + extraLength + commentLength, `central-directory entry ${i}`);
    const name = decoder.decode(bytes.subarray(at + 46, at + 46 + nameLength));
    if (flags & 1) throw fail(`entry '${name}' is encrypted`);
    // Zip64 extended information: the 64-bit values of exactly the fields that hold 0xffffffff, in this order.
    let extra = at + 46 + nameLength;
    const extraEnd = extra + extraLength;
    while (extra + 4 <= extraEnd) {
      const id = view.getUint16(extra, true);
      const len = view.getUint16(extra + 2, true);
      if (id === 0x0001) {
        let p = extra + 4;
        if (size === 0xffffffff) {
          size = u64(p, 'entry size');
          p += 8;
        }
        if (compressedSize === 0xffffffff) {
          compressedSize = u64(p, 'entry size');
          p += 8;
        }
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = u64(p, 'entry offset');
      }
      extra += 4 + len;
    }
    entries.set(name, { name, method, compressedSize, size, crc32: crc, localHeaderOffset });
    at += 46 + nameLength + extraLength + commentLength;
  }

  const read = (name: string): Uint8Array => {
    const e = entries.get(name);
    if (!e) throw fail(`no entry '${name}'`);
    need(e.localHeaderOffset, 30, `local header of '${name}'`);
    if (view.getUint32(e.localHeaderOffset, true) !== LOCAL) throw fail(`local header of '${name}' has a bad signature`);
    const start = e.localHeaderOffset + 30 + view.getUint16(e.localHeaderOffset + 26, true) + view.getUint16(e.localHeaderOffset + 28, true);
    need(start, e.compressedSize, `data of '${name}'`);
    const raw = bytes.subarray(start, start + e.compressedSize);
    let data: Uint8Array;
    if (e.method === 0) data = raw;
    else if (e.method === 8) {
      try {
        data = inflateRawSync(raw);
      } catch (err) {
        throw fail(`entry '${name}' does not inflate (${err instanceof Error ? err.message : String(err)})`);
      }
    } else throw fail(`entry '${name}' uses compression method ${e.method}; only stored (0) and deflate (8) are supported`);
    if (data.byteLength !== e.size) throw fail(`entry '${name}' has ${data.byteLength} bytes, its directory says ${e.size}`);
    if (crc32(data) !== e.crc32) throw fail(`entry '${name}' fails its CRC-32 check: corrupt`);
    return data;
  };
  return { entries, read };
}
