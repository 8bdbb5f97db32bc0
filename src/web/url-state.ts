/** The address keeps the state: `?url=A&url=B` opens files, `&tensor=NAME` shows a tensor. DOM-free. */
export interface UrlState {
  readonly urls: string[];
  readonly tensor?: string;
}

export function readUrlState(search: string): UrlState {
  const p = new URLSearchParams(search);
  const tensor = p.get("tensor");
  return { urls: p.getAll("url").filter((u) => u !== ""), ...(tensor === null || tensor === "" ? {} : { tensor }) };
}

/** The tensor's state_dict key (the last step of its path) as the short NAME the address keeps. */
export function tensorName(path: string): string {
  const m = /\[("(?:[^"\\]|\\.)*"|\d+)\]$/.exec(path);
  if (m === null) return path;
  const step = m[1]!;
  return step.startsWith('"') ? (JSON.parse(step) as string) : path;
}
