/**
 * Caller input quoted in a message meant for the caller (or a log): cut to
 * a few characters, so a message that echoes what a caller sent is never
 * larger than a few hundred bytes however large the input was, and escaped
 * as a JSON string's body, so quotes and control characters show as such.
 */

/** Characters of caller input a message quotes by default. */
export const CALLER_TEXT_MAX_CHARS = 64;

/** value, at most maxChars characters of it (then "..."), JSON-escaped, without quotes. */
export function callerText(value: string, maxChars = CALLER_TEXT_MAX_CHARS): string {
  let cut = value;
  if (value.length > maxChars) {
    // Never inside a surrogate pair.
    const last = value.charCodeAt(maxChars - 1);
    cut = `${value.slice(0, last >= 0xd800 && last <= 0xdbff ? maxChars - 1 : maxChars)}...`;
  }
  return JSON.stringify(cut).slice(1, -1);
}
