// One row of a revenue or expense table (shown, or edited inline) and the
// new-row line at its top; TxTable.tsx lays them out.

import { useEffect, useImperativeHandle, useRef, useState, type KeyboardEvent, type Ref } from "react";
import { isIsoDate } from "./filters";
import * as ipc from "./ipc";
import { formatMoney, parseAmount, toDecimal } from "./money";
import { isLocalId } from "./rows";
import type { CommandError, Kind, PropertyInfo, Row, TransactionPatch } from "./types";

type FieldErrors = Partial<Record<"date" | "category" | "memo" | "amount" | "property" | "form", string>>;

/** Map a command error's `field` (wire names) to our inputs. */
function fieldOf(e: CommandError): keyof FieldErrors {
  switch (e.field) {
    case "occurred_on":
    case "date":
      return "date";
    case "category":
      return "category";
    case "memo":
      return "memo";
    case "amount_minor":
    case "amount":
    case "currency":
      return "amount";
    case "property_id":
      return "property";
    default:
      return "form";
  }
}

export function conflictWords(e: CommandError): string {
  if (e.kind === "conflict") return `Not saved: someone changed this row first (${e.message}). The row now shows their version.`;
  if (e.kind === "not_found") return "Not saved: this row no longer exists.";
  return e.message;
}

// --- one row ---------------------------------------------------------------------

export function StatusCell({ row, locked }: { row: Row; locked: boolean }) {
  return (
    <span className={`status status-${row.status}`} title={row.rejection_reason ? `Rejected: ${row.rejection_reason}` : undefined}>
      {row.status}
      {row.rejection_reason && (
        <span className="reason" data-testid={`reason-${row.id}`}>
          {" "}
          — {row.rejection_reason}
        </span>
      )}
      {locked && (
        <span className="locked" data-testid={`locked-${row.id}`} title="In the locked period: it cannot be changed">
          {" "}
          🔒 locked
        </span>
      )}
      {row.pending_sync && !row.sync_error && (
        <span className="syncing" data-testid={`syncing-${row.id}`} title="Saved here, not yet confirmed by the server">
          {" "}
          ⟳ syncing
        </span>
      )}
    </span>
  );
}

export function RowView(p: {
  row: Row;
  cols: string;
  index: number;
  focused: boolean;
  showProperty: boolean;
  propName: (id: string) => string;
  canApprove: boolean;
  confirming: boolean;
  locked: boolean;
  error: string | null;
  onKeyDown: (e: KeyboardEvent<HTMLDivElement>) => void;
  onFocus: () => void;
  onEdit: () => void;
  onHistory: () => void;
  onAskDelete: () => void;
  onCancelDelete: () => void;
  onDelete: () => void;
  onApprove: () => void;
  onReject: () => void;
  onDismissError: () => void;
}) {
  const { row } = p;
  const local = isLocalId(row.id);
  const problem = row.sync_error ?? p.error;
  const cls = ["row", p.cols, row.pending_sync ? "pending" : "", row.sync_error ? "sync-error" : "", p.error ? "has-error" : ""]
    .filter(Boolean)
    .join(" ");
  return (
    <div
      className={cls}
      role="row"
      tabIndex={p.focused ? 0 : -1}
      data-index={p.index}
      data-testid={`row-${row.id}`}
      data-id={row.id}
      data-pending={row.pending_sync ? "true" : "false"}
      data-status={row.status}
      data-version={row.version}
      data-locked={p.locked ? "true" : "false"}
      aria-busy={row.pending_sync}
      onKeyDown={p.onKeyDown}
      onFocus={p.onFocus}
      onDoubleClick={p.onEdit}
    >
      <span className="date">{row.occurred_on}</span>
      {p.showProperty && <span className="prop" title={p.propName(row.property_id)}>{p.propName(row.property_id)}</span>}
      <span className="cat" title={row.category}>{row.category}</span>
      <span className="memo" title={problem ? `${row.memo}\n${problem}` : row.memo}>
        {problem ? (
          <span className="row-error" role="alert" data-testid={`error-${row.id}`}>
            ⚠ {problem}
            {!row.sync_error && (
              <button type="button" className="link" aria-label="Dismiss" onClick={p.onDismissError}>
                ×
              </button>
            )}
          </span>
        ) : (
          row.memo
        )}
      </span>
      <span className="num amount">{formatMoney(row.amount_minor, row.currency)}</span>
      <StatusCell row={row} locked={p.locked} />
      <span className="actions">
        {p.confirming ? (
          <span className="confirm" onKeyDown={(e) => e.key === "Escape" && p.onCancelDelete()}>
            <span className="confirm-text">{local ? "Discard?" : "Delete?"}</span>
            <button type="button" className="danger" data-testid={`confirm-delete-${row.id}`} onClick={p.onDelete} autoFocus>
              Yes
            </button>
            <button
              type="button"
              data-testid={`cancel-delete-${row.id}`}
              onClick={p.onCancelDelete}
            >
              No
            </button>
          </span>
        ) : (
          <>
            {!p.locked && (
              <>
                <button type="button" className="link" data-testid={`edit-${row.id}`} disabled={local} onClick={p.onEdit} title="Edit (Enter)">
                  Edit
                </button>
                <button
                  type="button"
                  className="link"
                  data-testid={`delete-${row.id}`}
                  disabled={local && !row.sync_error}
                  onClick={p.onAskDelete}
                  title={local ? "Discard this refused entry" : "Delete (Del)"}
                >
                  {local ? "Discard" : "Delete"}
                </button>
              </>
            )}
            <button type="button" className="link" data-testid={`history-${row.id}`} disabled={local} onClick={p.onHistory} title="History (H)">
              History
            </button>
            {p.canApprove && row.status === "pending" && !local && !p.locked && (
              <>
                <button type="button" className="link ok" data-testid={`approve-${row.id}`} onClick={p.onApprove}>
                  Approve
                </button>
                <button type="button" className="link danger" data-testid={`reject-${row.id}`} onClick={p.onReject}>
                  Reject
                </button>
              </>
            )}
          </>
        )}
      </span>
    </div>
  );
}

