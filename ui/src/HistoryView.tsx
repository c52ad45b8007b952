// One transaction's history, in its own window (`history:<id>`): who changed
// what, when, each field from → to. Offline it shows the copy last fetched,
// and says when that was.

import { useCallback, useEffect, useState } from "react";
import { AppHeader } from "./components";
import * as ipc from "./ipc";
import type { CommandError, HistoryItem, RowHistory, SessionView } from "./types";

const FIELD_NAMES: Record<string, string> = {
  kind: "Kind",
  property_id: "Property",
  amount_minor: "Amount (minor units)",
  currency: "Currency",
  category: "Category",
  memo: "Memo",
  occurred_on: "Date",
  status: "Status",
  rejection_reason: "Rejection reason",
};

function shown(v: unknown, properties: Map<string, string>, field: string): string {
  if (v === null || v === undefined) return "—";
  if (field === "property_id" && typeof v === "string") return properties.get(v) ?? v;
  return typeof v === "string" ? v : JSON.stringify(v);
}

export function HistoryView(props: { session: SessionView; id: string }) {
  const { session, id } = props;
  const [history, setHistory] = useState<RowHistory | null>(null);
  const [error, setError] = useState<CommandError | null>(null);
  const load = useCallback(() => {
    ipc.rowHistory(id).then(
      (h) => {
        setHistory(h);
        setError(null);
      },
      (e) => setError(ipc.toCommandError(e)),
    );
  }, [id]);
  useEffect(load, [load]);
  // Fresh each time the window comes to the front.
  useEffect(() => ipc.effectListener(ipc.onWindowFocus((focused) => focused && load())), [load]);
  const properties = new Map(session.properties.map((p) => [p.id, p.name]));
  return (
    <div className="page history">
      <AppHeader session={session} title="History" />
      <main>
        {error && (
          <p className="field-error" role="alert" data-testid="history-error">
            {error.message}{" "}
            <button type="button" onClick={load}>
              Try again
            </button>
          </p>
        )}
        {history?.offline && (
          <p className="banner notice" data-testid="history-offline">
            Offline: as last fetched at {new Date(history.fetched_at).toLocaleString()}.
          </p>
        )}
        {history && history.items.length === 0 && <p className="empty">No recorded changes yet.</p>}
        <ol className="history-items" data-testid="history-items" data-count={history?.items.length ?? 0}>
          {history?.items.map((item, i) => <Entry key={i} item={item} index={i} properties={properties} />)}
        </ol>
      </main>
    </div>
  );
}

function Entry(props: { item: HistoryItem; index: number; properties: Map<string, string> }) {
  const { item } = props;
  return (
    <li data-testid={`history-${props.index}`} data-action={item.action}>
      <div className="history-head">
        <strong>{item.action}</strong> by {item.by.name || item.by.id} · {new Date(item.at).toLocaleString()}
      </div>
      <table className="history-changes">
        <tbody>
          {Object.entries(item.changes).map(([field, [from, to]]) => (
            <tr key={field} data-testid={`change-${props.index}-${field}`}>
              <th>{FIELD_NAMES[field] ?? field}</th>
              <td>{shown(from, props.properties, field)}</td>
              <td>→</td>
              <td>{shown(to, props.properties, field)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </li>
  );
}
