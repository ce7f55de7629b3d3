/** A short, printable rendering of caller input for messages: at most 64 characters, escaped. */
export function printable(value: string): string {
  const cut = value.length > 64 ? `${value.slice(0, 64)}...` : value;
  return JSON.stringify(cut).slice(1, -1);
}
