/** Convert and download: every format the library writes, prefix and map-location options, progress. */
import type { ConvertFormat } from "../../convert/formats.js";
import type { ConvertResult, OpenResult } from "../protocol.js";
import type { InspectorClient } from "./client.js";
import { formatBytes, h, ms } from "./dom.js";

const FORMATS: readonly [ConvertFormat, string][] = [
  ["pt", "PyTorch .pt (zip, torch ≥ 1.6)"],
  ["pt-legacy", "PyTorch .pt (legacy layout)"],
  ["safetensors", "safetensors"],
  ["json", "JSON (lossless)"],
  ["json-plain", "JSON (plain lists)"],
  ["msgpack", "msgpack"],
  ["pickle", "plain pickle"],
];

export function convertView(file: OpenResult, client: InspectorClient): HTMLElement {
  const format = h("select", { id: "convert-format", name: "format" }, ...FORMATS.map(([v, label]) => h("option", { value: v }, label)));
  const gzip = h("input", { type: "checkbox", id: "convert-gzip", name: "gzip" });
  const strip = h("input", { type: "text", id: "convert-strip", name: "strip", placeholder: "module.", size: 12 });
  const add = h("input", { type: "text", id: "convert-add", name: "add", size: 12 });
  const map = h("input", { type: "text", id: "convert-map", name: "map", placeholder: "cpu", size: 8 });
  const progress = h("progress", { max: 1, value: 0, hidden: true, "aria-label": "Conversion progress" });
  const out = h("div", { class: "convert-out", "aria-live": "polite" });
  const go = h("button", { type: "submit", class: "button primary" }, "Convert and download");
  const form = h("form", { class: "convert card wide", "aria-label": "Convert" },
    h("h2", {}, `Convert ${file.name}`),
    h("p", { class: "small muted" }, "Runs in the worker, reading the file lazily; the result is saved by your browser. Nothing leaves this machine."),
    h("div", { class: "grid" },
      h("label", { for: "convert-format" }, "Format"), format,
      h("label", { for: "convert-gzip" }, "gzip"), gzip,
      h("label", { for: "convert-strip" }, "Strip key prefix"), strip,
      h("label", { for: "convert-add" }, "Add key prefix"), add,
      h("label", { for: "convert-map" }, "Map locations to"), map),
    go, progress, out);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    go.disabled = true;
    progress.hidden = false;
    progress.removeAttribute("value");
    out.replaceChildren(h("p", { class: "muted" }, "Converting…"));
    const start = performance.now();
    const options = {
      format: format.value as ConvertFormat, gzip: gzip.checked,
      ...(strip.value !== "" ? { stripPrefix: strip.value } : {}),
      ...(add.value !== "" ? { addPrefix: add.value } : {}),
      ...(map.value !== "" ? { mapLocation: map.value } : {}),
    };
    client.request<ConvertResult>({ op: "convert", file: file.file, options }, (done, total) => {
      progress.max = total;
      progress.value = done;
      out.replaceChildren(h("p", { class: "muted" }, `Written ${formatBytes(done)} of about ${formatBytes(total)}…`));
    }).then((r) => {
      const url = URL.createObjectURL(r.blob as unknown as Blob);
      const link = h("a", { href: url, download: r.fileName, class: "button", "data-download": r.fileName }, `Download ${r.fileName} (${formatBytes(r.bytes)})`);
      out.replaceChildren(h("p", {}, `Converted in ${ms(performance.now() - start)}. `, link), ...r.notes.map((n) => h("p", { class: "small muted" }, n)));
      link.click();
    }, (err: Error) => {
      out.replaceChildren(h("p", { class: "bad" }, `Conversion failed: ${err.message}`));
    }).finally(() => {
      go.disabled = false;
      progress.hidden = true;
    });
  });
  return form;
}
