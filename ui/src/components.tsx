// Small shared pieces: status badge, first-sync bar, the header, KPI cards.

import { createContext, useContext, useEffect, type ReactNode } from "react";
import { useStatus, useSyncProgress } from "./hooks";
import * as ipc from "./ipc";
import { formatMoney } from "./money";
import { reportStatus } from "./testhook";
import type { Aggregates, CommandError, Role, SessionView, StatusState } from "./types";

const LABEL: Record<StatusState, string> = {
  live: "Live",
  reconnecting: "Reconnecting",
  offline: "Offline",
  cache_error: "Cache error",
};

export function StatusBadge() {
  const status = useStatus();
  useEffect(() => reportStatus(status), [status]);
  if (!status) {
    return (
      <span className="badge badge-unknown" data-testid="status-badge" data-state="unknown">
        …
      </span>
    );
  }
  return (
    <span
      className={`badge badge-${status.state}`}
      data-testid="status-badge"
      data-state={status.state}
      title={`Since ${new Date(status.since).toLocaleString()}`}
    >
      {LABEL[status.state]}
    </span>
  );
}

export function SyncBar() {
  const p = useSyncProgress();
  if (!p || p.finished) return null;
  const pct = p.total ? Math.min(100, Math.round((p.done / p.total) * 100)) : null;
  return (
    <div
      className="sync-progress"
      data-testid="sync-progress"
      data-done={p.done}
      data-total={p.total ?? ""}
      role="progressbar"
      aria-valuemin={0}
      aria-valuemax={p.total ?? undefined}
      aria-valuenow={p.done}
      aria-label="First sync"
    >
      <div className={pct === null ? "bar indeterminate" : "bar"} style={pct === null ? undefined : { width: `${pct}%` }} />
      <span className="sync-label">
        First sync: {p.done.toLocaleString()}
        {p.total ? ` of ${p.total.toLocaleString()}` : ""} rows
      </span>
      {p.error && (
        <span className="sync-stopped" role="alert" data-testid="sync-error">
          stopped: {p.error}. Retrying on its own —{" "}
          <button type="button" data-testid="sync-retry" onClick={() => ipc.retrySync().catch(() => {})}>
            Retry now
          </button>
        </span>
      )}
    </div>
  );
}

/** Provided by App: sign out and return this window to the sign-in form. */
export const SignOutContext = createContext<() => void>(() => {
  ipc.signOut().catch(() => {});
});

export const canApprove = (role: Role) => role === "owner" || role === "manager";

export function ErrorText(props: { error: CommandError | string | null | undefined; testid?: string }) {
  if (!props.error) return null;
  const msg = typeof props.error === "string" ? props.error : props.error.message;
  return (
    <span className="field-error" role="alert" data-testid={props.testid}>
      {msg}
    </span>
  );
}

export function AppHeader(props: {
  session: SessionView;
  title: string;
  children?: ReactNode;
  onToggleDiagnostics?: () => void;
  diagnosticsOpen?: boolean;
}) {
  const { session } = props;
  const signOut = useContext(SignOutContext);
  return (
    <>
      <header className="app-header">
        <div className="brand">
          <strong data-testid="org-name">{session.org.name}</strong>
          <span className="sep">·</span>
          <span>{props.title}</span>
        </div>
        <StatusBadge />
        <div className="header-actions">{props.children}</div>
        <div className="user" data-testid="user-name" title={session.user.email}>
          {session.user.name} <span className="role">({session.user.role})</span>
        </div>
        {props.onToggleDiagnostics && (
          <button
            type="button"
            data-testid="diagnostics-toggle"
            aria-pressed={props.diagnosticsOpen}
            onClick={props.onToggleDiagnostics}
            title="Diagnostics (Ctrl+Shift+D)"
          >
            Diagnostics
          </button>
        )}
        <button type="button" data-testid="sign-out" onClick={signOut}>
          Sign out
        </button>
      </header>
      <SyncBar />
    </>
  );
}

function Kpi(props: { testid: string; label: string; value: number | null | undefined; money?: string; tone?: string }) {
  const v = props.value;
  const text = v === null || v === undefined ? "—" : props.money ? formatMoney(v, props.money) : v.toLocaleString();
  return (
    <div className={`kpi ${props.tone ?? ""}`}>
      <div className="kpi-label">{props.label}</div>
      <div className="kpi-value num" data-testid={props.testid} data-value={v ?? ""}>
        {text}
      </div>
    </div>
  );
}

export function Kpis(props: { data: Aggregates | null; error: CommandError | null; currency: string }) {
  const pl = props.data?.profit_loss;
  const tp = props.data?.today_pending;
  const da = props.data?.daily_approval;
  const cur = pl?.currency ?? props.currency;
  return (
    <section className="kpis" aria-label="Key figures">
      <div className="kpi-group">
        <div className="kpi-group-title">Profit &amp; loss{pl ? ` ${pl.from} – ${pl.to}` : ""}</div>
        <Kpi testid="kpi-revenue" label="Revenue" value={pl?.revenue_minor} money={cur} tone="rev" />
        <Kpi testid="kpi-expense" label="Expense" value={pl?.expense_minor} money={cur} tone="exp" />
        <Kpi testid="kpi-net" label="Net" value={pl?.net_minor} money={cur} tone={pl && pl.net_minor < 0 ? "neg" : "net"} />
      </div>
      <div className="kpi-group">
        <div className="kpi-group-title" title={tp ? `Pending transactions dated ${tp.date}` : undefined}>Pending today</div>
        <Kpi testid="kpi-today-pending-count" label="Count" value={tp?.count} />
        <Kpi testid="kpi-today-pending-amount" label="Amount" value={tp?.amount_minor} money={cur} />
      </div>
      <div className="kpi-group">
        <div className="kpi-group-title">Approvals {da ? da.date : "today"}</div>
        <Kpi testid="kpi-daily-pending" label="Pending" value={da?.pending} />
        <Kpi testid="kpi-daily-approved" label="Approved" value={da?.approved} />
        <Kpi testid="kpi-daily-rejected" label="Rejected" value={da?.rejected} />
      </div>
      {props.error && (
        <p className="kpi-error field-error" role="alert" data-testid="kpi-error">
          Figures could not be loaded: {props.error.message}
        </p>
      )}
      {props.data && <AsOf data={props.data} />}
    </section>
  );
}

/**
 * Which changes the totals include ("as of #N", the org's event seq), and —
 * while the rows beside them are ahead — that fresh totals are on their way.
 */
export function AsOf(props: { data: Aggregates }) {
  const { data } = props;
  return (
    <span
      className={`kpi-fetched${data.catching_up ? " catching-up" : ""}`}
      data-testid="as-of"
      data-seq={data.as_of_seq}
      data-catching-up={data.catching_up ? "true" : "false"}
      title={`Computed at ${new Date(data.fetched_at).toLocaleTimeString()}; every change up to #${data.as_of_seq} is counted`}
    >
      as of #{data.as_of_seq}
      {data.catching_up && <span className="catching-up-note"> · catching up with newer changes…</span>}
    </span>
  );
}

/** Height of one table row, px (the virtualizers' fixed size). */
export const ROW_HEIGHT = 26;

/** A slot of the table whose row is not read yet (`data-slot`: its index in the list). */
export function PlaceholderRow({ slot, top }: { slot: number; top: number }) {
  return (
    <div
      className="vrow placeholder muted"
      data-slot={slot}
      style={{ transform: `translateY(${top}px)`, height: ROW_HEIGHT }}
    >
      loading…
    </div>
  );
}
