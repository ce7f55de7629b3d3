/**
 * A credential secret that cannot leak by accident: it prints, inspects and
 * serialises as "[redacted]", and only `reveal()` gives the value, at the one
 * place it is handed to the signer.
 */
const REDACTED = "[redacted]";

export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  /** The secret itself. Call it only to hand the value to the SDK. */
  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return REDACTED;
  }
}
