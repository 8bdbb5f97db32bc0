/**
 * One opened file: its summary line and parts, the validation report (filled in when the second
 * worker has checked the file), the tree on the left and the selected tensor on the right.
 */
import type { OpenResult, TensorDetail, TreeNode, ValidationView } from "../protocol.js";
import type { InspectorClient } from "./client.js";
import { convertView } from "./convert-view.js";
import { formatBytes, h, ms } from "./dom.js";
import { tensorView } from "./tensor-view.js";
import { TreeView } from "./tree-view.js";
import { validationView } from "./validation-view.js";

/** `["rng"]["torch"]` → `rng › torch` (keys that are plain strings or numbers). */
export function readablePath(path: string): string {
  const steps = [...path.matchAll(/\[("(?:[^"\\]|\\.)*"|\d+)\]/g)].map((m) => (m[1]!.startsWith('"') ? (JSON.parse(m[1]!) as string) : m[1]!));
  return steps.length === 0 || steps.join("").length === 0 ? path : steps.join(" › ");
}

export interface FileViewHooks {
  /** Called with the selected tensor's key path (for the address bar). */
  readonly onTensor?: (path: string, node: TreeNode) => void;
}

export class FileView {
  readonly element: HTMLElement;
  readonly tree: TreeView;
  private readonly detail: HTMLElement;
  private readonly validation: HTMLElement;
  private request = 0;

  constructor(readonly file: OpenResult, private readonly client: InspectorClient, private readonly hooks: FileViewHooks = {}) {
    this.tree = new TreeView(file, { onSelect: (row, node) => void this.show(row, node) });
    this.validation = h("div", { class: "validation-slot" }, h("p", { class: "checking muted" }, "Checking integrity and safety…"));
    this.detail = h("section", { class: "detail-pane", "aria-label": "Details", "aria-live": "polite" }, this.overview());
    const partChips = file.parts.map((p) => {
      const b = h("button", { type: "button", class: "chip part", title: `${p.path}: ${p.detail}`, "data-part": p.name }, `${p.name}: ${readablePath(p.path)}`);
      b.addEventListener("click", () => this.tree.reveal(p.row, false));
      return b;
    });
    const convert = h("button", { type: "button", class: "button", "data-action": "convert" }, "Convert…");
    convert.addEventListener("click", () => this.detail.replaceChildren(convertView(file, client)));
    const summary = h("div", { class: "summary" },
      h("h2", { class: "file-name" }, file.name),
      h("span", { class: "facts" }, `${formatBytes(file.bytes)} · ${file.layout}${file.compression === "gzip" ? " + gzip" : ""}${file.protocol > 0 ? ` · pickle protocol ${file.protocol}` : ""} · ${file.tensorCount.toLocaleString("en-US")} tensors, ${formatBytes(file.tensorBytes)} · opened in ${ms(file.openMs)}`),
      convert,
      partChips.length > 0 ? h("div", { class: "parts", "aria-label": "Parts" }, ...partChips) : null);
    this.element = h("div", { class: "file-view", "data-file": file.name }, this.validation, summary, h("div", { class: "panes" }, this.tree.element, this.detail));
  }

  /** Shows the report (and `line`: the data check on offer under a structural one). */
  setValidation(v: ValidationView, line?: HTMLElement): void {
    this.validation.replaceChildren(validationView(v), line ?? "");
    this.tree.markNonFinite(v.nonFinite);
  }

  setValidationError(message: string): void {
    this.validation.replaceChildren(h("p", { class: "bad" }, `Validation did not finish: ${message}`));
  }

  private overview(): HTMLElement {
    return h("div", { class: "overview muted" },
      h("p", {}, "Select a tensor in the tree to see its statistics, histogram, heat map and first values."),
      h("p", { class: "small" }, "Keys: ↑ ↓ move · → unfold · ← fold · Enter show · / search"));
  }

  async show(row: number, node: TreeNode, stream = false): Promise<void> {
    if (node.tensor === undefined) {
      this.detail.replaceChildren(h("div", { class: "value" }, h("h2", { class: "path" }, node.path === "" ? "(root)" : node.path), h("p", {}, node.label)));
      return;
    }
    const mine = ++this.request;
    this.detail.replaceChildren(h("p", { class: "muted" }, `Reading ${node.path}…`));
    this.hooks.onTensor?.(node.path, node);
    try {
      const progress = stream ? (done: number, total: number) => {
        if (mine === this.request) this.detail.replaceChildren(h("p", { class: "muted" }, `Reading ${node.path}: ${Math.round((100 * done) / total)}%`), h("progress", { max: total, value: done }));
      } : undefined;
      const d = await this.client.request<TensorDetail>({ op: "tensor", file: this.file.file, index: node.tensor, stream }, progress);
      if (mine !== this.request) return;
      this.detail.replaceChildren(tensorView(d, () => void this.show(row, node, true)));
    } catch (e) {
      if (mine !== this.request) return;
      this.detail.replaceChildren(h("p", { class: "bad" }, `Could not read ${node.path}: ${(e as Error).message}`));
    }
  }
}
