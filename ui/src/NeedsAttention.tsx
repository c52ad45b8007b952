// The "Needs attention" list, in every window of the session: each write not
// yet on the server — unsent, refused, or in conflict — with the server's
// reason. A refused or conflicted write stays here until it is fixed and
// resent, or discarded.

import { useCallback, useEffect, useState } from "react";
import * as ipc from "./ipc";
import { formatMoney } from "./money";
import type { Attention, SessionView, WriteFix } from "./types";

const OP_WORDS: Record<Attention["op"], string> = {
  create: "New",
  update: "Edit",
  delete: "Delete",
  approve: "Approve",
  reject: "Reject",
};

const STATE_WORDS: Record<Attention["state"], string> = {
  queued: "Not sent yet",
  refused: "Refused",
  conflict: "Conflict",
};

function field(a: Attention, name: string): string {
  const v = a.body?.[name] ?? (a.row as Record<string, unknown> | null)?.[name];
  return v === undefined || v === null ? "" : String(v);
}

export function NeedsAttention(props: { session: SessionView }) {
  const [items, setItems] = useState<Attention[]>([]);
  const [error, setError] = useState<string | null>(null);
  const reload = useCallback(() => {
    ipc.needsAttention().then(setItems, (e) => setError(ipc.toCommandError(e).message));
  }, []);
  useEffect(() => {
    reload();
    return ipc.effectListener(ipc.onAttention(() => reload()));
  }, [reload]);
  if (items.length === 0 && !error) return null;
  const held = items.filter((a) => a.state !== "queued").length;
  return (
    <section className="attention" data-testid="needs-attention" data-count={items.length} data-held={held}>
      <h2>
        Needs attention <span className="count">({items.length})</span>
      </h2>
      {error && (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}
      <ul>
        {items.map((a) => (
          <Item key={a.client_mutation_id} item={a} session={props.session} onError={setError} />
        ))}
      </ul>
    </section>
  );
}

function Item(props: { item: Attention; session: SessionView; onError: (m: string | null) => void }) {
  const a = props.item;
  const [editing, setEditing] = useState(false);
  const [category, setCategory] = useState(field(a, "category"));
  const [memo, setMemo] = useState(field(a, "memo"));
  const [propertyId, setPropertyId] = useState(field(a, "property_id"));
  const [date, setDate] = useState(field(a, "occurred_on"));
  const fixable = a.op === "create" || a.op === "update";
  const amount = a.row ? formatMoney(a.row.amount_minor, a.row.currency) : "";
  const act = (p: Promise<unknown>) =>
    p.then(
      () => {
        props.onError(null);
        setEditing(false);
      },
      (e) => props.onError(ipc.toCommandError(e).message),
    );
  const resend = () => {
    const fix: WriteFix = {};
    if (editing) {
      if (category !== field(a, "category")) fix.category = category;
      if (memo !== field(a, "memo")) fix.memo = memo;
      if (propertyId !== field(a, "property_id")) fix.property_id = propertyId;
      if (date !== field(a, "occurred_on")) fix.occurred_on = date;
    }
    act(ipc.retryWrite(a.client_mutation_id, fix));
  };
  return (
    <li className={`attention-item state-${a.state}`} data-testid="attention-item" data-state={a.state} data-cmid={a.client_mutation_id}>
      <span className="what">
        {OP_WORDS[a.op]}: {field(a, "category")} {amount && <span className="num">{amount}</span>}{" "}
        <span className="memo">{field(a, "memo").slice(0, 60)}</span>
      </span>
      <span className="state">{STATE_WORDS[a.state]}</span>
      {a.reason && (
        <span className="reason" data-testid="attention-reason">
          {a.reason}
        </span>
      )}
      {a.state !== "queued" && (
        <span className="actions">
          {fixable && !editing && (
            <button type="button" data-testid="attention-edit" onClick={() => setEditing(true)}>
              Fix…
            </button>
          )}
          <button type="button" data-testid="attention-resend" onClick={resend}>
            Resend
          </button>
          <button type="button" data-testid="attention-discard" onClick={() => act(ipc.discardWrite(a.client_mutation_id))}>
            Discard
          </button>
        </span>
      )}
      {editing && (
        <span className="fix">
          <select value={propertyId} onChange={(e) => setPropertyId(e.target.value)} data-testid="attention-property">
            {props.session.properties.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
            {!props.session.properties.some((p) => p.id === propertyId) && <option value={propertyId}>{propertyId}</option>}
          </select>
          <input value={category} onChange={(e) => setCategory(e.target.value)} data-testid="attention-category" aria-label="Category" />
          <input value={memo} onChange={(e) => setMemo(e.target.value)} data-testid="attention-memo" aria-label="Memo" />
          <input type="date" value={date} onChange={(e) => setDate(e.target.value)} data-testid="attention-date" aria-label="Date" />
        </span>
      )}
    </li>
  );
}
