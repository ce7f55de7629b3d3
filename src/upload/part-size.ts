/**
 * Multipart part sizing: S3 allows at most 10,000 parts of 5 MiB to 5 GiB
 * (the last may be smaller) and objects of at most 5 TiB.
 *
 * With a declared size, every part but the last has one size: the preferred
 * one while the object fits in 10,000 parts of it, otherwise the smallest
 * whole MiB that fits.
 *
 * Without one, parts start at the preferred size and grow with the upload:
 * each part is at least 1/1,200 of what was already uploaded. Growth is
 * geometric once the upload passes 1,200 parts' worth, so 10,000 parts
 * reach 5 TiB from a 5 MiB start, while no part exceeds 5 GiB (5 TiB / 1,200
 * is 4.3 GiB). Small and medium uploads never see parts above the preferred
 * size; a 100 GiB stream of 8 MiB start ends with 85 MiB parts.
 */

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** Fewest bytes in any part but the last. */
export const MIN_PART_BYTES = 5 * MiB;
/** Most bytes in one part. */
export const MAX_PART_BYTES = 5 * GiB;
/** Most parts in one multipart upload. */
export const MAX_PARTS = 10_000;
/** Largest object S3 stores. */
export const MAX_OBJECT_BYTES = 5 * 1024 * GiB;
/** Without a declared size, each part is at least uploaded/GROWTH_DIVISOR. */
export const GROWTH_DIVISOR = 1_200;

/** The part size for an object of a declared size. */
export function partSizeForDeclared(sizeBytes: number, preferredBytes: number): number {
  const preferred = Math.max(preferredBytes, MIN_PART_BYTES);
  if (Math.ceil(sizeBytes / preferred) <= MAX_PARTS) return preferred;
  return Math.ceil(sizeBytes / MAX_PARTS / MiB) * MiB;
}

/** The size of the next part of an upload of unknown size. */
export function nextPartSize(uploadedBytes: number, preferredBytes: number): number {
  const preferred = Math.max(preferredBytes, MIN_PART_BYTES);
  const grown = Math.ceil(uploadedBytes / GROWTH_DIVISOR / MiB) * MiB;
  return Math.min(Math.max(preferred, grown), MAX_PART_BYTES);
}

/**
 * Chooses part sizes for one upload: fixed for a declared size, growing
 * otherwise.
 */
export function createPartSizer(
  declaredBytes: number | undefined,
  preferredBytes: number,
): (uploadedBytes: number) => number {
  if (declaredBytes !== undefined) {
    const size = partSizeForDeclared(declaredBytes, preferredBytes);
    return () => size;
  }
  return (uploaded) => nextPartSize(uploaded, preferredBytes);
}
