// Arena size: the slots a model's arena gets, and the MAX_ARENA_BYTES limit on the bytes they take. The model load
// refuses an arena over the limit before allocating it; an import refuses such a model before filing it.
import { HttpError } from "../errors.ts";
import { Arena, type ArenaLayout, type ArenaOutputLayout, type InputElement } from "../workers/arena.ts";

/** The largest SharedArrayBuffer JavaScriptCore allocates (4 GiB): the ceiling of MAX_ARENA_BYTES. */
export const ARENA_BYTES_CEILING = 2 ** 32;

/**
 * The arena of a model: ARENA_SLOTS rounded up to whole batches (at least one), and for a fixed batch the scratch
 * slots that let a full batch run at the arena's end. Inputs are float32 CHW tensors, or CHW pixels for a model that
 * converts them itself (models/input-encoding.ts).
 */
export function arenaLayoutFor(
  batch: { capacity: number; fixed: boolean },
  arenaSlots: number,
  input: { width: number; height: number; element: InputElement },
  outputs: ArenaOutputLayout[],
): ArenaLayout {
  return {
    slots: Math.max(batch.capacity, Math.ceil(arenaSlots / batch.capacity) * batch.capacity),
    paddingSlots: batch.fixed ? batch.capacity - 1 : 0,
    inputShape: [3, input.height, input.width],
    inputElement: input.element,
    outputs,
  };
}

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(bytes < 10 * 2 ** 20 ? 1 : 0);

/** Why an arena of `layout` is over `maxArenaBytes` (its size, its slots, what to change), or null when it fits. */
export function arenaSizeProblem(layout: ArenaLayout, maxArenaBytes: number): string | null {
  const bytes = Arena.byteLength(layout);
  if (bytes <= maxArenaBytes) return null;
  const slots = layout.slots + layout.paddingSlots;
  const [, height, width] = layout.inputShape;
  return (
    `its arena would take ${mib(bytes)} MiB (${slots} slots of ${mib(bytes / slots)} MiB for a ${width}x${height} input and its outputs), ` +
    `more than MAX_ARENA_BYTES (${mib(maxArenaBytes)} MiB). Lower ARENA_SLOTS or MAX_BATCH_SIZE, raise MAX_ARENA_BYTES ` +
    `(at most ${mib(ARENA_BYTES_CEILING)} MiB), or use a smaller input size.`
  );
}

/** A model whose arena is over MAX_ARENA_BYTES: a 400 naming the limit, instead of a failed allocation's 500. */
export class ArenaTooLargeError extends HttpError {
  constructor(modelKey: string, problem: string) {
    super(400, `Model ${modelKey} cannot be loaded: ${problem}`);
    this.name = "ArenaTooLargeError";
  }
}

/** Throws ArenaTooLargeError when `layout` is over `maxArenaBytes` (the load's check, before allocating). */
export function checkArenaSize(modelKey: string, layout: ArenaLayout, maxArenaBytes: number): void {
  const problem = arenaSizeProblem(layout, maxArenaBytes);
  if (problem) throw new ArenaTooLargeError(modelKey, problem);
}

/**
 * The import's check, under the server's settings: why the arena a model of this batch, input size and (per image)
 * output shapes would get is over MAX_ARENA_BYTES, or null when it fits. Inputs count as float32, the larger of the
 * two an arena may hold.
 */
export function importArenaProblem(settings: { maxBatchSize: number; arenaSlots: number; maxArenaBytes: number }) {
  return (batch: { fixed: boolean; size: number | null }, input: { width: number; height: number }, outputShapes: number[][]): string | null => {
    const capacity = batch.fixed && batch.size ? batch.size : settings.maxBatchSize;
    const outputs = outputShapes.map((shape, i) => ({ name: `output${i}`, shape }));
    return arenaSizeProblem(arenaLayoutFor({ capacity, fixed: batch.fixed }, settings.arenaSlots, { ...input, element: "float32" }, outputs), settings.maxArenaBytes);
  };
}
