// Test helper: variants of fixture packages in a temporary model cache (a copy with edited environment.json, model_type.json or files), for behaviour that needs a package the fixtures do not ship.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { FIXTURE_CACHE } from "./server-process.ts";

export interface PackageEdits {
  /** Returns the new environment.json content from the fixture's. */
  environment?: (environment: Record<string, any>) => Record<string, any>;
  /** Keys merged into model_type.json (its model_id is always the copy's id). */
  modelType?: Record<string, string>;
  /** Files of the package to delete. */
  remove?: string[];
  /** Files to write (name -> content). */
  write?: Record<string, string | Uint8Array>;
}

/** A temporary model cache; `remove()` deletes it. */
export class VariantCache {
  readonly dir = mkdtempSync(join(tmpdir(), "variant-cache-"));

  /** Copies fixture package `from` (e.g. "rfdetr-probe/1") to `to` in this cache, then applies `edits`. */
  add(from: string, to: string, edits: PackageEdits = {}): string {
    const dir = join(this.dir, to);
    cpSync(join(FIXTURE_CACHE, from), dir, { recursive: true });
    rmSync(join(dir, ".fixture-stamp"), { force: true });
    const environmentPath = join(dir, "environment.json");
    if (edits.environment) writeFileSync(environmentPath, JSON.stringify(edits.environment(JSON.parse(readFileSync(environmentPath, "utf8"))), null, 2));
    const modelTypePath = join(dir, "model_type.json");
    writeFileSync(modelTypePath, JSON.stringify({ ...JSON.parse(readFileSync(modelTypePath, "utf8")), ...edits.modelType, model_id: to }, null, 2));
    for (const file of edits.remove ?? []) rmSync(join(dir, file));
    for (const [file, content] of Object.entries(edits.write ?? {})) writeFileSync(join(dir, file), content);
    return to;
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export type Rgb = [number, number, number];

/** A solid-colour PNG, base64. */
export async function solidPng(rgb: Rgb, width: number, height: number): Promise<string> {
  const png = await sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } })
    .png()
    .toBuffer();
  return png.toString("base64");
}

export const base64Image = (value: string) => ({ type: "base64", value });
