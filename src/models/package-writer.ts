// Package writer: assembles a model package in MODEL_CACHE_DIR's staging area and moves it into place, so that neither
// a crash nor a full disk leaves half a package where packages are read. Roboflow downloads, imports and the
// built-in demo all write through it; it owns the weights file name rule (docs/compatibility.md §3.2) and says when the disk is full (507).
import { existsSync } from "node:fs";
import { copyFile, mkdir, open, readdir, rename, rm, stat, statfs, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { HttpError } from "../errors.ts";
import { isCompletePackage, WEIGHTS_FILES } from "./package.ts";

/** Where packages are assembled before they are renamed into place; the dot keeps it apart from model ids. */
export const STAGING_DIR = ".downloads";

/**
 * A staging directory untouched for this many ROBOFLOW_API_REQUEST_TIMEOUTs belongs to no live writer: a download
 * writes into it at least once per timeout (its inactivity limit), an import writes its upload, then inspects it for
 * seconds; the rest is margin.
 */
const STALE_STAGING_TIMEOUTS = 2;
/** Room wanted beyond a file's own size before it is written: the package's small files and the file system's own blocks. */
const FREE_SPACE_MARGIN_BYTES = 2 ** 20;

/**
 * The file name the reference saves the weights under (docs/compatibility.md §3.2): `yolov5s_weights.onnx` for YOLOv5 detection and
 * segmentation, `best.onnx` for the ViT and ResNet classifiers, `weights.onnx` for everything else. The classifier's
 * class follows its model type as docs/compatibility.md §3.1 maps it: `vit` exactly is ViT (no other `vit…` type is known to the
 * reference), and ResNet by its prefix, as our classification family reads it (`resnet18`/`34`/`50`/`101`).
 */
export function weightsFileName(taskType: string, modelType: string): string {
  const type = modelType.toLowerCase();
  if ((taskType === "object-detection" || taskType === "instance-segmentation") && type.startsWith("yolov5")) return "yolov5s_weights.onnx";
  if (taskType === "classification" && (type === "vit" || type.startsWith("resnet"))) return "best.onnx";
  return "weights.onnx";
}

/** MODEL_CACHE_DIR cannot take the package: the disk is full (507) or refuses the write (500); the path goes to the log only. */
export class CacheWriteError extends HttpError {
  constructor(readonly code: string | undefined) {
    super(
      code === "ENOSPC" || code === "EDQUOT" ? 507 : 500,
      code === "ENOSPC" || code === "EDQUOT"
        ? "Insufficient storage: no space left in MODEL_CACHE_DIR for the model package."
        : `Internal error. Could not write the model package into MODEL_CACHE_DIR${code ? ` (${code})` : ""}.`,
    );
    this.name = "CacheWriteError";
  }
}

/** Runs a file system write; its failure becomes a CacheWriteError (HttpErrors pass through). */
async function writing<T>(log: Pick<Console, "error">, what: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (error instanceof HttpError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    log.error(`model cache: ${what} failed: ${(error as Error).message}`);
    throw new CacheWriteError(code);
  }
}

/** When `path` or an entry directly in it was last modified (ms since the epoch); null when it is gone. */
async function lastWritten(path: string): Promise<number | null> {
  try {
    const info = await stat(path);
    if (!info.isDirectory()) return info.mtimeMs;
    let newest = info.mtimeMs;
    for (const name of await readdir(path)) {
      const entry = await stat(join(path, name)).catch(() => null);
      if (entry) newest = Math.max(newest, entry.mtimeMs);
    }
    return newest;
  } catch {
    return null;
  }
}

/** This process's staging directories in use (downloads and imports alike), which the stale-staging sweep leaves alone. */
const LIVE_STAGING = new Set<string>();

export interface PackageWriterSettings {
  modelCacheDir: string;
  /** ROBOFLOW_API_REQUEST_TIMEOUT: how long a live download may go without writing (see STALE_STAGING_TIMEOUTS). */
  roboflowApiTimeoutMs: number;
}

/** A file being written into the staging area, chunk by chunk. */
export interface StagedFile {
  write(chunk: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

export type InstallOutcome = "created" | "replaced" | "kept";

/** One package being assembled in its own staging directory; `discard` always runs last (it is a no-op once installed). */
export class StagedPackage {
  constructor(
    readonly dir: string,
    private readonly log: Pick<Console, "log" | "error">,
  ) {}

  path(name: string): string {
    return join(this.dir, name);
  }

  async writeFile(name: string, contents: string | Uint8Array | Blob): Promise<void> {
    await writing(this.log, `writing ${this.path(name)}`, async () => {
      if (contents instanceof Blob) await Bun.write(this.path(name), contents);
      else await writeFile(this.path(name), contents);
    });
  }

  async copyIn(name: string, source: string): Promise<void> {
    await writing(this.log, `copying ${source} to ${this.path(name)}`, () => copyFile(source, this.path(name)));
  }

  /** Renames a file already staged (an upload becomes the weights file: no copy). */
  async renameFile(from: string, to: string): Promise<void> {
    if (from !== to) await writing(this.log, `renaming ${this.path(from)}`, () => rename(this.path(from), this.path(to)));
  }

  async open(name: string): Promise<StagedFile> {
    const path = this.path(name);
    const file = await writing(this.log, `creating ${path}`, () => open(path, "w"));
    return {
      write: (chunk) => writing(this.log, `writing ${path}`, async () => void (await file.write(chunk))),
      close: () => file.close(),
    };
  }

  /** Refuses with 507 when MODEL_CACHE_DIR has no room for `bytes` more (and some headroom), before any of them is written. */
  async ensureRoom(bytes: number): Promise<void> {
    const info = await statfs(this.dir).catch(() => null);
    if (info && bytes + FREE_SPACE_MARGIN_BYTES > info.bavail * info.bsize) {
      this.log.error(`model cache: ${bytes} bytes to write, ${info.bavail * info.bsize} free in ${this.dir}`);
      throw new CacheWriteError("ENOSPC");
    }
  }

  /**
   * Installs a downloaded package at `target`. A complete package someone else put there first wins ("kept"). Over
   * an incomplete one (an interrupted copy by hand), or over the directory of an instant id that also holds versions
   * of the same name (`coco/` beside `coco/3/`), the package's files are moved in one by one, environment.json last,
   * so the package counts as cached only once it is whole, and nothing else in the directory is touched.
   */
  async installBeside(target: string): Promise<InstallOutcome> {
    return writing(this.log, `installing ${target}`, async () => {
      await mkdir(dirname(target), { recursive: true });
      try {
        await rename(this.dir, target);
        return "created";
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== "ENOTEMPTY" && code !== "EEXIST") throw error;
      }
      if (isCompletePackage(target)) return "kept";
      // An old weights file of another family's name would win over the new one (WEIGHTS_FILES order).
      for (const name of [...WEIGHTS_FILES, "environment.json"]) await rm(join(target, name), { force: true });
      const names = (await readdir(this.dir)).filter((name) => name !== "environment.json");
      for (const name of [...names, "environment.json"]) await rename(this.path(name), join(target, name));
      return "replaced";
    });
  }

  /**
   * Installs a package at `target` whole (imports, the built-in demo): readers see the old package or the new one,
   * never a mix. An existing package is replaced only with `overwrite` (its old weights file, whatever its name, goes
   * with it), else the answer is "kept" and nothing changes. Another writer of the same id may be replacing it at the
   * same time (servers starting on one cache): whichever puts its package in place first wins, and the other's answer
   * is "kept".
   */
  async installReplacing(target: string, overwrite: boolean): Promise<InstallOutcome> {
    return writing(this.log, `installing ${target}`, async () => {
      const existed = existsSync(target);
      if (existed && !overwrite) return "kept";
      await mkdir(dirname(target), { recursive: true });
      // The old package is moved aside into the staging area, so that a crash leaves it where the sweep finds it.
      const retired = `${this.dir}.replaced`;
      LIVE_STAGING.add(retired);
      try {
        let movedAside = false;
        if (existed) {
          try {
            await rename(target, retired);
            movedAside = true;
          } catch (error) {
            // Gone since the check: another writer moved it aside to put its own in place.
            if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
          }
        }
        try {
          await rename(this.dir, target);
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          // Another writer of the same id put its package in place first: the old one must not come back over it.
          if (code === "ENOTEMPTY" || code === "EEXIST") {
            if (movedAside) await rm(retired, { recursive: true, force: true });
            return "kept";
          }
          if (movedAside) await rename(retired, target).catch(() => undefined);
          throw error;
        }
        if (movedAside) await rm(retired, { recursive: true, force: true });
        return existed ? "replaced" : "created";
      } finally {
        LIVE_STAGING.delete(retired);
      }
    });
  }

  /** Removes what is left of the staging directory (all of it when nothing was installed). */
  async discard(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true }).catch(() => undefined);
    LIVE_STAGING.delete(this.dir);
  }
}

