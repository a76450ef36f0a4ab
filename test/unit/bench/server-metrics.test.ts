// Specification of how the benchmark reads each thread's memory out of a /metrics scrape.
import { describe, expect, test } from "bun:test";
import { threadMemoryReadings } from "../../../bench/server-metrics.ts";

describe("threadMemoryReadings", () => {
  test("gathers each thread's external memory and paced collections by its label, and ignores every other series", () => {
    const scrape = new Map([
      ['thread_external_memory_bytes{thread="http"}', 21_000_000],
      ['thread_paced_collections_total{thread="http"}', 3],
      ['thread_external_memory_bytes{thread="vision-0"}', 40_000_000],
      ['thread_js_heap_bytes{thread="vision-0"}', 9_000_000],
      ['arena_bytes{model_id="a/1"}', 19_000_000],
    ]);
    expect(threadMemoryReadings(scrape)).toEqual(
      new Map([
        ["http", { externalBytes: 21_000_000, pacedCollections: 3 }],
        ["vision-0", { externalBytes: 40_000_000, pacedCollections: 0 }],
      ]),
    );
  });
});
