/**
 * The page (bundled to dist/web/page.js): opening files (picker, drop, ?url=), one tab per file,
 * the diff tab for two files, and the address kept in step with the selected tensor.
 */
import type { DiffResult, OpenInput, OpenResult } from "../protocol.js";
import { droppedInputs, pickedInputs } from "./inputs.js";
import { Checker } from "./checker.js";
import { findTensorRow } from "../tree-model.js";
import { InspectorClient } from "./client.js";
import { diffView } from "./diff-view.js";
import { h, ms } from "./dom.js";
import { FileView } from "./file-view.js";
import { readUrlState, tensorName } from "../url-state.js";
import { dataCheckLine, validationView } from "./validation-view.js";
import type { RunView } from "../run-model.js";
import { runView } from "./run-view.js";

interface Tab { readonly label: string; readonly element: HTMLElement; readonly button: HTMLButtonElement }

const main = document.getElementById("main")!;
const tabsBar = document.getElementById("tabs")!;
const status = document.getElementById("status")!;
const pick = document.getElementById("pick") as HTMLInputElement;
const pickFolder = document.getElementById("pick-folder") as HTMLInputElement;
let tabs: Tab[] = [];
let client: Promise<InspectorClient> | undefined;
const checker = new Checker();

/** Files up to this size (picked or dropped) get their data checked without asking, at idle. */
const AUTO_DATA_BYTES = 2 ** 30;

/** The inspector that answers the page; the checker (a second one) validates, pausing while this one works. */
function inspector(): Promise<InspectorClient> {
  client ??= InspectorClient.start().then((c) => {
    c.onBusy = (busy) => checker.setBusy(busy);
    return c;
  });
  return client;
}

type ReportSlot = Pick<FileView, "setValidation" | "setValidationError">;

/** The structural check now; the data check at idle (small local files and sets) or when asked. A set is checked as one folder. */
function check(input: OpenInput, slot: ReportSlot, mode: InspectorClient["mode"]): void {
  checker.check(input, false, {
    done: (v) => {
      if (v.offer === undefined) return slot.setValidation(v);
      const auto = input.kind !== "url" && mode === "worker" && v.offer.bytes <= AUTO_DATA_BYTES;
      const line = dataCheckLine(v, () => checker.check(input, true, {
        done: (full) => slot.setValidation(full),
        fail: (m) => slot.setValidationError(m),
        progress: (done, total) => line.progress?.(done, total),
      }), auto);
      slot.setValidation(v, line);
    },
    fail: (m) => slot.setValidationError(m),
  });
}

function setStatus(text: string, bad = false): void {
  status.textContent = text;
  status.className = bad ? "bad" : "";
}

function showTab(i: number): void {
  tabs.forEach((t, k) => {
    t.element.hidden = k !== i;
    t.button.setAttribute("aria-selected", String(k === i));
    t.button.tabIndex = k === i ? 0 : -1;
  });
}

