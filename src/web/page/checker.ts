/**
 * The second inspector, which validates. Each file's structural check (container, pickles, imports,
 * weights_only) runs at once; the check of every byte (CRC-32, NaN/Inf) runs only while the page's
 * own inspector is idle: when the person asks for something, the check's worker is stopped and the
 * check starts again once the page has been idle for a moment, so it never competes for the CPU.
 */
import type { OpenInput, ValidationView } from "../protocol.js";
import { InspectorClient } from "./client.js";

export interface CheckHooks {
  done(v: ValidationView): void;
  fail(message: string): void;
  progress?(done: number, total: number): void;
}

interface Job extends CheckHooks {
  readonly input: OpenInput;
  readonly data: boolean;
}

/** How long the page must be idle before a data check (re)starts. */
const IDLE_MS = 300;

export class Checker {
  private client: Promise<InspectorClient> | undefined;
  private readonly queue: Job[] = [];
  private running: Job | undefined;
  private busy = false;
  private idleSince = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  /** Queues a check of `input`: structural, or (`data`) every byte too. */
  check(input: OpenInput, data: boolean, hooks: CheckHooks): void {
    this.queue.push({ input, data, ...hooks });
    this.pump();
  }

  /** Forgets queued checks (new files replace the old ones); a running data check is stopped. */
  clear(): void {
    this.queue.length = 0;
    if (this.running?.data === true) this.stop(this.running, false);
  }

  /** The page's inspector became busy or idle: a running data check stops, and resumes later. */
  setBusy(busy: boolean): void {
    this.busy = busy;
    this.idleSince = performance.now();
    if (busy && this.running?.data === true) this.stop(this.running, true);
    this.pump();
  }

  /** Stops the worker running `job` (a page-thread inspector cannot stop); `again` queues it first. */
  private stop(job: Job, again: boolean): void {
    void this.client?.then((c) => {
      if (this.running !== job || !c.terminate()) return;
      this.running = undefined;
      this.client = undefined;
      if (again) this.queue.unshift(job);
      this.pump();
    });
  }

  private pump(): void {
    if (this.running !== undefined) return;
    clearTimeout(this.timer);
    const idle = !this.busy && performance.now() - this.idleSince >= IDLE_MS;
    const at = this.queue.findIndex((j) => !j.data || idle);
    if (at < 0) {
      if (this.queue.length > 0 && !this.busy) this.timer = setTimeout(() => this.pump(), IDLE_MS);
      return;
    }
    const job = this.queue.splice(at, 1)[0]!;
    this.running = job;
    this.client ??= InspectorClient.start();
    void this.client
      .then((c) => c.request<ValidationView>({ op: "validate", input: job.input, data: job.data }, job.progress))
      .then((v) => this.finish(job, () => job.done(v)), (e: Error) => this.finish(job, () => job.fail(e.message)));
  }

  private finish(job: Job, report: () => void): void {
    if (this.running !== job) return; // stopped: queued again
    this.running = undefined;
    report();
    this.pump();
  }
}
