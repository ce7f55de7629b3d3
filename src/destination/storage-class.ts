/**
 * The object's storage class: storage_class, as S3 spells it, or the seed's
 * shorthand reduced_redundancy. Both together must agree.
 */

import { callerText } from "../caller-text.js";
import { InvalidFieldError } from "../errors.js";

/** Every storage class S3's PutObject accepts (the SDK's StorageClass values). */
export const STORAGE_CLASSES = [
  "STANDARD",
  "REDUCED_REDUNDANCY",
  "STANDARD_IA",
  "ONEZONE_IA",
  "INTELLIGENT_TIERING",
  "GLACIER",
  "GLACIER_IR",
  "DEEP_ARCHIVE",
  "OUTPOSTS",
  "SNOW",
  "EXPRESS_ONEZONE",
  "FSX_OPENZFS",
  "FSX_ONTAP",
  "AWS_BACKUP_WARM",
  "AWS_BACKUP_LOW_COST_WARM",
] as const;

/** One of STORAGE_CLASSES. */
export type StorageClass = (typeof STORAGE_CLASSES)[number];

/**
 * The storage class storage_class and reduced_redundancy ask for; undefined
 * for the bucket's default. Throws InvalidFieldError("storage_class").
 */
export function checkStorageClass(
  storageClass: string,
  reducedRedundancy: boolean,
): StorageClass | undefined {
  if (storageClass === "") return reducedRedundancy ? "REDUCED_REDUNDANCY" : undefined;
  const found = STORAGE_CLASSES.find((c) => c === storageClass);
  if (found === undefined) {
    throw new InvalidFieldError(
      "storage_class",
      `must be one of ${STORAGE_CLASSES.join(", ")}, not "${callerText(storageClass)}"`,
    );
  }
  if (reducedRedundancy && found !== "REDUCED_REDUNDANCY") {
    throw new InvalidFieldError(
      "storage_class",
      `is ${found}, but reduced_redundancy asks for REDUCED_REDUNDANCY: give one of them`,
    );
  }
  return found;
}
