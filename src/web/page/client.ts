/**
 * Talks to the inspector: a dedicated Web Worker (worker.js beside the page) when the page may start
 * one, else the same code loaded as a script and run on the page's thread (pages opened from
 * file://). Requests are promises; progress arrives through a callback.
 */
import type { Request, RequestBody, Response } from "../protocol.js";

type Progress = (done: number, total: number, what: string) => void;
type Pending = { resolve(v: unknown): void; reject(e: Error): void; progress?: Progress };
type Sender = (req: Request) => void;

declare global {
  // Set by worker.js when it is loaded as a classic script on the page.
  var torchsaveInspector: ((post: (r: Response) => void) => (req: Request) => void) | undefined;
}

let nextId = 1;

export class InspectorClient {
  private readonly pending = new Map<number, Pending>();
  /** Called with true when a request starts while none is pending, false when the last one ends. */
  onBusy: ((busy: boolean) => void) | undefined;
  private constructor(private readonly send: Sender, readonly mode: "worker" | "page", private readonly worker?: Worker) {}

  /** Starts a worker; falls back to running on the page. */
  static async start(workerUrl = "worker.js"): Promise<InspectorClient> {
    if (location.protocol !== "file:") {
      try {
        let client: InspectorClient | undefined;
        const worker = new Worker(workerUrl);
        client = new InspectorClient((req) => worker.postMessage(req), "worker", worker);
        const c = client;
        worker.onmessage = (e: MessageEvent<Response>) => c.receive(e.data);
        worker.onerror = (e) => c.failAll(`the worker failed: ${e.message}`);
        return client;
      } catch {
        // fall through: run in the page
      }
    }
    if (globalThis.torchsaveInspector === undefined) {
      await new Promise<void>((resolve, reject) => {
        const s = document.createElement("script");
        s.src = workerUrl;
        s.onload = () => resolve();
        s.onerror = () => reject(new Error(`could not load ${workerUrl}`));
        document.head.append(s);
      });
    }
    const start = globalThis.torchsaveInspector;
    if (start === undefined) throw new Error(`${workerUrl} did not start the inspector`);
    let client!: InspectorClient;
    const handle = start((r) => client.receive(r));
    client = new InspectorClient(handle, "page");
    return client;
  }

  request<T>(req: RequestBody, progress?: Progress): Promise<T> {
    const id = nextId++;
    if (this.pending.size === 0) this.onBusy?.(true);
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, ...(progress === undefined ? {} : { progress }) });
      this.send({ ...req, id } as Request);
    });
  }

  private receive(r: Response): void {
    const p = this.pending.get(r.id);
    if (p === undefined) return;
    if ("progress" in r) {
      p.progress?.(r.progress.done, r.progress.total, r.progress.what);
      return;
    }
    this.pending.delete(r.id);
    if (r.ok) p.resolve(r.value);
    else p.reject(new Error(r.error));
    if (this.pending.size === 0) this.onBusy?.(false);
  }

  /** Stops the worker (a page-thread inspector cannot be stopped); pending requests reject. Returns whether it stopped. */
  terminate(): boolean {
    if (this.worker === undefined) return false;
    this.worker.terminate();
    this.failAll("stopped");
    return true;
  }

  private failAll(message: string): void {
    for (const p of this.pending.values()) p.reject(new Error(message));
    this.pending.clear();
  }
}
