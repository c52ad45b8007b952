// A revenue or expense table: new-row line, virtualized rows, inline edit,
// delete with confirm, approve/reject, CSV export (streamed by the app).

import { useVirtualizer } from "@tanstack/react-virtual";
import { useCallback, useEffect, useImperativeHandle, useRef, useState, type KeyboardEvent, type Ref } from "react";
import { csvFilename } from "./csv";
import { isIsoDate } from "./filters";
import { useRows, useSyncFinishedToken } from "./hooks";
import * as ipc from "./ipc";
import { formatMoney, parseAmount, toDecimal } from "./money";
import { isLocalId } from "./rows";
import { isLocked, useOrgSettings } from "./settings";
import { registerTable } from "./testhook";
import type { CommandError, ExportProgress, Kind, PropertyInfo, Row, RowQuery, TransactionPatch } from "./types";

export const ROW_HEIGHT = 26;
/** Exports of more rows than this show a progress bar. */
const EXPORT_PROGRESS_FROM = 5000;

export interface TxTableHandle {
  focusNewRow(): void;
}

interface Props {
  kind: Kind;
  query: RowQuery;
  properties: PropertyInfo[];
  /** Property new rows go to; undefined = let the user pick (all properties). */
  fixedPropertyId?: string;
  canApprove: boolean;
  currency: string;
  /** Date prefilled in the new-row line. */
  defaultDate: string;
  exportName: string[];
  handle?: Ref<TxTableHandle>;
}

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

function conflictWords(e: CommandError): string {
  if (e.kind === "conflict") return `Not saved: someone changed this row first (${e.message}). The row now shows their version.`;
  if (e.kind === "not_found") return "Not saved: this row no longer exists.";
  return e.message;
}

const estimateSize = () => ROW_HEIGHT;

const KIND_TITLE: Record<Kind, string> = { revenue: "Revenue", expense: "Expenses" };

