// Model instance: one load of a model, with its own identity, arena and queue; a model unloaded and loaded again is a new instance.
import type { ModelPackage } from "../models/package.ts";
import type { ModelSpec } from "../models/model-spec.ts";
import type { Arena } from "../workers/arena.ts";
import type { ModelQueue } from "./model-queue.ts";

export interface ModelInstance {
  /** Unique among every instance this process loads: the name the threads know it by (workers/protocol.ts). */
  id: number;
  spec: ModelSpec;
  pkg: ModelPackage;
  arena: Arena;
  queue: ModelQueue;
  /** The execution providers its sessions run on (several when devices differ, e.g. "cuda,cpu"). */
  activeProvider: string;
}
