/**
 * The Web Worker entry (bundled to dist/web/worker.js). In a dedicated worker it answers the page's
 * messages; loaded as a classic script on the page itself (file:// pages cannot start workers), it
 * exposes the same handler as `globalThis.torchsaveInspector` for the page to call in-thread.
 */
import { Inspector } from "./inspector.js";
import type { Request, Response } from "./protocol.js";

interface WorkerScope {
  onmessage: ((e: { data: Request }) => void) | null;
  postMessage(message: Response, transfer?: ArrayBuffer[]): void;
}

const scope = globalThis as unknown as WorkerScope & { WorkerGlobalScope?: unknown; torchsaveInspector?: (post: (r: Response) => void) => (req: Request) => void };

if (scope.WorkerGlobalScope !== undefined) {
  const inspector = new Inspector((r, transfer) => scope.postMessage(r, transfer ?? []));
  // Requests run one at a time, in order: an open finishes before the tensor asked of it is read.
  let queue: Promise<void> = Promise.resolve();
  scope.onmessage = (e) => {
    queue = queue.then(() => inspector.handle(e.data));
  };
} else {
  scope.torchsaveInspector = (post) => {
    const inspector = new Inspector(post);
    let queue: Promise<void> = Promise.resolve();
    return (req) => {
      queue = queue.then(() => inspector.handle(req));
    };
  };
}
