/**
 * The checkpoint tree: folding rows, a search box, NaN/Inf marks, and keyboard use (↑ ↓ move,
 * → unfold, ← fold or go to the parent, Enter shows a tensor). Only the rows that are unfolded are
 * in the DOM, at most MAX_ROWS of them, so a tree of 100,000 tensors stays quick.
 */
import type { OpenResult, TreeNode } from "../protocol.js";
import { h } from "./dom.js";

const MAX_ROWS = 2000;
const MAX_MATCHES = 500;

export interface TreeViewOptions {
  readonly onSelect: (row: number, node: TreeNode) => void;
}

export class TreeView {
  readonly element: HTMLElement;
  private readonly list: HTMLElement;
  private readonly search: HTMLInputElement;
  private readonly note: HTMLElement;
  private readonly expanded = new Set<number>();
  private readonly bad = new Map<number, string>();
  private readonly badAncestors = new Set<number>();
  private selected = -1;
  private focusRow = 0;

  constructor(private readonly file: OpenResult, private readonly options: TreeViewOptions) {
    const nodes = file.nodes;
    // Unfold the root and its children's containers when that stays small.
    this.expanded.add(0);
    let shown = nodes[0]?.descendants ?? 0;
    for (const [i, n] of nodes.entries()) {
      if (n.depth !== 1 || n.kind !== "container") continue;
      let kids = 0;
      for (let j = i + 1; j <= i + n.descendants && kids <= 400; j += nodes[j]!.descendants + 1) kids++;
      if (shown + kids > 400) break;
      this.expanded.add(i);
      shown += kids;
    }
    this.search = h("input", { type: "search", placeholder: "Search keys (e.g. fc.weight, exp_avg)", "aria-label": "Search keys", class: "search" });
    this.search.addEventListener("input", () => this.render());
    this.search.addEventListener("keydown", (e) => {
      if (e.key === "ArrowDown") {
        e.preventDefault();
        this.focusFirst();
      }
    });
    this.list = h("div", { role: "tree", class: "tree", "aria-label": `Keys of ${file.name}` });
    this.list.addEventListener("keydown", (e) => this.key(e));
    this.note = h("p", { class: "small muted" });
    this.element = h("section", { class: "tree-pane", "aria-label": "Tree" }, this.search, this.list, this.note);
    this.render();
  }

  /** Marks tensors that hold NaN or Inf (from the validation report). */
  markNonFinite(rows: readonly { row: number; nan: number; inf: number }[]): void {
    for (const r of rows) {
      this.bad.set(r.row, [r.nan > 0 ? `NaN ${r.nan}` : "", r.inf > 0 ? `Inf ${r.inf}` : ""].filter((s) => s).join(" · "));
      for (let p = this.file.nodes[r.row]?.parent ?? -1; p >= 0; p = this.file.nodes[p]!.parent) this.badAncestors.add(p);
    }
    this.render();
  }

  /** Unfolds the path to `row`, selects it and scrolls it into view. */
  reveal(row: number, select = true): void {
    for (let p = this.file.nodes[row]?.parent ?? -1; p >= 0; p = this.file.nodes[p]!.parent) this.expanded.add(p);
    if (this.search.value !== "") this.search.value = "";
    if (select) this.selected = row;
    this.focusRow = row;
    this.render();
    this.list.querySelector<HTMLElement>(`[data-row="${row}"]`)?.scrollIntoView({ block: "nearest" });
  }

  select(row: number): void {
    const node = this.file.nodes[row];
    if (node === undefined) return;
    this.selected = row;
    this.focusRow = row;
    for (const el of this.list.querySelectorAll(".selected")) el.classList.remove("selected");
    this.list.querySelector(`[data-row="${row}"]`)?.classList.add("selected");
    this.list.querySelector(`[data-row="${row}"]`)?.setAttribute("aria-selected", "true");
    this.options.onSelect(row, node);
  }

  private visibleRows(): { rows: number[]; more: number } {
    const nodes = this.file.nodes;
    const q = this.search.value.trim().toLowerCase();
    const rows: number[] = [];
    if (q !== "") {
      let count = 0;
      for (let i = 0; i < nodes.length; i++) {
        const n = nodes[i]!;
        if (n.path.toLowerCase().includes(q) || n.label.toLowerCase().includes(q)) {
          if (rows.length < MAX_MATCHES) rows.push(i);
          count++;
        }
      }
      return { rows, more: count - rows.length };
    }
    let i = 0;
    while (i < nodes.length && rows.length < MAX_ROWS) {
      rows.push(i);
      const n = nodes[i]!;
      i += n.kind === "container" && !this.expanded.has(i) ? n.descendants + 1 : 1;
    }
    let more = 0;
    while (i < nodes.length) {
      more++;
      const n = nodes[i]!;
      i += n.kind === "container" && !this.expanded.has(i) ? n.descendants + 1 : 1;
    }
    return { rows, more };
  }

