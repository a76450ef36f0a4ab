// Specification of where a model id's package lives in the cache (docs/compatibility.md §3.2): portable paths, slug directories and their BLAKE2s.
import { describe, expect, test } from "bun:test";
import { blake2sHex } from "../../../src/models/blake2s.ts";
import { cacheSubdir, cacheSubdirCandidates, isPortableCachePath, slugDirectory } from "../../../src/models/cache-layout.ts";
import { parseModelId } from "../../../src/models/model-id.ts";

const id = parseModelId;

describe("BLAKE2s", () => {
  test("matches Python's hashlib.blake2s, 16- and 32-byte digests, across block boundaries", () => {
    expect(blake2sHex("My Project/3", 16)).toBe("9ddd5416f2795a3634c55c5264dfe971");
    expect(blake2sHex("")).toBe("69217a3079908094e11121d042354a7c1f55b6482ca1a51e1b250dfd1ed0eef9");
    expect(blake2sHex("abc")).toBe("508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
    expect(blake2sHex("x".repeat(64), 16)).toBe("e1d5fb352cad2589b30d4f38821b1608");
    expect(blake2sHex("x".repeat(65), 16)).toBe("9381e91d2e26ce9e95e4783b94d3c23f");
    expect(blake2sHex("x".repeat(200), 16)).toBe("bad20b998280e4ce9d7d511b1ad55a63");
  });
});

describe("cache layout", () => {
  test("keeps portable ids as dataset/version", () => {
    for (const raw of ["coco/3", "bccd-i4nym/1", "my_data.set/12", "with space/2"]) {
      expect(isPortableCachePath(id(raw))).toBe(true);
      expect(cacheSubdir(id(raw))).toBe(raw);
      expect(cacheSubdirCandidates(id(raw))).toEqual([raw]);
    }
  });

  test("puts other ids in slug directories named like the reference's (readable prefix + BLAKE2s-128 of the id)", () => {
    // Expected names computed with the reference's algorithm in Python.
    const cases: [string, string][] = [
      ["My Project/3", "~My-Project-3-9ddd5416f2795a3634c55c5264dfe971"],
      ["Very Long Project Name With Many Words And More Words/12", "~Very-Long-Project-Name-With-Many-Words-And-More--00d0aa56979e81d4974bd8861cfdf8b0"],
      ["workflow/1", "~workflow-1-86864c72363e8d504cdd1837a153a474"],
      ["con/1", "~con-1-150abce670304408672968935d8be24c"],
    ];
    for (const [raw, dir] of cases) {
      expect(isPortableCachePath(id(raw))).toBe(false);
      expect(cacheSubdir(id(raw))).toBe(dir);
    }
    expect(slugDirectory("my__odd--name/2")).toBe("~my-odd-name-2-42b5c6020dbd831e02c9a77cc5bd7199");
    expect(slugDirectory("ünï/1")).toBe("~-n-1-0ae66095bb50f5436d16602f55b4406f");
  });

  test("refuses upper case, trailing dots or spaces, device names and reserved first segments as raw paths", () => {
    for (const raw of ["Coco/3", "name./1", "name /1", "aux/1", "lpt1.txt/1", "models-cache/1"]) expect(isPortableCachePath(id(raw))).toBe(false);
  });

  test("keeps a portable instant id as it is, and puts any other in its slug directory", () => {
    for (const raw of ["my-instant-model", "workspace/my-model", "model.v2"]) {
      expect(cacheSubdir(id(raw))).toBe(raw);
      expect(cacheSubdirCandidates(id(raw))).toEqual([raw]);
    }
    // Expected names computed with the reference's algorithm in Python.
    expect(cacheSubdir(id("My-Model"))).toBe("~My-Model-d7fa7343fb09302e0fe6607b025e10cb");
    expect(cacheSubdirCandidates(id("My-Model"))).toEqual(["~My-Model-d7fa7343fb09302e0fe6607b025e10cb", "My-Model"]);
    expect(cacheSubdir(id("workflow"))).toBe("~workflow-1ddc30252ef0ecaf114849b4ec99b18c");
    expect(cacheSubdirCandidates(id("workflow"))).toEqual(["~workflow-1ddc30252ef0ecaf114849b4ec99b18c"]);
  });

  test("still finds packages that older releases wrote under the raw path", () => {
    expect(cacheSubdirCandidates(id("My-Project/3"))).toEqual([slugDirectory("My-Project/3"), "My-Project/3"]);
    // A reserved first segment never falls back to the reference's own directories.
    expect(cacheSubdirCandidates(id("workflow/1"))).toEqual([slugDirectory("workflow/1")]);
  });
});
