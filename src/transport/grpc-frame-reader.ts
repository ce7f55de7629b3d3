/**
 * Reads gRPC's length-prefixed messages from the bytes of an HTTP/2 request
 * as they arrive, without copying the bulk of them.
 *
 * A message whose only field is the one bytes field named in the options
 * (an UploadStream chunk) is not assembled: its value is handed on as views
 * of the buffers it arrived in, piece by piece, so a 1 MiB chunk that came
 * in 16 KiB DATA frames costs no allocation and no copy here. Every other
 * message (a header, a finish, anything encoded otherwise, or a bytes value
 * above maxViewBytes) is assembled whole and handed on to be decoded.
 *
 * The framing rules are gRPC's: a 1-byte flag (compression, which a caller
 * that declared no encoding must not set) and a 4-byte big-endian length,
 * at most readMaxBytes. A request that ends inside a message is an error.
 */
import { Code, ConnectError } from "@connectrpc/connect";

/** What the reader hands on, in order. */
export type FramePiece =
  /** The next bytes of the bytes field's value (a view: do not write to it). */
  | { readonly kind: "bytes"; readonly view: Uint8Array }
  /** A whole message, to decode. */
  | { readonly kind: "message"; readonly bytes: Uint8Array };

export interface FrameReaderOptions {
  /** Largest message accepted, in bytes. */
  readonly readMaxBytes: number;
  /** The bytes field delivered as views: its number (below 16), and the largest value delivered so. */
  readonly bytesField: { readonly number: number; readonly maxViewBytes: number };
}

const PREFIX_BYTES = 5;
/** A field's tag byte and a varint length: at most 1 + 10 bytes. */
const MAX_HEAD_BYTES = 11;

export class GrpcFrameReader {
  readonly #readMaxBytes: number;
  readonly #tag: number;
  readonly #maxViewBytes: number;
  /** What is being read: the prefix, a message's head, its views, or the whole message. */
  #state: "prefix" | "head" | "views" | "whole" = "prefix";
  /** Bytes of the prefix or the head gathered so far. */
  #small = Buffer.alloc(MAX_HEAD_BYTES);
  #smallBytes = 0;
  /** The current message's length, and how much of it is still to come. */
  #length = 0;
  #remaining = 0;
  #whole: Buffer | undefined;
  #wholeBytes = 0;

  constructor(options: FrameReaderOptions) {
    if (options.bytesField.number >= 16) throw new Error("the bytes field's tag must be one byte");
    this.#readMaxBytes = options.readMaxBytes;
    this.#tag = (options.bytesField.number << 3) | 2;
    this.#maxViewBytes = options.bytesField.maxViewBytes;
  }

  /** The pieces data completes, in order. Throws a ConnectError on a framing error. */
  push(data: Uint8Array): FramePiece[] {
    const out: FramePiece[] = [];
    let at = 0;
    while (at < data.byteLength) {
      switch (this.#state) {
        case "prefix": {
          at += this.#gather(data, at, PREFIX_BYTES);
          if (this.#smallBytes === PREFIX_BYTES) this.#startMessage(out);
          break;
        }
        case "head": {
          const want = Math.min(MAX_HEAD_BYTES, this.#length);
          const took = this.#gather(data, at, want);
          at += took;
          this.#remaining -= took;
          this.#readHead(out, want);
          break;
        }
        case "views": {
          const take = Math.min(this.#remaining, data.byteLength - at);
          out.push({ kind: "bytes", view: data.subarray(at, at + take) });
          at += take;
          this.#remaining -= take;
          if (this.#remaining === 0) this.#state = "prefix";
          break;
        }
        case "whole": {
          const whole = this.#whole as Buffer;
          const take = Math.min(this.#remaining, data.byteLength - at);
          whole.set(data.subarray(at, at + take), this.#wholeBytes);
          this.#wholeBytes += take;
          at += take;
          this.#remaining -= take;
          if (this.#remaining === 0) this.#endWhole(out);
          break;
        }
      }
    }
    return out;
  }

  /** The request has ended: throws if it ended inside a message. */
  end(): void {
    if (this.#state !== "prefix" || this.#smallBytes > 0) {
      throw new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
    }
  }

  /** Copies bytes of data from at into the small buffer, up to want; returns how many. */
  #gather(data: Uint8Array, at: number, want: number): number {
    const take = Math.min(want - this.#smallBytes, data.byteLength - at);
    this.#small.set(data.subarray(at, at + take), this.#smallBytes);
    this.#smallBytes += take;
    return take;
  }

  #startMessage(out: FramePiece[]): void {
    const flags = this.#small[0] ?? 0;
    const length = this.#small.readUInt32BE(1);
    this.#smallBytes = 0;
    if ((flags & 1) !== 0) {
      throw new ConnectError(
        "protocol error: received a compressed message, but no grpc-encoding was declared",
        Code.Internal,
      );
    }
    if (length > this.#readMaxBytes) {
      throw new ConnectError(
        `message size ${length} is larger than configured readMaxBytes ${this.#readMaxBytes}`,
        Code.ResourceExhausted,
      );
    }
    this.#length = length;
    this.#remaining = length;
    if (length === 0) {
      out.push({ kind: "message", bytes: new Uint8Array(0) });
      return;
    }
    this.#state = "head";
  }

  /**
   * Decides, from the head gathered so far, whether the message is the bytes
   * field alone (views follow) or something to assemble whole.
   */
  #readHead(out: FramePiece[], want: number): void {
    const head = this.#small;
    if (head[0] !== this.#tag) {
      if (this.#smallBytes > 0) this.#toWhole(out);
      return;
    }
    // The value's length: a varint after the tag.
    let value = 0;
    let scale = 1;
    for (let i = 1; i < this.#smallBytes; i++) {
      const byte = head[i] ?? 0;
      value += (byte & 0x7f) * scale;
      scale *= 128;
      if ((byte & 0x80) === 0) {
        const headBytes = i + 1;
        if (headBytes + value !== this.#length || value > this.#maxViewBytes) {
          this.#toWhole(out);
          return;
        }
        // The head may hold the value's first bytes: they go first, as a copy.
        const early = this.#smallBytes - headBytes;
        if (early > 0 || value === 0) {
          out.push({
            kind: "bytes",
            view: Uint8Array.prototype.slice.call(head, headBytes, this.#smallBytes),
          });
        }
        this.#smallBytes = 0;
        this.#state = this.#remaining === 0 ? "prefix" : "views";
        return;
      }
    }
    // The varint goes on: wait for more, unless the head is as long as it can be.
    if (this.#smallBytes === want) this.#toWhole(out);
  }

  /** Assembles the message whole, starting with the head already gathered. */
  #toWhole(out: FramePiece[]): void {
    this.#whole = Buffer.allocUnsafe(this.#length);
    this.#whole.set(this.#small.subarray(0, this.#smallBytes), 0);
    this.#wholeBytes = this.#smallBytes;
    this.#smallBytes = 0;
    this.#state = "whole";
    if (this.#remaining === 0) this.#endWhole(out);
  }

  #endWhole(out: FramePiece[]): void {
    out.push({ kind: "message", bytes: this.#whole as Buffer });
    this.#whole = undefined;
    this.#wholeBytes = 0;
    this.#state = "prefix";
  }
}
