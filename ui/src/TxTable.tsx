// A revenue or expense table: new-row line, virtualized rows, inline edit,
// delete with confirm, approve/reject, CSV export (streamed by the app).
// It holds only the rows near the screen (tableRows.ts, window.ts): a slot
// for every row of the query, a placeholder where its row is not read yet.
// The row and the new-row line themselves: TxRow.tsx.

import { useVirtualizer } from "@tanstack/react-virtual";
import { useCallback, useEffect, useImperativeHandle, useRef, useState, type KeyboardEvent, type Ref } from "react";
import { csvFilename } from "./csv";
import { useRows, useSyncFinishedToken } from "./hooks";
import { listIndex } from "./tableRows";
import * as ipc from "./ipc";
import { isLocalId } from "./rows";
import { isLocked, useOrgSettings } from "./settings";
import { registerTable } from "./testhook";
import { PlaceholderRow, ROW_HEIGHT } from "./components";
import { conflictWords, EditRow, NewRow, RowView, type NewRowHandle } from "./TxRow";
import type { ExportProgress, Kind, PropertyInfo, Row, RowQuery } from "./types";

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

const estimateSize = () => ROW_HEIGHT;

const KIND_TITLE: Record<Kind, string> = { revenue: "Revenue", expense: "Expenses" };

export function TxTable(props: Props) {
  const { kind, properties, fixedPropertyId, canApprove } = props;
  const syncToken = useSyncFinishedToken();
  const [retries, setRetries] = useState(0);
  const { held, loading, error, show } = useRows(props.query, syncToken + retries);
  const store = held?.store ?? null;
  const rows = store?.sorted ?? [];
  const offset = held?.offset ?? 0;
  // A slot for every row the query matches: the scrollbar is the whole list's.
  const total = held?.total ?? 0;
  const heldRef = useRef(held);
  heldRef.current = held;
  useEffect(
    () =>
      registerTable(kind, () => ({ rows: heldRef.current?.store.sorted ?? [], total: heldRef.current?.total ?? null, offset: heldRef.current?.offset ?? 0 })),
    [kind],
  );

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
    count: total,
    getScrollElement: () => scrollRef.current,
    estimateSize,
    overscan: 16,
    // Stable between renders of the same rows: a new key function makes the
    // virtualizer re-measure every row (100k) on each scroll frame.
    getItemKey: useCallback((i: number) => rows[i - offset]?.id ?? i, [rows, offset]),
  });
  // The slots on screen: the rows near them are read.
  const items = virtualizer.getVirtualItems();
  const firstShown = items[0]?.index ?? 0;
  const lastShown = items[items.length - 1]?.index ?? 0;
  useEffect(() => show({ first: firstShown, last: lastShown }), [show, firstShown, lastShown]);

  // Keyboard focus on a row, once it is read (it may be a placeholder when asked).
  const wantFocus = useRef<number | null>(null);
  const tryFocus = useCallback(() => {
    const i = wantFocus.current;
    const body = scrollRef.current;
    if (i === null || !body) return;
    const active = document.activeElement;
    if (active && active !== document.body && !body.contains(active)) {
      wantFocus.current = null; // the user went elsewhere meanwhile
      return;
    }
    const el = body.querySelector<HTMLElement>(`[data-index="${i}"]`);
    if (el) {
      el.focus();
      wantFocus.current = null;
    }
  }, []);
  useEffect(() => {
    if (wantFocus.current !== null) requestAnimationFrame(tryFocus);
  }, [held, tryFocus]);
  const focusRow = (i: number) => {
    const idx = Math.max(0, Math.min(total - 1, i));
    setFocusIndex(idx);
    virtualizer.scrollToIndex(idx, { align: "auto" });
    wantFocus.current = idx;
    requestAnimationFrame(tryFocus);
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
        focusRow(total - 1);
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
  // The app writes the file from its cache (every row of the query, not the
  // few held here); the user picks where in the save dialog.
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

  // After an entry is added, bring it (or its confirmed replacement) into
  // view: found among the held rows, or, when it sorts away from them, its
  // place in the list asked (and the rows there read) first.
  const [reveal, setReveal] = useState<{ id: string; cmid: string | null } | null>(null);
  useEffect(() => {
    if (!reveal) return;
    const i = rows.findIndex((r) => r.id === reveal.id || (reveal.cmid !== null && r.client_mutation_id === reveal.cmid));
    if (i >= 0) {
      setFocusIndex(offset + i);
      setReveal(null);
      // Scroll outside the commit phase (the virtualizer re-renders synchronously on scroll).
      requestAnimationFrame(() => virtualizer.scrollToIndex(offset + i, { align: "auto" }));
    }
  }, [reveal, rows, offset, virtualizer]);
  const revealNew = (r: Row) => {
    setReveal({ id: r.id, cmid: r.client_mutation_id });
    if (rows.some((x) => x.id === r.id)) return;
    listIndex(props.query, r).then(
      (i) => {
        setFocusIndex(i);
        virtualizer.scrollToIndex(i, { align: "auto" });
      },
      () => {}, // it stays where it is; the entry shows when scrolled to
    );
  };

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
        <span className="row-count" data-testid={`row-count-${kind}`} data-value={total}>
          {!held ? "loading…" : `${total.toLocaleString()} rows`}
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
        onCreated={revealNew}
      />
      <div className="tbody" ref={scrollRef} role="rowgroup">
        <div style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
          {virtualizer.getVirtualItems().map((vi) => {
            const row = rows[vi.index - offset];
            if (!row) return <PlaceholderRow key={vi.key} slot={vi.index} top={vi.start} />;
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
                    focused={vi.index === Math.min(focusIndex, total - 1)}
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
        {held && total === 0 && <p className="empty">No {kind === "revenue" ? "revenue" : "expenses"} in this range.</p>}
      </div>
    </section>
  );
}
