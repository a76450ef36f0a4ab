// Protocol Buffers wire format: just enough to read and rewrite ONNX's ModelProto (onnx/pixel-input.ts) and to write
// the test fixtures' models.

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;

/** One field of a message as it was read: its number, wire type, and its encoded bytes (tag included). */
export interface ProtoField {
  field: number;
  wire: number;
  /** The whole field as encoded, tag included: written back unchanged with ProtoWriter.raw. */
  encoded: Uint8Array;
  /** A length-delimited field's payload (a string, bytes or a nested message). */
  payload: Uint8Array;
  /** A varint field's value. */
  varint: bigint;
}

/** The fields of one message in their order; throws on bytes that are not a well-formed message. */
export function readFields(bytes: Uint8Array): ProtoField[] {
  const fields: ProtoField[] = [];
  let at = 0;
  const varint = (): bigint => {
    let value = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (at >= bytes.length || shift > 63n) throw new Error("malformed protobuf varint");
      const byte = bytes[at++]!;
      value |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return value;
    }
  };
  while (at < bytes.length) {
    const start = at;
    const tag = varint();
    const field = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    let payload = bytes.subarray(0, 0);
    let value = 0n;
    if (wire === WIRE_VARINT) value = varint();
    else if (wire === WIRE_FIXED64) at += 8;
    else if (wire === WIRE_FIXED32) at += 4;
    else if (wire === WIRE_LENGTH_DELIMITED) {
      const length = Number(varint());
      payload = bytes.subarray(at, at + length);
      at += length;
    } else throw new Error(`unsupported protobuf wire type ${wire}`);
    if (at > bytes.length || field === 0) throw new Error("truncated protobuf message");
    fields.push({ field, wire, encoded: bytes.subarray(start, at), payload, varint: value });
  }
  return fields;
}

/** A length-delimited field's payload as UTF-8 text. */
export function fieldText(field: ProtoField): string {
  return new TextDecoder().decode(field.payload);
}

/** An append-only protobuf message being written field by field. */
export class ProtoWriter {
  private chunks: Uint8Array[] = [];
  private pending: number[] = [];
  private byteLength = 0;

  private flushPending(): void {
    if (this.pending.length === 0) return;
    this.chunks.push(Uint8Array.from(this.pending));
    this.byteLength += this.pending.length;
    this.pending = [];
  }

  private rawVarint(value: bigint | number): void {
    let v = BigInt.asUintN(64, BigInt(value));
    while (v >= 0x80n) {
      this.pending.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.pending.push(Number(v));
  }

  private tag(field: number, wire: number): void {
    this.rawVarint((field << 3) | wire);
  }

  varint(field: number, value: bigint | number): this {
    this.tag(field, WIRE_VARINT);
    this.rawVarint(value);
    return this;
  }

  float(field: number, value: number): this {
    this.tag(field, WIRE_FIXED32);
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setFloat32(0, value, true);
    this.pending.push(...bytes);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WIRE_LENGTH_DELIMITED);
    this.rawVarint(value.length);
    this.flushPending();
    this.chunks.push(value);
    this.byteLength += value.length;
    return this;
  }

  /** A field read by readFields, copied unchanged. */
  raw(field: ProtoField): this {
    this.flushPending();
    this.chunks.push(field.encoded);
    this.byteLength += field.encoded.length;
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, value: ProtoWriter): this {
    return this.bytes(field, value.finish());
  }

  /** Packed repeated varints (ONNX's int64 lists). */
  packedVarints(field: number, values: readonly (bigint | number)[]): this {
    const inner = new ProtoWriter();
    for (const v of values) inner.rawVarint(v);
    return this.bytes(field, inner.finish());
  }

  /** Packed repeated float32 values. */
  packedFloats(field: number, values: readonly number[]): this {
    return this.bytes(field, new Uint8Array(Float32Array.from(values).buffer));
  }

  finish(): Uint8Array {
    this.flushPending();
    const out = new Uint8Array(this.byteLength);
    let offset = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }
}
