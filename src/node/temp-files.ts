/**
 * The temp files of atomic writes: named so they are recognizably ours
 * (`.<name>.<pid>.<host>.<random>.torchsave.tmp`), removed when a write fails, removed on SIGINT,
 * SIGTERM and `process.exit` while a write is under way, and swept from the folder by the next
 * write when a killed process (SIGKILL, a power cut) could not remove its own.
 */
import { createHash, randomBytes } from "node:crypto";
import { readdirSync, statSync, unlinkSync } from "node:fs";
import { hostname } from "node:os";
import { basename, dirname, join } from "node:path";

/** The suffix every temp file of an atomic write ends with. */
export const TEMP_SUFFIX = ".torchsave.tmp";

/**
 * A temp file whose writer still lives (or runs on another machine sharing the folder) is removed
 * by a sweep only once it has not been written for this long: 1 hour. A write in progress touches
 * its file every few milliseconds, so only an abandoned one gets this old.
 */
export const STALE_TEMP_MS = 60 * 60 * 1000;

const HOST = createHash("sha256").update(hostname()).digest("hex").slice(0, 6);
const PATTERN = /^\..*\.(\d+)\.([0-9a-f]{6})\.[0-9a-f]{8}\.torchsave\.tmp$/;

/** A fresh temp path beside `path`, in the same folder (so the rename is atomic). */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${HOST}.${randomBytes(4).toString("hex")}${TEMP_SUFFIX}`);
}

/** True when a process with this id runs on this machine. */
function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes the stale temp files of earlier atomic writes from `dir`: those whose writer was a
 * process of this machine that is gone, and any not written for {@link STALE_TEMP_MS}. Temp files
 * this process is writing are never touched. Best effort: a folder that cannot be listed, or a file
 * another process removes first, is skipped. Returns the names removed.
 */
export function sweepStaleTemps(dir: string, now = Date.now()): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.endsWith(TEMP_SUFFIX)) continue;
    const m = PATTERN.exec(name);
    if (m === null) continue;
    const full = join(dir, name);
    if (active.has(full)) continue;
    const pid = Number(m[1]);
    const ours = m[2] === HOST;
    let stale = ours && pid !== process.pid && !alive(pid);
    if (!stale) {
      try {
        stale = now - statSync(full).mtimeMs > STALE_TEMP_MS;
      } catch {
        continue;
      }
    }
    if (!stale) continue;
    try {
      unlinkSync(full);
      removed.push(name);
    } catch {
      // Gone already, or not ours to remove: nothing to do.
    }
  }
  return removed;
}

/** Temp files this process is writing now. */
const active = new Set<string>();
const SIGNALS = ["SIGINT", "SIGTERM"] as const;

function removeActive(): void {
  for (const p of active) {
    try {
      unlinkSync(p);
    } catch {
      // Already gone.
    }
  }
  active.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  // Only when nobody else handles the signal: then Node would have ended the process right away.
  // With our handler gone, re-raising the signal ends it the same way (exit status 128 + n).
  if (process.listenerCount(signal) > 1) return;
  removeActive();
  uninstall();
  process.kill(process.pid, signal);
}

function onExit(): void {
  removeActive();
}

let installed = false;

function install(): void {
  if (installed) return;
  installed = true;
  for (const s of SIGNALS) process.on(s, onSignal);
  process.on("exit", onExit);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  for (const s of SIGNALS) process.off(s, onSignal);
  process.off("exit", onExit);
}

/**
 * Marks `tmp` as being written by this process until the returned function is called: SIGINT or
 * SIGTERM (when the program has no handler of its own) and `process.exit` remove it first.
 * Handlers are installed only while some write is under way.
 */
export function trackTemp(tmp: string): () => void {
  active.add(tmp);
  install();
  return () => {
    active.delete(tmp);
    if (active.size === 0) uninstall();
  };
}