export class PackageWriter {
  constructor(
    private readonly settings: PackageWriterSettings,
    private readonly log: Pick<Console, "log" | "error"> = console,
  ) {}

  get stagingRoot(): string {
    return join(this.settings.modelCacheDir, STAGING_DIR);
  }

  /** A fresh staging directory named after `label` (a cache path with `/` as `~`), after sweeping stale ones. */
  async stage(label: string): Promise<StagedPackage> {
    await this.removeStaleStaging();
    const dir = join(this.stagingRoot, `${label.replaceAll("/", "~")}.${process.pid}.${crypto.randomUUID()}`);
    LIVE_STAGING.add(dir);
    try {
      await writing(this.log, `creating ${dir}`, () => mkdir(dir, { recursive: true }));
    } catch (error) {
      LIVE_STAGING.delete(dir);
      throw error;
    }
    return new StagedPackage(dir, this.log);
  }

  /**
   * Removes what a crashed or killed earlier process left in the staging area: entries nothing has written to for
   * STALE_STAGING_TIMEOUTS request timeouts, other than this process's own (however long they stall).
   */
  private async removeStaleStaging(): Promise<void> {
    const names = await readdir(this.stagingRoot).catch(() => [] as string[]);
    const cutoff = Date.now() - STALE_STAGING_TIMEOUTS * this.settings.roboflowApiTimeoutMs;
    for (const name of names) {
      const path = join(this.stagingRoot, name);
      if (LIVE_STAGING.has(path)) continue;
      const written = await lastWritten(path);
      // Gone meanwhile (another process finished with it), or still being written.
      if (written === null || written >= cutoff) continue;
      await rm(path, { recursive: true, force: true }).catch(() => undefined);
      this.log.log(`removed ${STAGING_DIR}/${name} from MODEL_CACHE_DIR: left unfinished by an earlier process`);
    }
  }
}
