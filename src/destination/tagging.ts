/**
 * The object's tags, checked against S3's limits before anything is sent: at
 * most 10 tags; keys of 1 to 128 and values of at most 256 characters (S3
 * counts UTF-16 code units); Unicode letters, digits, spaces and + - = . _ :
 * / @; no key in the reserved "aws:" namespace.
 */

import { callerText } from "../caller-text.js";
import { InvalidFieldError } from "../errors.js";

/** S3's limits on object tags. */
export const MAX_TAGS = 10;
export const MAX_TAG_KEY_CHARS = 128;
export const MAX_TAG_VALUE_CHARS = 256;

/** The characters S3 allows in tag keys and values. */
const TAG_CHARS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

/** The tags, checked. Throws InvalidFieldError naming tagging or the tag at fault. */
export function checkTagging(tagging: Readonly<Record<string, string>>): Record<string, string> {
  const entries = Object.entries(tagging);
  if (entries.length > MAX_TAGS) {
    throw new InvalidFieldError(
      "tagging",
      `has ${entries.length} tags; S3 allows at most ${MAX_TAGS} per object`,
    );
  }
  for (const [key, value] of entries) {
    const field = `tagging["${callerText(key)}"]`;
    if (key.length === 0 || key.length > MAX_TAG_KEY_CHARS) {
      throw new InvalidFieldError(field, `key must be 1 to ${MAX_TAG_KEY_CHARS} characters`);
    }
    if (!TAG_CHARS.test(key)) {
      throw new InvalidFieldError(
        field,
        "key may contain only letters, digits, spaces and + - = . _ : / @",
      );
    }
    if (key.toLowerCase().startsWith("aws:")) {
      throw new InvalidFieldError(field, 'key must not begin with the reserved prefix "aws:"');
    }
    if (value.length > MAX_TAG_VALUE_CHARS) {
      throw new InvalidFieldError(field, `value must be at most ${MAX_TAG_VALUE_CHARS} characters`);
    }
    if (!TAG_CHARS.test(value)) {
      throw new InvalidFieldError(
        field,
        "value may contain only letters, digits, spaces and + - = . _ : / @",
      );
    }
  }
  // fromEntries defines own properties, so even a "__proto__" key is kept.
  return Object.fromEntries(entries);
}
