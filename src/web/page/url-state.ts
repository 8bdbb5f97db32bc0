/** The address keeps the state: `?url=A&url=B` opens files, `&tensor=NAME` shows a tensor. */
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

export function writeTensorToUrl(name: string | undefined): void {
  const u = new URL(location.href);
  if (name === undefined) u.searchParams.delete("tensor");
  else u.searchParams.set("tensor", name);
  history.replaceState(null, "", u);
}
