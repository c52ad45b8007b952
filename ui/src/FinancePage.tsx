// The finance page: header, filters, KPI cards, chart, revenue and expense
// tables, diagnostics. With `lockedPropertyId` it is a property window.

import { useEffect, useMemo, useRef, useState } from "react";
import { AppHeader, canApprove, Kpis } from "./components";
import { DiagnosticsPanel } from "./Diagnostics";
import { currentMonth, debounce, isoDate, rangeError, reportRange, rowQuery, type Filters } from "./filters";
import { useAggregates } from "./hooks";
import * as ipc from "./ipc";
import { ProfitLossChart } from "./Chart";
import { reportAggregates } from "./testhook";
import { TxTable, type TxTableHandle } from "./TxTable";
import type { CommandError, SessionView } from "./types";

/** Wait this long after the last date edit before re-querying. */
const FILTER_DEBOUNCE_MS = 300;

export function FinancePage(props: { session: SessionView; lockedPropertyId?: string }) {
  const { session, lockedPropertyId } = props;
  const properties = session.properties;
  const locked = lockedPropertyId !== undefined;
  const lockedProperty = locked ? properties.find((p) => p.id === lockedPropertyId) : undefined;

  const [applied, setApplied] = useState<Filters>(() => ({ ...currentMonth(), propertyId: lockedPropertyId }));
  const [draft, setDraft] = useState({ from: applied.from, to: applied.to });
  const [diagOpen, setDiagOpen] = useState(false);
  const [openError, setOpenError] = useState<CommandError | null>(null);
  const [openChoice, setOpenChoice] = useState("");
  const openSelectRef = useRef<HTMLSelectElement>(null);
  const revenueRef = useRef<TxTableHandle>(null);
  const expenseRef = useRef<TxTableHandle>(null);

  const draftProblem = rangeError(draft.from, draft.to);
  const applyDates = useMemo(
    () => debounce((from: string, to: string) => setApplied((f) => ({ ...f, from, to })), FILTER_DEBOUNCE_MS),
    [],
  );
  useEffect(() => () => applyDates.cancel(), [applyDates]);
  const editDate = (which: "from" | "to", value: string) => {
    const next = { ...draft, [which]: value };
    setDraft(next);
    if (rangeError(next.from, next.to) === null) applyDates(next.from, next.to);
    else applyDates.cancel();
  };

  const range = useMemo(() => reportRange(applied), [applied]);
  const { data: agg, error: aggError } = useAggregates(range);
  useEffect(() => reportAggregates(agg), [agg]);
  const currency = agg?.profit_loss?.currency ?? "USD";

  const revenueQuery = useMemo(() => rowQuery("revenue", applied), [applied]);
  const expenseQuery = useMemo(() => rowQuery("expense", applied), [applied]);
  const today = isoDate(new Date());
  const defaultDate = today >= applied.from && today <= applied.to ? today : applied.to;

  const open = (target: Parameters<typeof ipc.openWindow>[0]) => {
    setOpenError(null);
    ipc.openWindow(target).catch((e) => setOpenError(ipc.toCommandError(e)));
  };
  const openProperty = () => {
    const id = lockedPropertyId ?? applied.propertyId;
    if (id) open(`property:${id}`);
    else openSelectRef.current?.focus();
  };

  // Keyboard shortcuts (Ctrl or ⌘ + Shift + letter).
  const shortcuts = useRef<Record<string, () => void>>({});
  shortcuts.current = {
    P: openProperty,
    R: () => open("report:profit-loss"),
    A: () => open("approvals"),
    D: () => setDiagOpen((o) => !o),
    N: () => revenueRef.current?.focusNewRow(),
    E: () => expenseRef.current?.focusNewRow(),
  };
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (!(e.ctrlKey || e.metaKey) || !e.shiftKey || e.altKey) return;
      const fn = shortcuts.current[e.key.toUpperCase()];
      if (fn) {
        e.preventDefault();
        fn();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  useEffect(() => {
    document.title = locked ? `${lockedProperty?.name ?? "Property"} — Ledgerline` : `${session.org.name} — Ledgerline`;
  }, [locked, lockedProperty, session.org.name]);

  const propLabel = applied.propertyId ? properties.find((p) => p.id === applied.propertyId)?.name ?? applied.propertyId : "all";
  const exportName = (kind: string) => ["ledgerline", kind, propLabel, applied.from, applied.to];

  return (
    <div className={`page finance ${diagOpen ? "with-diag" : ""}`}>
      <AppHeader
        session={session}
        title={locked ? lockedProperty?.name ?? `Property ${lockedPropertyId}` : "Finance"}
        diagnosticsOpen={diagOpen}
        onToggleDiagnostics={() => setDiagOpen((o) => !o)}
      >
        {!locked && (
          <select
            ref={openSelectRef}
            data-testid="open-property"
            value={openChoice}
            aria-label="Open a property in a new window"
            title="Open a property in a new window (Ctrl+Shift+P)"
            onChange={(e) => {
              const id = e.target.value;
              setOpenChoice("");
              if (id) open(`property:${id}`);
            }}
          >
            <option value="">Open property…</option>
            {properties.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
        )}
        <button type="button" data-testid="open-report" onClick={() => open("report:profit-loss")} title="Profit & loss report in a new window (Ctrl+Shift+R)">
          P&amp;L report
        </button>
        <button type="button" data-testid="open-approvals" onClick={() => open("approvals")} title="Approvals in a new window (Ctrl+Shift+A)">
          Approvals
        </button>
      </AppHeader>
      {openError && (
        <p className="field-error banner" role="alert" data-testid="open-error">
          Could not open the window: {openError.message}
        </p>
      )}

      <div className="filters" role="search">
        {locked ? (
          <span className="locked-prop" data-testid="locked-property">
            Property: <strong>{lockedProperty?.name ?? lockedPropertyId}</strong>
            {!lockedProperty && <span className="field-error"> (not one of your properties)</span>}
          </span>
        ) : (
          <label>
            Property
            <select
              data-testid="filter-property"
              value={applied.propertyId ?? ""}
              onChange={(e) => setApplied((f) => ({ ...f, propertyId: e.target.value || undefined }))}
            >
              <option value="">All properties</option>
              {properties.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name}
                </option>
              ))}
            </select>
          </label>
        )}
        <label>
          From
          <input type="text" className="date-input" placeholder="YYYY-MM-DD" inputMode="numeric" maxLength={10} spellCheck={false} autoComplete="off" data-testid="filter-from" value={draft.from} onChange={(e) => editDate("from", e.target.value)} aria-invalid={draftProblem?.field === "from"} />
        </label>
        <label>
          To
          <input type="text" className="date-input" placeholder="YYYY-MM-DD" inputMode="numeric" maxLength={10} spellCheck={false} autoComplete="off" data-testid="filter-to" value={draft.to} onChange={(e) => editDate("to", e.target.value)} aria-invalid={draftProblem?.field === "to"} />
        </label>
        <button
          type="button"
          className="link"
          data-testid="filter-this-month"
          onClick={() => {
            const m = currentMonth();
            setDraft(m);
            applyDates.cancel();
            setApplied((f) => ({ ...f, ...m }));
          }}
        >
          This month
        </button>
        {draftProblem && (
          <span className="field-error" role="alert" data-testid="filter-error">
            {draftProblem.message}
          </span>
        )}
        <span className="spacer" />
        <span className="hint">Ctrl+Shift+N new revenue · Ctrl+Shift+E new expense · Enter edit · Del delete</span>
      </div>

      <div className="body">
        <main className="content">
          <div className="overview">
            <Kpis data={agg} error={aggError} currency={currency} />
            <ProfitLossChart pl={agg?.profit_loss} from={applied.from} to={applied.to} height={130} />
          </div>
          <div className="tables">
            <TxTable
              handle={revenueRef}
              kind="revenue"
              query={revenueQuery}
              properties={properties}
              fixedPropertyId={lockedPropertyId ?? applied.propertyId}
              canApprove={canApprove(session.user.role)}
              currency={currency}
              defaultDate={defaultDate}
              exportName={exportName("revenue")}
            />
            <TxTable
              handle={expenseRef}
              kind="expense"
              query={expenseQuery}
              properties={properties}
              fixedPropertyId={lockedPropertyId ?? applied.propertyId}
              canApprove={canApprove(session.user.role)}
              currency={currency}
              defaultDate={defaultDate}
              exportName={exportName("expense")}
            />
          </div>
        </main>
        <DiagnosticsPanel open={diagOpen} onClose={() => setDiagOpen(false)} />
      </div>
    </div>
  );
}