export function TxTable(props: Props) {
  const { kind, properties, fixedPropertyId, canApprove } = props;
  const syncToken = useSyncFinishedToken();
  const [retries, setRetries] = useState(0);
  const { store, loading, error, total } = useRows(props.query, syncToken + retries);
  const rows = store?.sorted ?? [];
  // While the rest of a first read comes in, room for every row it counted:
  // the scrollbar is the table's, and rows not here yet show as placeholders.
  const slots = loading && total !== null ? Math.max(rows.length, total) : rows.length;
  const rowsRef = useRef(rows);
  rowsRef.current = rows;
  useEffect(() => registerTable(kind, () => rowsRef.current), [kind]);

  const showProperty = !fixedPropertyId;
  const propName = useCallback(
    (id: string) => properties.find((p) => p.id === id)?.name ?? id,
    [properties],
  );

  // --- row-level UI state --------------------------------------------------
  const settings = useOrgSettings();
  const locked = (row: Row) => isLocked(row, settings);
  /** A locked row is not edited or deleted: say why, in the core's words. */
  const refuseLocked = (row: Row) => {
    if (!locked(row)) return false;
    setRowError(row.id, settings.lock_message ?? "This period is locked");
    return true;
  };
  const openHistory = (row: Row) => {
    if (!isLocalId(row.id)) void ipc.openWindow(`history:${row.id}`).catch((e) => setRowError(row.id, ipc.toCommandError(e).message));
  };
  const [editing, setEditing] = useState<string | null>(null);
  const [confirmDelete, setConfirmDelete] = useState<string | null>(null);
  const [rowErrors, setRowErrors] = useState<Record<string, string>>({});
  const [focusIndex, setFocusIndex] = useState(0);
  const setRowError = (id: string, msg: string | null) =>
    setRowErrors((m) => {
      const n = { ...m };
      if (msg === null) delete n[id];
      else n[id] = msg;
      return n;
    });

  // --- virtualization --------------------------------------------------------
  const scrollRef = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: slots,
    getScrollElement: () => scrollRef.current,
    estimateSize,
    overscan: 16,
    // Stable between renders of the same rows: a new key function makes the
    // virtualizer re-measure every row (100k) on each scroll frame.
    getItemKey: useCallback((i: number) => rows[i]?.id ?? i, [rows]),
  });

  const focusRow = (i: number) => {
    const idx = Math.max(0, Math.min(rows.length - 1, i));
    setFocusIndex(idx);
    virtualizer.scrollToIndex(idx, { align: "auto" });
    requestAnimationFrame(() => scrollRef.current?.querySelector<HTMLElement>(`[data-index="${idx}"]`)?.focus());
  };

  // --- actions -----------------------------------------------------------------
  const act = async (id: string, what: () => Promise<unknown>) => {
    setRowError(id, null);
    try {
      await what();
    } catch (e) {
      setRowError(id, conflictWords(ipc.toCommandError(e)));
    }
  };

  const onRowKey = (ev: KeyboardEvent<HTMLDivElement>, row: Row, index: number) => {
    if (ev.target !== ev.currentTarget) return; // keys inside inputs/buttons are theirs
    switch (ev.key) {
      case "ArrowDown":
        ev.preventDefault();
        focusRow(index + 1);
        break;
      case "ArrowUp":
        ev.preventDefault();
        focusRow(index - 1);
        break;
      case "PageDown":
        ev.preventDefault();
        focusRow(index + 20);
        break;
      case "PageUp":
        ev.preventDefault();
        focusRow(index - 20);
        break;
      case "Home":
        ev.preventDefault();
        focusRow(0);
        break;
      case "End":
        ev.preventDefault();
        focusRow(rows.length - 1);
        break;
      case "Enter":
      case "F2":
        ev.preventDefault();
        if (!isLocalId(row.id) && !refuseLocked(row)) setEditing(row.id);
        break;
      case "Delete":
        ev.preventDefault();
        if ((!isLocalId(row.id) || row.sync_error) && !refuseLocked(row)) setConfirmDelete(row.id);
        break;
      case "h":
      case "H":
        ev.preventDefault();
        openHistory(row);
        break;
    }
  };

  // --- export ----------------------------------------------------------------
  // The app writes the file from its cache (every row of the query, however
  // many are loaded here); the user picks where in the save dialog.
  const [exported, setExported] = useState<{ ok: boolean; text: string } | null>(null);
  const [progress, setProgress] = useState<ExportProgress | null>(null);
  const exportCsv = async () => {
    setExported(null);
    try {
      const path = await ipc.askSavePath(csvFilename(props.exportName));
      if (path === null) return; // the user cancelled
      setProgress({ written: 0, total: 0, finished: false });
      const done = await ipc.exportCsv(props.query, path, setProgress);
      setExported({ ok: true, text: `Saved ${done.rows.toLocaleString()} rows to ${done.path}` });
    } catch (e) {
      setExported({ ok: false, text: `Export failed: ${ipc.toCommandError(e).message}` });
    } finally {
      setProgress(null);
    }
  };

  // After an entry is added, bring it (or its confirmed replacement) into view.
  const [reveal, setReveal] = useState<{ id: string; cmid: string | null } | null>(null);
  useEffect(() => {
    if (!reveal) return;
    const i = rows.findIndex((r) => r.id === reveal.id || (reveal.cmid !== null && r.client_mutation_id === reveal.cmid));
    if (i >= 0) {
      setFocusIndex(i);
      setReveal(null);
      // Scroll outside the commit phase (the virtualizer re-renders synchronously on scroll).
      requestAnimationFrame(() => virtualizer.scrollToIndex(i, { align: "auto" }));
    }
  }, [reveal, rows, virtualizer]);

  const newRowRef = useRef<NewRowHandle>(null);
  useImperativeHandle(props.handle, () => ({ focusNewRow: () => newRowRef.current?.focus() }), []);

  const cols = `grid-cols ${showProperty ? "with-prop" : ""}`;
  return (
    <section
      className={`tx-table tx-${kind}`}
      data-testid={`table-${kind}`}
      data-loading={loading ? "true" : "false"}
      data-seq={store?.seq ?? ""}
      aria-label={KIND_TITLE[kind]}
    >
      <div className="table-head">
        <h2>{KIND_TITLE[kind]}</h2>
        <span className="row-count" data-testid={`row-count-${kind}`} data-value={rows.length}>
          {loading && !store
            ? "loading…"
            : loading && total !== null && total > rows.length
              ? `${rows.length.toLocaleString()} of ${total.toLocaleString()} rows`
              : `${rows.length.toLocaleString()} rows`}
        </span>
        {loading && store && <span className="muted">refreshing…</span>}
        <span className="spacer" />
        <button type="button" data-testid={`export-${kind}`} onClick={exportCsv} disabled={!store || progress !== null}>
          Export CSV
        </button>
      </div>
      {progress && progress.total > EXPORT_PROGRESS_FROM && (
        <progress
          className="export-progress"
          data-testid={`export-progress-${kind}`}
          max={progress.total}
          value={progress.written}
          aria-label="Export progress"
        />
      )}
      {exported && (
        <p className={exported.ok ? "export-result" : "export-result field-error"} data-testid={`export-result-${kind}`}>
          {exported.text}
        </p>
      )}
      {error && (
        <p className="field-error" role="alert" data-testid={`table-error-${kind}`}>
          Rows could not be loaded: {error.message}{" "}
          <button type="button" className="link" data-testid={`retry-${kind}`} onClick={() => setRetries((n) => n + 1)}>
            Try again
          </button>
        </p>
      )}
      <div className={`thead ${cols}`} role="row">
        <span role="columnheader">Date</span>
        {showProperty && <span role="columnheader">Property</span>}
        <span role="columnheader">Category</span>
        <span role="columnheader">Memo</span>
        <span role="columnheader" className="num">
          Amount
        </span>
        <span role="columnheader">Status</span>
        <span role="columnheader">Actions</span>
      </div>
      <NewRow
        ref={newRowRef}
        kind={kind}
        cols={cols}
        properties={properties}
        fixedPropertyId={fixedPropertyId}
        currency={props.currency}
        defaultDate={props.defaultDate}
        onCreated={(r) => setReveal({ id: r.id, cmid: r.client_mutation_id })}
      />
      <div className="tbody" ref={scrollRef} role="rowgroup">
        <div style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
          {virtualizer.getVirtualItems().map((vi) => {
            const row = rows[vi.index];
            if (!row) {
              return (
                <div
                  key={vi.key}
                  className="vrow placeholder muted"
                  style={{ transform: `translateY(${vi.start}px)`, height: ROW_HEIGHT }}
                >
                  loading…
                </div>
              );
            }
            return (
              <div
                key={row.id}
                className="vrow"
                style={{ transform: `translateY(${vi.start}px)`, height: ROW_HEIGHT }}
              >
                {editing === row.id ? (
                  <EditRow
                    row={row}
                    cols={cols}
                    index={vi.index}
                    showProperty={showProperty}
                    propName={propName}
                    onDone={(err) => {
                      setEditing(null);
                      setRowError(row.id, err);
                      focusRow(vi.index);
                    }}
                  />
                ) : (
                  <RowView
                    row={row}
                    cols={cols}
                    index={vi.index}
                    focused={vi.index === Math.min(focusIndex, rows.length - 1)}
                    showProperty={showProperty}
                    propName={propName}
                    canApprove={canApprove}
                    confirming={confirmDelete === row.id}
                    locked={locked(row)}
                    error={rowErrors[row.id] ?? null}
                    onKeyDown={(e) => onRowKey(e, row, vi.index)}
                    onFocus={() => setFocusIndex(vi.index)}
                    onEdit={() => !isLocalId(row.id) && !refuseLocked(row) && setEditing(row.id)}
                    onHistory={() => openHistory(row)}
                    onAskDelete={() => setConfirmDelete(row.id)}
                    onCancelDelete={() => {
                      setConfirmDelete(null);
                      focusRow(vi.index);
                    }}
                    onDelete={() => {
                      setConfirmDelete(null);
                      const at = vi.index;
                      // Keep the keyboard in the table: focus whatever row takes its place.
                      void act(row.id, () => ipc.deleteTransaction(row.id)).then(() => setTimeout(() => focusRow(at), 50));
                    }}
                    onApprove={() => void act(row.id, () => ipc.approveTransaction(row.id))}
                    onReject={() => void act(row.id, () => ipc.rejectTransaction(row.id))}
                    onDismissError={() => setRowError(row.id, null)}
                  />
                )}
              </div>
            );
          })}
        </div>
        {store && rows.length === 0 && <p className="empty">No {kind === "revenue" ? "revenue" : "expenses"} in this range.</p>}
      </div>
    </section>
  );
}

// --- one row ---------------------------------------------------------------------

function StatusCell({ row, locked }: { row: Row; locked: boolean }) {
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

function RowView(p: {
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

function EditRow(p: {
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

interface NewRowHandle {
  focus(): void;
}

function NewRow(p: {
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