// --- inline edit -----------------------------------------------------------------

export function EditRow(p: {
  row: Row;
  cols: string;
  index: number;
  showProperty: boolean;
  propName: (id: string) => string;
  onDone: (error: string | null) => void;
}) {
  // The edit is based on the row as it was when editing started: its version
  // goes with the patch, so a change made meanwhile by someone else is a
  // conflict rather than silently overwritten.
  const [base] = useState(p.row);
  const row = base;
  const changedMeanwhile = p.row.version !== base.version;
  const [date, setDate] = useState(row.occurred_on);
  const [category, setCategory] = useState(row.category);
  const [memo, setMemo] = useState(row.memo);
  const [amount, setAmount] = useState(toDecimal(row.amount_minor, row.currency));
  const [errors, setErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);

  const save = async () => {
    const errs: FieldErrors = {};
    if (!isIsoDate(date)) errs.date = "Date as YYYY-MM-DD";
    if (!category.trim()) errs.category = "Enter a category";
    const amt = parseAmount(amount, row.currency);
    if (!amt.ok) errs.amount = amt.error;
    setErrors(errs);
    if (Object.keys(errs).length > 0 || !amt.ok) return;
    const patch: TransactionPatch = { version: row.version };
    if (date !== row.occurred_on) patch.occurred_on = date;
    if (category.trim() !== row.category) patch.category = category.trim();
    if (memo !== row.memo) patch.memo = memo;
    if (amt.minor !== row.amount_minor) patch.amount_minor = amt.minor;
    if (Object.keys(patch).length === 1) return p.onDone(null); // nothing changed
    setBusy(true);
    try {
      await ipc.updateTransaction(row.id, patch);
      p.onDone(null);
    } catch (e) {
      const err = ipc.toCommandError(e);
      if (err.kind === "invalid" && fieldOf(err) !== "form") {
        setErrors({ [fieldOf(err)]: err.message });
        setBusy(false);
      } else {
        p.onDone(conflictWords(err));
      }
    }
  };

  const onKey = (e: KeyboardEvent) => {
    if (e.key === "Enter") {
      e.preventDefault();
      void save();
    } else if (e.key === "Escape") {
      e.preventDefault();
      p.onDone(null);
    }
  };
  const firstError = errors.date ?? errors.category ?? errors.memo ?? errors.amount ?? errors.form;

  return (
    <div className={`row editing ${p.cols}`} role="row" data-testid={`row-${row.id}`} data-id={row.id} data-pending={row.pending_sync ? "true" : "false"} data-index={p.index} onKeyDown={onKey}>
      <input data-testid="edit-date" type="text" className="date-input" placeholder="YYYY-MM-DD" inputMode="numeric" maxLength={10} spellCheck={false} autoComplete="off" value={date} onChange={(e) => setDate(e.target.value)} aria-invalid={!!errors.date} title={errors.date} />
      {p.showProperty && <span className="prop">{p.propName(row.property_id)}</span>}
      <input data-testid="edit-category" value={category} onChange={(e) => setCategory(e.target.value)} aria-invalid={!!errors.category} title={errors.category} autoFocus />
      <span className="memo-edit">
        <input data-testid="edit-memo" value={memo} onChange={(e) => setMemo(e.target.value)} aria-invalid={!!errors.memo} />
        {firstError && <span className="inline-error" data-testid="edit-error">{firstError}</span>}
        {!firstError && changedMeanwhile && (
          <span className="inline-error" data-testid="edit-stale" title="Saving will report a conflict; Esc shows their version">
            changed by someone else meanwhile
          </span>
        )}
      </span>
      <input data-testid="edit-amount" className="num" value={amount} inputMode="decimal" onChange={(e) => setAmount(e.target.value)} aria-invalid={!!errors.amount} title={errors.amount} />
      <span className="status">{busy ? "saving…" : "editing"}</span>
      <span className="actions">
        <button type="button" data-testid="edit-save" onClick={() => void save()} disabled={busy}>
          Save
        </button>
        <button type="button" data-testid="edit-cancel" onClick={() => p.onDone(null)}>
          Cancel
        </button>
      </span>
    </div>
  );
}

