// Run after regenerating package-lock.json: `node .ci/fix-lockfile.mjs package-lock.json`.
// Adds lock entries for optional platform packages the registry mirror here does not serve, so
// `npm ci` accepts the lock; they are optional and never installed on this platform.
import { readFileSync, writeFileSync } from "node:fs";
const file = process.argv[2];
const lock = JSON.parse(readFileSync(file, "utf8"));
const pkgs = lock.packages;
let added = 0;
for (const [path, info] of Object.entries(pkgs)) {
  for (const [name, range] of Object.entries(info.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`;
    if (pkgs[key] || pkgs[`${path}/node_modules/${name}`]) continue;
    const m = /-(android|darwin|freebsd|linux|openbsd|openharmony|win32|sunos|aix|netbsd|cygwin)-([a-z0-9]+)/.exec(name);
    pkgs[key] = { version: range, optional: true, ...(m ? { os: [m[1]], cpu: [m[2] === "arm" ? "arm" : m[2]] } : {}) };
    added++;
  }
}
writeFileSync(file, JSON.stringify(lock, null, 2) + "\n");
console.log(`added ${added} entries`);
