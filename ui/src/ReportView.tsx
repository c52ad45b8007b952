// ?view=report — the profit-loss report: range picker, totals, chart, by category.

import { useEffect, useMemo, useState } from "react";
import { ProfitLossChart } from "./Chart";
import { AppHeader, AsOf } from "./components";
import { csvFilename, safeText, toCsv } from "./csv";
import { currentMonth, rangeError, reportRange, type Filters } from "./filters";
import { useAggregates } from "./hooks";
import * as ipc from "./ipc";
import { formatMoney, share, toDecimal } from "./money";
import { reportAggregates } from "./testhook";
import type { CategoryTotals, ProfitLoss, SessionView } from "./types";

export function categoryCsv(pl: ProfitLoss): string {
  return toCsv(
    ["kind", "category", "amount", "currency"],
    pl.by_category.map((c) => [c.kind, safeText(c.category), toDecimal(c.amount_minor, pl.currency), pl.currency]),
  );
}

export function ReportView(props: { session: SessionView }) {
  const { session } = props;
  const [filters, setFilters] = useState<Filters>(() => currentMonth());
  const [draft, setDraft] = useState({ from: filters.from, to: filters.to });
  const problem = rangeError(draft.from, draft.to);
  const range = useMemo(() => reportRange(filters), [filters]);
  const { data, error } = useAggregates(range);
  useEffect(() => reportAggregates(data), [data]);
  useEffect(() => {
    document.title = `Profit & loss — ${session.org.name}`;
  }, [session.org.name]);
  const [saved, setSaved] = useState<string | null>(null);

  const pl = data?.profit_loss ?? null;
  const cur = pl?.currency ?? "USD";
  const totalOf = (k: CategoryTotals["kind"]) => (k === "revenue" ? pl?.revenue_minor ?? 0 : pl?.expense_minor ?? 0);

  const apply = () => {
    if (!problem) setFilters((f) => ({ ...f, ...draft }));
  };

  return (
    <div className="page report">
      <AppHeader session={session} title="Profit & loss" />
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          apply();
        }}
      >
        <label>
          Property
          <select data-testid="filter-property" value={filters.propertyId ?? ""} onChange={(e) => setFilters((f) => ({ ...f, propertyId: e.target.value || undefined }))}>
            <option value="">All properties</option>
            {session.properties.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          From
          <input type="text" className="date-input" placeholder="YYYY-MM-DD" inputMode="numeric" maxLength={10} spellCheck={false} autoComplete="off" data-testid="filter-from" value={draft.from} onChange={(e) => setDraft((d) => ({ ...d, from: e.target.value }))} onBlur={apply} />
        </label>
        <label>
          To
          <input type="text" className="date-input" placeholder="YYYY-MM-DD" inputMode="numeric" maxLength={10} spellCheck={false} autoComplete="off" data-testid="filter-to" value={draft.to} onChange={(e) => setDraft((d) => ({ ...d, to: e.target.value }))} onBlur={apply} />
        </label>
        <button type="submit" disabled={!!problem} data-testid="report-apply">
          Show
        </button>
        {problem && <span className="field-error" data-testid="filter-error">{problem.message}</span>}
        <span className="spacer" />
        {pl && (
          <button
            type="button"
            data-testid="export-report"
            onClick={() => {
              setSaved(null);
              const name = csvFilename(["ledgerline", "profit-loss", filters.from, filters.to]);
              ipc
                .askSavePath(name)
                .then((path) => (path === null ? null : ipc.saveCsv(name, categoryCsv(pl), path)))
                .then(
                  (p) => p !== null && setSaved(`Saved to ${p}`),
                  (e) => setSaved(`Export failed: ${ipc.toCommandError(e).message}`),
                );
            }}
          >
            Export CSV
          </button>
        )}
      </form>
      {saved && <p className="export-result" data-testid="export-result-report">{saved}</p>}
      {error && (
        <p className="field-error banner" role="alert">
          The report could not be loaded: {error.message}
        </p>
      )}
      <main className="report-body">
        <section className="kpis">
          <div className="kpi-group">
            <div className="kpi kpi-big rev">
              <div className="kpi-label">Revenue</div>
              <div className="kpi-value num" data-testid="kpi-revenue" data-value={pl?.revenue_minor ?? ""}>{pl ? formatMoney(pl.revenue_minor, cur) : "—"}</div>
            </div>
            <div className="kpi kpi-big exp">
              <div className="kpi-label">Expense</div>
              <div className="kpi-value num" data-testid="kpi-expense" data-value={pl?.expense_minor ?? ""}>{pl ? formatMoney(pl.expense_minor, cur) : "—"}</div>
            </div>
            <div className={`kpi kpi-big ${pl && pl.net_minor < 0 ? "neg" : "net"}`}>
              <div className="kpi-label">Net</div>
              <div className="kpi-value num" data-testid="kpi-net" data-value={pl?.net_minor ?? ""}>{pl ? formatMoney(pl.net_minor, cur) : "—"}</div>
            </div>
          </div>
          {data && <AsOf data={data} />}
        </section>
        <ProfitLossChart pl={pl} from={filters.from} to={filters.to} height={220} />
        <table className="by-category" data-testid="by-category">
          <thead>
            <tr>
              <th>Kind</th>
              <th>Category</th>
              <th className="num">Amount</th>
              <th className="num">Share of kind</th>
            </tr>
          </thead>
          <tbody>
            {(pl?.by_category ?? []).map((c) => (
              <tr key={`${c.kind}/${c.category}`} className={c.kind} data-testid={`category-${c.kind}-${c.category}`} data-value={c.amount_minor}>
                <td>{c.kind}</td>
                <td>{c.category}</td>
                <td className="num">{formatMoney(c.amount_minor, cur)}</td>
                <td className="num">{share(c.amount_minor, totalOf(c.kind))}</td>
              </tr>
            ))}
            {pl && pl.by_category.length === 0 && (
              <tr>
                <td colSpan={4} className="empty">
                  Nothing in this range.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </main>
    </div>
  );
}