  render(): void {
    const nodes = this.file.nodes;
    const searching = this.search.value.trim() !== "";
    const { rows, more } = this.visibleRows();
    if (!rows.includes(this.focusRow)) this.focusRow = rows[0] ?? 0;
    const out: HTMLElement[] = [];
    for (const i of rows) {
      const n = nodes[i]!;
      const open = this.expanded.has(i);
      const isContainer = n.kind === "container" && n.descendants > 0;
      const badge = this.bad.get(i);
      const row = h("div", {
        role: "treeitem", "data-row": i, tabindex: i === this.focusRow ? 0 : -1, "aria-level": n.depth + 1,
        "aria-expanded": isContainer && !searching ? String(open) : undefined, "aria-selected": i === this.selected ? "true" : undefined,
        class: ["row", n.kind, i === this.selected ? "selected" : "", badge !== undefined ? "bad" : "", this.badAncestors.has(i) && !open ? "has-bad" : ""].filter((c) => c).join(" "),
        style: searching ? undefined : `padding-left:${0.25 + n.depth * 1.1}rem`,
      },
      h("span", { class: "twisty", "aria-hidden": "true" }, isContainer && !searching ? (open ? "▾" : "▸") : ""),
      h("span", { class: "key" }, searching ? (n.path === "" ? "(root)" : n.path) : i === 0 ? "(root)" : n.key),
      h("span", { class: "label" }, n.label),
      n.part !== undefined ? h("span", { class: "chip part" }, n.part) : null,
      badge !== undefined ? h("span", { class: "chip nonfinite" }, badge) : null,
      );
      row.addEventListener("click", () => this.activate(i));
      out.push(row);
    }
    // Rows are rebuilt (a report marking NaN may arrive mid-navigation): the keyboard focus stays on its row.
    const hadFocus = this.list.contains(document.activeElement);
    this.list.replaceChildren(...out);
    if (hadFocus) this.list.querySelector<HTMLElement>(`[data-row="${this.focusRow}"]`)?.focus();
    const notes: string[] = [];
    if (more > 0) notes.push(searching ? `${more} more matches: type more to narrow.` : `${more} more rows below: fold a branch or search.`);
    if (searching && rows.length === 0) notes.push("No key matches.");
    if (this.file.truncated) notes.push("The tree was cut at 250,000 rows.");
    this.note.textContent = notes.join(" ");
  }

  private activate(i: number): void {
    const n = this.file.nodes[i]!;
    this.focusRow = i;
    if (n.kind === "container" && n.descendants > 0 && this.search.value.trim() === "") {
      if (this.expanded.has(i)) this.expanded.delete(i);
      else this.expanded.add(i);
      this.render();
      this.focus(i);
      return;
    }
    if (this.search.value.trim() !== "" && n.kind !== "tensor") {
      this.reveal(i, false);
      this.focus(i);
      return;
    }
    this.select(i);
    this.focus(i);
  }

  private focus(i: number): void {
    for (const el of this.list.querySelectorAll<HTMLElement>('[tabindex="0"]')) el.tabIndex = -1;
    const el = this.list.querySelector<HTMLElement>(`[data-row="${i}"]`);
    if (el !== null) {
      el.tabIndex = 0;
      el.focus();
      this.focusRow = i;
    }
  }

  private focusFirst(): void {
    const first = this.list.querySelector<HTMLElement>("[data-row]");
    if (first !== null) this.focus(Number(first.dataset.row));
  }

  private key(e: KeyboardEvent): void {
    const items = [...this.list.querySelectorAll<HTMLElement>("[data-row]")];
    const at = items.findIndex((el) => Number(el.dataset.row) === this.focusRow);
    const n = this.file.nodes[this.focusRow];
    const go = (k: number) => {
      const el = items[Math.max(0, Math.min(items.length - 1, k))];
      if (el !== undefined) this.focus(Number(el.dataset.row));
    };
    switch (e.key) {
      case "ArrowDown": go(at + 1); break;
      case "ArrowUp": if (at === 0) this.search.focus(); else go(at - 1); break;
      case "Home": go(0); break;
      case "End": go(items.length - 1); break;
      case "ArrowRight":
        if (n?.kind === "container" && !this.expanded.has(this.focusRow)) this.activate(this.focusRow);
        else go(at + 1);
        break;
      case "ArrowLeft":
        if (n?.kind === "container" && this.expanded.has(this.focusRow)) this.activate(this.focusRow);
        else if (n !== undefined && n.parent >= 0) this.focus(n.parent);
        break;
      case "Enter": case " ": this.activate(this.focusRow); break;
      case "/": this.search.focus(); break;
      default: return;
    }
    e.preventDefault();
  }
}
