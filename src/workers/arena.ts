// Arena: one model's SharedArrayBuffer of slots (input tensor, raw outputs, state word, ready time per slot).
//
// A slot's input is the model's own float32 tensor, or CHW pixels (8-bit or 8.8 fixed point) when the model was
// rewritten to convert them itself (models/input-encoding.ts): a quarter or a half of the bytes for the same image.
//
// The slot is the request's identity in shared memory: every thread that touches a request
// (HTTP main thread, vision workers, inference worker) builds an Arena over the same buffer
// and moves the slot through its states with compare-and-swap, only through slot-states.ts
// (the diagram is there). Inputs and outputs of consecutive slots are contiguous, so a batch
// is a start slot and a count.

import type { InputElement } from "../models/input-encoding.ts";

export const SlotState = {
  FREE: 0,
  ASSIGNED: 1,
  READY: 2,
  RUNNING: 3,
  INFERRED: 4,
} as const;
export type SlotStateValue = (typeof SlotState)[keyof typeof SlotState];

export type { InputElement };

export interface ArenaOutputLayout {
  name: string;
  /** Shape of one image's output (the batch axis removed). */
  shape: number[];
}

export interface ArenaLayout {
  /** Slots that requests are assigned to. */
  slots: number;
  /** Trailing scratch slots never assigned: they let a fixed-batch model run a full batch at the arena's end. */
  paddingSlots: number;
  /** One image's input tensor shape without the batch axis, e.g. [3, 640, 640]. */
  inputShape: number[];
  /** How an input is stored: the model's float32 tensor, or pixels the model converts itself. */
  inputElement: InputElement;
  outputs: ArenaOutputLayout[];
}

/** An input region as the threads see it, per the layout's inputElement. */
export type InputData = Float32Array | Uint8Array | Uint16Array;

const INPUT_ARRAY = { float32: Float32Array, uint8: Uint8Array, uint16: Uint16Array } as const;

const product = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

/** Byte offsets of each region; float regions are 16-byte aligned so SIMD kernels see aligned data. */
function regions(layout: ArenaLayout) {
  const total = layout.slots + layout.paddingSlots;
  const align = (n: number) => Math.ceil(n / 16) * 16;
  const statesOffset = 0;
  const readyAtOffset = align(statesOffset + total * 4);
  const inputOffset = align(readyAtOffset + total * 8);
  const inputElements = product(layout.inputShape);
  let cursor = align(inputOffset + total * inputElements * INPUT_ARRAY[layout.inputElement].BYTES_PER_ELEMENT);
  const outputs = layout.outputs.map((o) => {
    const floats = product(o.shape);
    const region = { offset: cursor, floatsPerSlot: floats };
    cursor = align(cursor + total * floats * 4);
    return region;
  });
  return { total, statesOffset, readyAtOffset, inputOffset, inputElements, outputs, byteLength: cursor };
}

/** Milliseconds on a clock shared by all threads (each worker has its own performance.timeOrigin). */
export function sharedNow(): number {
  return performance.timeOrigin + performance.now();
}

export class Arena {
  readonly states: Int32Array;
  /** When each slot became READY (sharedNow() ms): the batcher serves the oldest first. */
  readonly readyAt: Float64Array;
  private readonly geometry: ReturnType<typeof regions>;

  constructor(
    readonly layout: ArenaLayout,
    readonly buffer: SharedArrayBuffer,
  ) {
    this.geometry = regions(layout);
    if (buffer.byteLength < this.geometry.byteLength) {
      throw new Error(`arena buffer holds ${buffer.byteLength} bytes, layout needs ${this.geometry.byteLength}`);
    }
    this.states = new Int32Array(buffer, this.geometry.statesOffset, this.geometry.total);
    this.readyAt = new Float64Array(buffer, this.geometry.readyAtOffset, this.geometry.total);
  }

  static allocate(layout: ArenaLayout): Arena {
    return new Arena(layout, new SharedArrayBuffer(regions(layout).byteLength));
  }

  static byteLength(layout: ArenaLayout): number {
    return regions(layout).byteLength;
  }

  get totalSlots(): number {
    return this.geometry.total;
  }

  /** The input of `count` consecutive slots starting at `slot` (a view, no copy). */
  input(slot: number, count = 1): InputData {
    this.checkRange(slot, count);
    const n = this.geometry.inputElements;
    const offset = this.geometry.inputOffset + slot * n * INPUT_ARRAY[this.layout.inputElement].BYTES_PER_ELEMENT;
    switch (this.layout.inputElement) {
      case "float32":
        return new Float32Array(this.buffer, offset, count * n);
      case "uint8":
        return new Uint8Array(this.buffer, offset, count * n);
      case "uint16":
        return new Uint16Array(this.buffer, offset, count * n);
    }
  }

  /** Output `index` of `count` consecutive slots starting at `slot` (a view, no copy). */
  output(index: number, slot: number, count = 1): Float32Array {
    this.checkRange(slot, count);
    const region = this.geometry.outputs[index];
    if (!region) throw new Error(`arena has no output ${index}`);
    const n = region.floatsPerSlot;
    return new Float32Array(this.buffer, region.offset + slot * n * 4, count * n);
  }

  state(slot: number): number {
    return Atomics.load(this.states, slot);
  }

  countInState(state: SlotStateValue): number {
    let n = 0;
    for (let i = 0; i < this.layout.slots; i++) if (Atomics.load(this.states, i) === state) n++;
    return n;
  }

  private checkRange(slot: number, count: number): void {
    if (!Number.isInteger(slot) || !Number.isInteger(count) || slot < 0 || count < 1 || slot + count > this.geometry.total) {
      throw new RangeError(`slots ${slot}..${slot + count - 1} are outside the arena's ${this.geometry.total}`);
    }
  }
}
