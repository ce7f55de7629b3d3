/**
 * CRC-32C (Castagnoli), as S3's x-amz-checksum-crc32c carries it: the
 * big-endian 4 bytes of the CRC. Slicing-by-8 tables, so a part of several
 * MiB costs milliseconds. Node's zlib offers only CRC-32 (ISO-HDLC).
 */

/** The reflected Castagnoli polynomial. */
const POLYNOMIAL = 0x82f63b78;

/** TABLES[k][b]: the CRC of byte b followed by k zero bytes. */
const TABLES: readonly Uint32Array[] = (() => {
  const tables = Array.from({ length: 8 }, () => new Uint32Array(256));
  const [first = new Uint32Array(256)] = tables;
  for (let b = 0; b < 256; b++) {
    let c = b;
    for (let bit = 0; bit < 8; bit++) c = c & 1 ? (c >>> 1) ^ POLYNOMIAL : c >>> 1;
    first[b] = c >>> 0;
  }
  for (let k = 1; k < 8; k++) {
    const previous = tables[k - 1] ?? first;
    const table = tables[k] ?? first;
    for (let b = 0; b < 256; b++) {
      const p = previous[b] ?? 0;
      table[b] = ((p >>> 8) ^ (first[p & 0xff] ?? 0)) >>> 0;
    }
  }
  return tables;
})();

const [T0, T1, T2, T3, T4, T5, T6, T7] = TABLES as [
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
];

/** An incremental CRC-32C. */
export class Crc32c {
  #crc = 0xffffffff;

  update(data: Uint8Array): this {
    let crc = this.#crc;
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const n = data.byteLength;
    let i = 0;
    for (; n - i >= 8; i += 8) {
      const low = (crc ^ view.getUint32(i, true)) >>> 0;
      const high = view.getUint32(i + 4, true);
      crc =
        (T7[low & 0xff] as number) ^
        (T6[(low >>> 8) & 0xff] as number) ^
        (T5[(low >>> 16) & 0xff] as number) ^
        (T4[low >>> 24] as number) ^
        (T3[high & 0xff] as number) ^
        (T2[(high >>> 8) & 0xff] as number) ^
        (T1[(high >>> 16) & 0xff] as number) ^
        (T0[high >>> 24] as number);
    }
    for (; i < n; i++) crc = (crc >>> 8) ^ (T0[(crc ^ view.getUint8(i)) & 0xff] as number);
    this.#crc = crc >>> 0;
    return this;
  }

  /** The CRC so far as S3 wants it: 4 bytes, big-endian. */
  digest(): Buffer {
    const out = Buffer.alloc(4);
    out.writeUInt32BE((this.#crc ^ 0xffffffff) >>> 0);
    return out;
  }
}
