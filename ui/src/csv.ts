// CSV export (RFC 4180): comma separated, CRLF line ends, a field quoted when
// it holds a comma, quote, CR/LF or edge spaces, quotes doubled. Amounts are
// plain decimals ("1234.50"), never floats. Text cells that a spreadsheet
// would run as a formula (=, +, -, @, tab, CR first) get a leading apostrophe.

import { toDecimal } from "./money";
import type { PropertyInfo, Row } from "./types";

export function csvField(value: string): string {
  if (/[",\r\n]/.test(value) || /^\s|\s$/.test(value)) return `"${value.replace(/"/g, '""')}"`;
  return value;
}

/** Neutralise spreadsheet formula injection in free text. */
export function safeText(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

export function toCsv(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const lines = [header, ...rows].map((cells) => cells.map(csvField).join(","));
  return lines.join("\r\n") + "\r\n";
}

export const ROW_CSV_HEADER = [
  "date", "kind", "property", "category", "memo", "amount", "currency", "status", "id",
] as const;

export function rowsToCsv(rows: readonly Row[], properties: readonly PropertyInfo[]): string {
  const names = new Map(properties.map((p) => [p.id, p.name]));
  return toCsv(
    ROW_CSV_HEADER,
    rows.map((r) => [
      r.occurred_on,
      r.kind,
      safeText(names.get(r.property_id) ?? r.property_id),
      safeText(r.category),
      safeText(r.memo),
      toDecimal(r.amount_minor, r.currency),
      r.currency,
      r.pending_sync ? `${r.status} (syncing)` : r.status,
      r.id,
    ]),
  );
}

/** A file name safe on every OS: letters, digits, dot, dash, underscore. */
export function csvFilename(parts: readonly string[]): string {
  const base = parts
    .filter((p) => p !== "")
    .join("-")
    .replace(/[^A-Za-z0-9._-]+/g, "_")
    .replace(/^[._-]+/, "");
  return `${base || "export"}.csv`;
}
