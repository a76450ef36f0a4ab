// Collection pacing: a thread that handles images runs a full garbage collection after every so many bytes of them.
//
// A request's body (on the HTTP thread) and its decoded pixels (in a vision worker; sharp allocates
// them outside the JavaScript heap) are garbage once the request is answered, but JavaScriptCore
// hardly counts such memory towards its own collection schedule: under steady load a server kept
// gigabytes of it. The live heaps of these threads are small, so collecting them is cheap, and
// collecting after a fixed number of bytes bounds the garbage at about that many.
//
// The collection is JavaScriptCore's synchronous full collection (bun:jsc fullGC): it pauses a thread for less
// than Bun.gc(true), which does more than collect; an eden collection (edenGC) is cheap but frees none of this
// memory, as the bodies and pixels outlive the young generation (BENCHMARKS.md, "Memory: garbage collected on a
// byte budget").
import { fullGC } from "bun:jsc";

/** The memory section of the configuration, handed to the HTTP thread and every vision worker. */
export interface MemorySettings {
  /** GC_EVERY_MB in bytes: a thread collects after this many bytes of request bodies or images (0 = the engine decides). */
  gcEveryBytes: number;
}

export class CollectionPacer {
  private counted = 0;
  private collectionsRun = 0;

  /** `budgetBytes` <= 0 leaves collection to the engine; `collect` runs one (a synchronous full collection by default). */
  constructor(
    private readonly budgetBytes: number,
    private readonly collect: () => void = fullGC,
  ) {}

  /** Collections run so far (exported per thread by /metrics). */
  get collections(): number {
    return this.collectionsRun;
  }

  /** Counts bytes that become garbage once the request at hand is answered. */
  count(bytes: number): void {
    if (this.budgetBytes > 0 && bytes > 0) this.counted += bytes;
  }

  /** Collects when the bytes counted since the last collection reach the budget; call it once a request is answered. */
  collectIfDue(): boolean {
    if (this.budgetBytes <= 0 || this.counted < this.budgetBytes) return false;
    this.counted = 0;
    this.collectionsRun++;
    this.collect();
    return true;
  }
}
