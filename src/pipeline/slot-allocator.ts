// Slot allocator: hands out FREE arena slots in ring order (main thread only).
//
// Ring order keeps requests that arrive together in consecutive slots, which is what lets the
// batcher run them as one contiguous batch.
import { SlotState, type Arena } from "../workers/arena.ts";

export class SlotAllocator {
  private cursor = 0;

  constructor(private readonly arena: Arena) {}

  /** Claims the next FREE slot (FREE -> ASSIGNED), or returns -1 when every slot is busy. */
  acquire(): number {
    const slots = this.arena.layout.slots;
    for (let step = 0; step < slots; step++) {
      const slot = (this.cursor + step) % slots;
      if (this.arena.transition(slot, SlotState.FREE, SlotState.ASSIGNED)) {
        this.cursor = (slot + 1) % slots;
        return slot;
      }
    }
    return -1;
  }

  /** Slots not FREE right now (assigned, queued for inference, running or being postprocessed). */
  inUse(): number {
    return this.arena.layout.slots - this.arena.countInState(SlotState.FREE);
  }
}