// --- new-row line ----------------------------------------------------------------

export interface NewRowHandle {
  focus(): void;
}

export function NewRow(p: {
  ref: Ref<NewRowHandle>;
  kind: Kind;
  cols: string;
  properties: PropertyInfo[];
  fixedPropertyId?: string;
  currency: string;
  defaultDate: string;
  onCreated: (row: Row) => void;
}) {
  const [date, setDate] = useState(p.defaultDate);
  const [propertyId, setPropertyId] = useState(p.fixedPropertyId ?? p.properties[0]?.id ?? "");
  const [category, setCategory] = useState("");
  const [memo, setMemo] = useState("");
  const [amount, setAmount] = useState("");
  const [errors, setErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);
  const dateRef = useRef<HTMLInputElement>(null);
  const categoryRef = useRef<HTMLInputElement>(null);

  useImperativeHandle(p.ref, () => ({ focus: () => categoryRef.current?.focus() }), []);
  useEffect(() => setDate(p.defaultDate), [p.defaultDate]);
  useEffect(() => {
    if (p.fixedPropertyId) setPropertyId(p.fixedPropertyId);
  }, [p.fixedPropertyId]);

  const reset = () => {
    setCategory("");
    setMemo("");
    setAmount("");
    setErrors({});
  };

  const save = async () => {
    const errs: FieldErrors = {};
    const pid = p.fixedPropertyId ?? propertyId;
    if (!isIsoDate(date)) errs.date = "Date as YYYY-MM-DD";
    if (!pid) errs.property = "Pick a property";
    if (!category.trim()) errs.category = "Enter a category";
    const amt = parseAmount(amount, p.currency);
    if (!amt.ok) errs.amount = amt.error;
    setErrors(errs);
    if (Object.keys(errs).length > 0 || !amt.ok) return;
    setBusy(true);
    try {
      const created = await ipc.createTransaction({
        kind: p.kind,
        property_id: pid,
        amount_minor: amt.minor,
        currency: p.currency,
        category: category.trim(),
        memo: memo.trim(),
        occurred_on: date,
      });
      reset();
      p.onCreated(created);
      categoryRef.current?.focus();
    } catch (e) {
      const err = ipc.toCommandError(e);
      setErrors({ [fieldOf(err)]: err.message });
    } finally {
      setBusy(false);
    }
  };

  const onKey = (e: KeyboardEvent) => {
    if (e.key === "Enter") {
      e.preventDefault();
      if (!busy) void save();
    } else if (e.key === "Escape") {
      e.preventDefault();
      reset();
      (document.activeElement as HTMLElement | null)?.blur();
    }
  };

  const err = (f: keyof FieldErrors) =>
    errors[f] ? (
      <span className="inline-error" data-testid={`new-error-${f}`}>
        {errors[f]}
      </span>
    ) : null;

  return (
    <div className={`row new-row ${p.cols}`} data-testid={`new-row-${p.kind}`} onKeyDown={onKey} role="row" aria-label={`New ${p.kind}`}>
      <span className="cell-with-error">
        <input ref={dateRef} data-testid="new-date" type="text" className="date-input" placeholder="YYYY-MM-DD" inputMode="numeric" maxLength={10} spellCheck={false} autoComplete="off" value={date} onChange={(e) => setDate(e.target.value)} aria-invalid={!!errors.date} aria-label="Date" />
        {err("date")}
      </span>
      {!p.fixedPropertyId && (
        <span className="cell-with-error">
          <select data-testid="new-property" value={propertyId} onChange={(e) => setPropertyId(e.target.value)} aria-invalid={!!errors.property} aria-label="Property">
            {p.properties.map((pr) => (
              <option key={pr.id} value={pr.id}>
                {pr.name}
              </option>
            ))}
          </select>
          {err("property")}
        </span>
      )}
      <span className="cell-with-error">
        <input ref={categoryRef} data-testid="new-category" value={category} placeholder="Category" onChange={(e) => setCategory(e.target.value)} aria-invalid={!!errors.category} aria-label="Category" />
        {err("category")}
      </span>
      <span className="cell-with-error">
        <input data-testid="new-memo" value={memo} placeholder="Memo" onChange={(e) => setMemo(e.target.value)} aria-invalid={!!errors.memo} aria-label="Memo" />
        {err("memo")}
        {err("form")}
      </span>
      <span className="cell-with-error">
        <input data-testid="new-amount" className="num" value={amount} placeholder="0.00" inputMode="decimal" onChange={(e) => setAmount(e.target.value)} aria-invalid={!!errors.amount} aria-label={`Amount (${p.currency})`} />
        {err("amount")}
      </span>
      <span className="muted">{p.currency}</span>
      <span className="actions">
        <button type="button" data-testid={`new-save-${p.kind}`} onClick={() => void save()} disabled={busy} title="Save (Enter)">
          {busy ? "Saving…" : "Add"}
        </button>
      </span>
    </div>
  );
}
