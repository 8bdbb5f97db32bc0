/**
 * `torchsave view [FILE...] [--port N] [--open]`: serves the inspector page (dist/web) and the given
 * files on 127.0.0.1, prints the address, and opens a browser only when asked. Runs until
 * interrupted (Ctrl-C).
 */
import { spawn } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "../command.js";
import { EXIT_OK, UsageError } from "../errors.js";
import { startViewServer } from "../view-server.js";

/** dist/web beside dist/cli (the built package), or the TORCHSAVE_WEB_ROOT folder. */
export function webRoot(): string {
  const fromEnv = process.env.TORCHSAVE_WEB_ROOT;
  if (fromEnv !== undefined && fromEnv !== "") return resolve(fromEnv);
  return resolve(dirname(fileURLToPath(import.meta.url)), "..", "web");
}

function openBrowser(url: string): void {
  const cmd = process.platform === "darwin" ? "open" : process.platform === "win32" ? "explorer" : "xdg-open";
  const child = spawn(cmd, [url], { stdio: "ignore", detached: true });
  child.on("error", () => undefined);
  child.unref();
}

export const viewCommand: Command = {
  name: "view",
  summary: "open the inspector page in a browser: tree, statistics, histograms, validation, diff, convert",
  usage: "torchsave view [FILE...] [--port N] [--open] [--json]",
  options: {
    port: { type: "string", arg: "N", doc: "serve on 127.0.0.1:N (default: a free port); the page is reachable from this machine only." },
    json: { type: "boolean", doc: "print {url, files} as one JSON object instead of the bare URL (for scripts that start the server)." },
    open: { type: "boolean", doc: "also start the system's browser on the URL (by default the URL is printed, and the server runs until Ctrl-C)." },
  },
  examples: [
    "torchsave view ckpt.pt                     # prints http://127.0.0.1:PORT/?… : tree, statistics, histograms, validation",
    "torchsave view before.pt after.pt --open   # two files: the diff view, in your browser",
    "torchsave view                             # the page alone: drop files on it (nothing is uploaded)",
  ],
  minPositionals: 0,
  maxPositionals: Number.MAX_SAFE_INTEGER,
  async run({ positionals, values, out, err }) {
    const files = positionals.map((f) => resolve(f));
    for (const f of files) {
      if (!existsSync(f) || !statSync(f).isFile()) throw new UsageError(`${f} is not a file`);
    }
    const port = values.port === undefined ? 0 : Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port takes a port number, not ${JSON.stringify(values.port)}`);
    const root = webRoot();
    if (!existsSync(join(root, "index.html"))) throw new UsageError(`the inspector page is missing from ${root} (run npm run build)`);
    const server = await startViewServer({ webRoot: root, files, port });
    // The handlers go in before the address is printed: whoever reads it may stop the server at once.
    const stopped = new Promise<void>((done) => {
      const stop = () => {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
        void server.close().then(done);
        // Open keep-alive connections would hold close() up; they are the browser's, drop them.
        server.server.closeAllConnections?.();
      };
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
    });
    out(values.json === true ? JSON.stringify({ url: server.url, files }) : server.url);
    err(`torchsave view: serving ${files.length} file${files.length === 1 ? "" : "s"} on 127.0.0.1 only; Ctrl-C stops`);
    if (values.open === true) openBrowser(server.url);
    await stopped;
    return EXIT_OK;
  },
};
