// ?view=approvals — pending transactions across properties.
// Keys: j/k (or ↓/↑) move, a approves, r rejects. Like TxTable, it holds
// the rows near the screen, a placeholder in a slot not read yet.

import { useVirtualizer } from "@tanstack/react-virtual";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { AppHeader, canApprove, PlaceholderRow, ROW_HEIGHT } from "./components";
import { useRows, useSyncFinishedToken } from "./hooks";
import * as ipc from "./ipc";
import { formatMoney } from "./money";
import { isLocalId } from "./rows";
import { isLocked, useOrgSettings } from "./settings";
import { registerTable } from "./testhook";
import { rowAt } from "./window";
import type { Row, RowQuery, SessionView } from "./types";

const estimateSize = () => ROW_HEIGHT;

export function ApprovalsView(props: { session: SessionView }) {
  const { session } = props;
  const allowed = canApprove(session.user.role);
  const [propertyId, setPropertyId] = useState("");
  const query = useMemo<RowQuery>(() => (propertyId ? { status: "pending", property_id: propertyId } : { status: "pending" }), [propertyId]);
  const syncToken = useSyncFinishedToken();
  const { held, error, show } = useRows(query, syncToken);
  const rows = held?.store.sorted ?? [];
  const offset = held?.offset ?? 0;
  const total = held?.total ?? 0;
  const heldRef = useRef(held);
  heldRef.current = held;
  useEffect(
    () =>
      registerTable("approvals", () => ({ rows: heldRef.current?.store.sorted ?? [], total: heldRef.current?.total ?? null, offset: heldRef.current?.offset ?? 0 })),
    [],
  );
  useEffect(() => {
    document.title = `Approvals — ${session.org.name}`;
  }, [session.org.name]);

  const [selected, setSelected] = useState(0);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const sel = Math.min(selected, Math.max(0, total - 1));
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
  const names = useMemo(() => new Map(session.properties.map((p) => [p.id, p.name])), [session.properties]);

  const settings = useOrgSettings();
  // Said with the next rejection (button or r), then cleared.
  const [reason, setReason] = useState("");
  const decide = async (row: Row, how: "approve" | "reject") => {
    if (!allowed || isLocalId(row.id)) return;
    if (isLocked(row, settings)) {
      setErrors((m) => ({ ...m, [row.id]: settings.lock_message ?? "This period is locked" }));
      return;
    }
    setErrors(({ [row.id]: _, ...rest }) => rest);
    try {
      if (how === "approve") await ipc.approveTransaction(row.id);
      else {
        await ipc.rejectTransaction(row.id, reason);
        setReason("");
      }
    } catch (e) {
      const err = ipc.toCommandError(e);
      setErrors((m) => ({ ...m, [row.id]: err.kind === "conflict" ? `Not saved: changed by someone else (${err.message})` : err.message }));
    }
  };

  const move = (to: number) => {
    const i = Math.max(0, Math.min(total - 1, to));
    setSelected(i);
    virtualizer.scrollToIndex(i, { align: "auto" });
  };

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement | null;
      if (e.ctrlKey || e.metaKey || e.altKey || (t && /^(INPUT|SELECT|TEXTAREA)$/.test(t.tagName))) return;
      const row = heldRef.current ? rowAt(heldRef.current, sel) : undefined;
      switch (e.key) {
        case "j":
        case "ArrowDown":
          e.preventDefault();
          move(sel + 1);
          break;
        case "k":
        case "ArrowUp":
          e.preventDefault();
          move(sel - 1);
          break;
        case "a":
          if (row) {
            e.preventDefault();
            void decide(row, "approve");
          }
          break;
        case "r":
          if (row) {
            e.preventDefault();
            void decide(row, "reject");
          }
          break;
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  });

  return (
    <div className="page approvals">
      <AppHeader session={session} title="Approvals" />
      <div className="filters">
        <label>
          Property
          <select data-testid="filter-property" value={propertyId} onChange={(e) => setPropertyId(e.target.value)}>
            <option value="">All properties</option>
            {session.properties.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
        </label>
        {allowed && (
          <label>
            Reason for a rejection
            <input
              data-testid="reject-reason"
              value={reason}
              maxLength={500}
              placeholder="optional, sent with the next Reject"
              onChange={(e) => setReason(e.target.value)}
            />
          </label>
        )}
        <span className="row-count" data-testid="row-count-approvals" data-value={total}>
          {!held ? "loading…" : `${total.toLocaleString()} pending`}
        </span>
        <span className="spacer" />
        <span className="hint">{allowed ? "j/k move · a approve · r reject" : "Only owners and managers can approve or reject."}</span>
      </div>
      {error && (
        <p className="field-error banner" role="alert">
          Pending transactions could not be loaded: {error.message}
        </p>
      )}
      <section className="tx-table approvals-table" data-testid="table-approvals">
        <div className="thead grid-approvals" role="row">
          <span>Date</span>
          <span>Property</span>
          <span>Kind</span>
          <span>Category</span>
          <span>Memo</span>
          <span className="num">Amount</span>
          <span>Actions</span>
        </div>
        <div className="tbody" ref={scrollRef} role="rowgroup">
          <div style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
            {virtualizer.getVirtualItems().map((vi) => {
              const row = rows[vi.index - offset];
              if (!row) return <PlaceholderRow key={vi.key} slot={vi.index} top={vi.start} />;
              const problem = row.sync_error ?? errors[row.id];
              return (
                <div
                  key={row.id}
                  className={`vrow row grid-approvals ${vi.index === sel ? "selected" : ""} ${row.pending_sync ? "pending" : ""}`}
                  style={{ transform: `translateY(${vi.start}px)`, height: ROW_HEIGHT }}
                  role="row"
                  aria-selected={vi.index === sel}
                  data-testid={`row-${row.id}`}
                  data-id={row.id}
                  data-pending={row.pending_sync ? "true" : "false"}
                  data-selected={vi.index === sel ? "true" : "false"}
                  onClick={() => setSelected(vi.index)}
                >
                  <span className="date">{row.occurred_on}</span>
                  <span className="prop">{names.get(row.property_id) ?? row.property_id}</span>
                  <span className={`kind ${row.kind}`}>{row.kind}</span>
                  <span className="cat">{row.category}</span>
                  <span className="memo">
                    {problem ? <span className="row-error" data-testid={`error-${row.id}`}>⚠ {problem}</span> : row.memo}
                    {row.pending_sync && !row.sync_error && <span className="syncing"> ⟳ syncing</span>}
                  </span>
                  <span className="num amount">{formatMoney(row.amount_minor, row.currency)}</span>
                  <span className="actions">
                    {isLocked(row, settings) && (
                      <span className="locked" data-testid={`locked-${row.id}`} title="In the locked period">
                        🔒 locked
                      </span>
                    )}
                    {allowed && !isLocalId(row.id) && !isLocked(row, settings) && (
                      <>
                        <button type="button" className="link ok" data-testid={`approve-${row.id}`} onClick={() => void decide(row, "approve")}>
                          Approve
                        </button>
                        <button type="button" className="link danger" data-testid={`reject-${row.id}`} onClick={() => void decide(row, "reject")}>
                          Reject
                        </button>
                      </>
                    )}
                  </span>
                </div>
              );
            })}
          </div>
          {held && total === 0 && <p className="empty">Nothing waiting for approval.</p>}
        </div>
      </section>
    </div>
  );
}