function addTab(label: string, element: HTMLElement): number {
  const i = tabs.length;
  const button = h("button", { type: "button", role: "tab", class: "tab", "aria-selected": "false" }, label);
  button.addEventListener("click", () => showTab(i));
  button.addEventListener("keydown", (e) => {
    if (e.key !== "ArrowRight" && e.key !== "ArrowLeft") return;
    const k = (i + (e.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length;
    showTab(k);
    tabs[k]!.button.focus();
  });
  element.setAttribute("role", "tabpanel");
  tabsBar.append(button);
  main.append(element);
  tabs.push({ label, element, button });
  return i;
}

function reset(): void {
  checker.clear();
  for (const t of tabs) t.element.remove();
  tabs = [];
  tabsBar.replaceChildren();
  document.getElementById("drop")?.setAttribute("hidden", "");
}

/** Opens the inputs: one tab each, a diff tab for two, and `tensor` selected in the first. */
/** Several dumps: the run's charts (analyze's runStats). */
async function openRun(inputs: OpenInput[]): Promise<void> {
  reset();
  const client = await inspector();
  const slot = h("section", { class: "run-slot" }, h("p", { class: "muted" }, `Reading ${inputs.length} dumps…`));
  showTab(addTab(`Run (${inputs.length} files)`, slot));
  const started = performance.now();
  try {
    const run = await client.request<RunView>({ op: "run", inputs }, (done, total) => setStatus(`Step ${done} of ${total}…`));
    slot.replaceChildren(runView(run, main));
    setStatus(`${inputs.length} dumps read in ${ms(performance.now() - started)}`);
  } catch (e) {
    slot.replaceChildren(h("p", { class: "bad", role: "alert" }, `Could not read the run: ${(e as Error).message}`));
  }
}

async function openAll(inputs: OpenInput[], tensor?: string): Promise<void> {
  if (inputs.length === 0) return;
  if (inputs.length > 2) return openRun(inputs);
  reset();
  setStatus(`Opening ${inputs.length === 1 ? inputs[0]!.name : `${inputs.length} files`}…`);
  const client = await inspector();
  const started = performance.now();
  const views: FileView[] = [];
  for (const input of inputs) {
    try {
      const file = await client.request<OpenResult>({ op: "open", input });
      const view = new FileView(file, client, { onTensor: (path) => writeTensorToUrl(shortName(file, path)) });
      views.push(view);
      addTab(input.name, view.element);
      check(input, view, client.mode);
    } catch (e) {
      // The validation report says more about a file or set that cannot be opened (what is damaged or missing, what it imports).
      const slot = h("div", { class: "validation-slot" }, h("p", { class: "checking muted" }, "Checking integrity and safety…"));
      addTab(input.name, h("div", {}, slot, h("section", { class: "open-error", role: "alert" }, h("h2", {}, `Cannot open ${input.name}`), h("p", { class: "bad" }, (e as Error).message))));
      check(input, {
        setValidation: (v, line) => slot.replaceChildren(validationView(v), line ?? ""),
        setValidationError: (m) => slot.replaceChildren(h("p", { class: "bad" }, `Validation did not finish: ${m}`)),
      }, client.mode);
    }
  }
  setStatus(`Opened in ${ms(performance.now() - started)} (${client.mode === "worker" ? "Web Worker" : "on the page"})`);
  if (views.length === 2) {
    const slot = h("section", { class: "diff-slot" }, h("p", { class: "muted" }, "Comparing…"));
    const i = addTab("Diff", slot);
    showTab(i);
    const t0 = performance.now();
    try {
      const d = await client.request<DiffResult>({ op: "diff", a: views[0]!.file.file, b: views[1]!.file.file });
      slot.replaceChildren(diffView(d, performance.now() - t0));
    } catch (e) {
      slot.replaceChildren(h("p", { class: "bad" }, `Diff failed: ${(e as Error).message}`));
    }
  } else showTab(0);
  const first = views[0];
  if (tensor !== undefined && first !== undefined) {
    const row = findTensorRow(first.file.nodes, tensor);
    if (row >= 0) {
      showTab(0);
      first.tree.reveal(row);
      first.tree.select(row);
    } else setStatus(`No tensor named ${tensor} in ${first.file.name}`, true);
  }
}

function writeTensorToUrl(name: string | undefined): void {
  const u = new URL(location.href);
  if (name === undefined) u.searchParams.delete("tensor");
  else u.searchParams.set("tensor", name);
  history.replaceState(null, "", u);
}

/** The last key when it names one tensor only, else the whole path. */
function shortName(file: OpenResult, path: string): string {
  const name = tensorName(path);
  if (name === path) return path;
  const quoted = `[${JSON.stringify(name)}]`;
  return file.nodes.filter((n) => n.kind === "tensor" && n.path.endsWith(quoted)).length === 1 ? name : path;
}

for (const [input, label] of [[pick, "pick-label"], [pickFolder, "pick-folder-label"]] as const) {
  input.addEventListener("change", () => {
    if (input.files !== null) void openAll(pickedInputs(input.files));
    input.value = "";
  });
  document.getElementById(label)!.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      input.click();
    }
  });
}
window.addEventListener("dragover", (e) => {
  e.preventDefault();
  document.body.classList.add("dragging");
});
window.addEventListener("dragleave", () => document.body.classList.remove("dragging"));
window.addEventListener("drop", (e) => {
  e.preventDefault();
  document.body.classList.remove("dragging");
  if (e.dataTransfer !== null && e.dataTransfer.items.length > 0) void droppedInputs(e.dataTransfer).then((inputs) => openAll(inputs));
});

const state = readUrlState(location.search);
if (state.urls.length > 0) {
  const inputs = state.urls.map((u) => ({ kind: "url" as const, url: new URL(u, location.href).href, name: decodeURIComponent(u.split("/").pop() || u) }));
  void openAll(inputs, state.tensor).catch((e: Error) => setStatus(e.message, true));
}
