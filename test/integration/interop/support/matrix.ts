/**
 * The interop matrix: each test file records its cells (client × path ×
 * case, and the proxy property tests) in var/interop/<path>.json, then
 * rewrites docs/interop.md from every path's file, so the last file to end
 * leaves the whole matrix. A cell that did not run is shown as such, never
 * as passed.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { root } from "../../support/service-process.js";
import { CLIENT_NAMES, type ClientName, casesFor, loadScenarios } from "../scenarios.js";

export type PathName = "direct" | "nginx" | "haproxy" | "netns";

const PATHS: readonly PathName[] = ["direct", "nginx", "haproxy", "netns"];
const CLIENTS = CLIENT_NAMES;

interface Cell {
  readonly client: ClientName;
  readonly case: string;
  readonly ok: boolean;
  readonly detail?: string;
  /** Why the cell is checked from the service's side only (a known limit of the path). */
  readonly limit?: string;
}

interface PathRecord {
  readonly path: PathName;
  readonly finished: string;
  readonly cells: Cell[];
  readonly properties: { name: string; ok: boolean; detail?: string }[];
  readonly runs: { client: ClientName; ms: number }[];
  readonly notes: string[];
}

const dir = join(root, "var", "interop");
const doc = join(root, "docs", "interop.md");

export class Matrix {
  readonly #record: PathRecord;

  constructor(path: PathName) {
    this.#record = {
      path,
      finished: "",
      cells: [],
      properties: [],
      runs: [],
      notes: [],
    };
  }

  cell(client: ClientName, name: string, ok: boolean, detail?: string, limit?: string): void {
    this.#record.cells.push({ client, case: name, ok, detail, limit });
  }

  property(name: string, ok: boolean, detail?: string): void {
    this.#record.properties.push({ name, ok, detail });
  }

  run(client: ClientName, ms: number): void {
    this.#record.runs.push({ client, ms: Math.round(ms) });
  }

  note(text: string): void {
    this.#record.notes.push(text);
  }

  /** Saves this path's cells and rewrites docs/interop.md from every path's. */
  write(): void {
    mkdirSync(dir, { recursive: true });
    const record = { ...this.#record, finished: new Date().toISOString() };
    writeFileSync(join(dir, `${record.path}.json`), `${JSON.stringify(record, null, 2)}\n`);
    writeFileSync(doc, renderDoc(readRecords()));
  }
}

function readRecords(): Map<PathName, PathRecord> {
  const records = new Map<PathName, PathRecord>();
  for (const file of readdirSync(dir)) {
    if (!file.endsWith(".json")) continue;
    const record = JSON.parse(readFileSync(join(dir, file), "utf8")) as PathRecord;
    if (PATHS.includes(record.path)) records.set(record.path, record);
  }
  return records;
}

const mark = (cell: Cell | undefined) =>
  cell === undefined ? "not run" : !cell.ok ? "FAIL" : cell.limit ? "pass (service side)" : "pass";

function renderDoc(records: Map<PathName, PathRecord>): string {
  const set = loadScenarios();
  const lines: string[] = [
    "# Interop matrix",
    "",
    "Written by the interop suite (`test/integration/interop/`, part of `npm test`) at the end of",
    "each path's test file; do not edit by hand. Every client reads the same scenario set",
    "(`test/integration/interop/scenarios.json`) and prints one JSON line per case; the tests check",
    "each line and then S3 itself (the object and its headers, its ACL through an anonymous GET, no",
    "open multipart upload). `pass` and `FAIL` are checked cells (`pass (service side)`: what the",
    "service answered and stored is checked, but a known limit of the path keeps the answer from",
    "that client, as listed under the path); `n/a` marks a case outside what",
    "that client's protocol carries (a browser cannot stream a request body, nor call a",
    "bidirectional stream such as reflection); `not run` means the path's file did not reach it",
    "(which failed that file). A `cancel` passes when the service logged the cancel and nothing is",
    "stored or open, or, for a cancel that came after the last byte while the store completed the",
    "object, when the service logged it stored and the object is whole.",
    "",
    "Clients: connect-node (gRPC over h2c), @grpc/grpc-js (the .proto loaded at run time), Python",
    "(Debian's python3-grpcio, stubs from Debian's protoc), Go (Debian's golang-google-grpc-dev,",
    "built offline), curl (Connect JSON; gRPC-Web for one unary case), and the browser page",
    "`examples/web-upload/` in headless Chromium (gRPC-Web through @connectrpc/connect-web).",
    "",
    "Paths: `direct` to the service; `nginx` (`grpc_pass` for HTTP/2 callers, `proxy_pass` with",
    "buffering off for HTTP/1.1 ones); `haproxy` (HTTP/2 to the service); `netns`: client,",
    "service and S3 each in their own network namespace, joined by veth links with netem (20 ms",
    "RTT and 0.5% loss on each link).",
    "",
  ];
  for (const path of PATHS) {
    const record = records.get(path);
    lines.push(`## ${path}`, "");
    if (record === undefined) {
      lines.push("Not run yet.", "");
      continue;
    }
    lines.push(`Run finished ${record.finished}.`, "");
    lines.push(
      `| case | ${CLIENTS.join(" | ")} |`,
      `| --- |${CLIENTS.map(() => " --- |").join("")}`,
    );
    for (const c of set.cases) {
      const row = CLIENTS.map((client) => {
        if (!casesFor(set, client).includes(c)) return "n/a";
        return mark(record.cells.find((x) => x.client === client && x.case === c.name));
      });
      lines.push(`| ${c.name} | ${row.join(" | ")} |`);
    }
    const orphans = CLIENTS.map((client) =>
      mark(record.cells.find((x) => x.client === client && x.case === "no-orphans")),
    );
    lines.push(`| no-orphans | ${orphans.join(" | ")} |`, "");
    if (record.runs.length > 0) {
      lines.push(
        `Client run times: ${record.runs.map((r) => `${r.client} ${(r.ms / 1000).toFixed(1)} s`).join(", ")}.`,
        "",
      );
    }
    if (record.properties.length > 0) {
      lines.push("| property | result |", "| --- | --- |");
      for (const p of record.properties) {
        lines.push(`| ${p.name} | ${p.ok ? "pass" : "FAIL"}${p.detail ? `: ${p.detail}` : ""} |`);
      }
      lines.push("");
    }
    const failures = record.cells.filter((x) => !x.ok && x.detail);
    if (failures.length > 0) {
      lines.push("Failures:", "");
      for (const f of failures) lines.push(`- ${f.client} ${f.case}: ${oneLine(f.detail ?? "")}`);
      lines.push("");
    }
    const limited = record.cells.filter((c) => c.limit !== undefined);
    if (limited.length > 0) {
      lines.push("Checked from the service's side only (a known limit of the path):", "");
      for (const c of limited) lines.push(`- ${c.client} ${c.case}: ${oneLine(c.limit ?? "")}`);
      lines.push("");
    }
    for (const note of record.notes) lines.push(note, "");
  }
  return `${lines.join("\n").trimEnd()}\n`;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").slice(0, 300);
}
