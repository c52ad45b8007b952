// The diagnostics panel: status, seq, every counter, and the two flags.

import { useEffect, useMemo, useState } from "react";
import { debounce, parseDebounceMs } from "./filters";
import { useDiagnostics } from "./hooks";
import * as ipc from "./ipc";
import { seenSeq } from "./live";
import type { CommandError, Counters } from "./types";

const COUNTER_HELP: Record<keyof Counters, string> = {
  leader_acquired: "Times this session's long-poll leadership was taken",
  leader_lost: "Times leadership was lost (watchdog takeover)",
  follower_suppressed_polls: "Polls windows did not make because one leader polls for all",
  derived_debounce_fired: "Debounced aggregate refreshes run",
  polls: "Long-polls made",
  events_applied: "Server events applied to the local cache",
  aggregate_fetches: "Report fetches",
  outbox_depth: "Local writes waiting to be sent",
  events_skipped: "Server events of a kind this app cannot read, skipped",
  cache_write_failures: "Server answers the local cache failed to store",
  lag_behind_head: "Events the cache is behind the server",
};

export function DiagnosticsPanel(props: { open: boolean; onClose: () => void }) {
  const { data, error, set } = useDiagnostics(props.open);
  const [flagError, setFlagError] = useState<CommandError | null>(null);
  const [draft, setDraft] = useState<string | null>(null); // debounce input while edited
  const [draftError, setDraftError] = useState<string | null>(null);

  const sendDebounce = useMemo(
    () =>
      debounce((value: number) => {
        ipc.setFlag("FIN_DERIVED_DEBOUNCE_MS", value).then(
          (d) => {
            set(d);
            setFlagError(null);
          },
          (e) => setFlagError(ipc.toCommandError(e)),
        );
      }, 500),
    [set],
  );
  useEffect(() => () => sendDebounce.flush(), [sendDebounce]);

  if (!props.open) return null;

  const onDebounceInput = (s: string) => {
    setDraft(s);
    const r = parseDebounceMs(s);
    if (!r.ok) {
      setDraftError(r.error);
      sendDebounce.cancel();
      return;
    }
    setDraftError(null);
    sendDebounce(r.value);
  };

  const toggleLeader = (value: boolean) => {
    ipc.setFlag("FIN_LEADER_ENABLED", value).then(
      (d) => {
        set(d);
        setFlagError(null);
      },
      (e) => setFlagError(ipc.toCommandError(e)),
    );
  };

  return (
    <aside className="diagnostics" data-testid="diagnostics-panel" aria-label="Diagnostics">
      <div className="diag-head">
        <h2>Diagnostics</h2>
        <button type="button" className="link" onClick={props.onClose} aria-label="Close diagnostics">
          ×
        </button>
      </div>
      {error && <p className="field-error">Could not read diagnostics: {error.message}</p>}
      {!data && !error && <p className="muted">Loading…</p>}
      {data && (
        <>
          <table className="kv">
            <tbody>
              <tr>
                <th>status</th>
                <td data-testid="diag-status" data-value={data.status.state}>
                  {data.status.state} since {new Date(data.status.since).toLocaleTimeString()}
                </td>
              </tr>
              <tr>
                <th>seq</th>
                <td className="num" data-testid="diag-seq" data-value={data.seq}>
                  {data.seq.toLocaleString()}
                </td>
              </tr>
              <tr>
                <th title="Highest seq this window has received">window seq</th>
                <td className="num">{seenSeq().toLocaleString()}</td>
              </tr>
              {(Object.keys(data.counters) as (keyof Counters)[]).map((k) => (
                <tr key={k}>
                  <th title={COUNTER_HELP[k] ?? k}>{k}</th>
                  <td className="num" data-testid={`diag-${k}`} data-value={data.counters[k]}>
                    {Number(data.counters[k]).toLocaleString()}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <h3>Flags</h3>
          <label className="flag">
            <input
              type="checkbox"
              data-testid="flag-leader"
              checked={data.flags.FIN_LEADER_ENABLED}
              onChange={(e) => toggleLeader(e.target.checked)}
            />
            FIN_LEADER_ENABLED <span className="muted">(one long-poll per login)</span>
          </label>
          <label className="flag">
            FIN_DERIVED_DEBOUNCE_MS
            <input
              type="number"
              min={0}
              max={600000}
              step={100}
              className="num"
              data-testid="flag-debounce"
              value={draft ?? String(data.flags.FIN_DERIVED_DEBOUNCE_MS)}
              onChange={(e) => onDebounceInput(e.target.value)}
              onBlur={() => {
                sendDebounce.flush();
                if (!draftError) setDraft(null);
              }}
              onKeyDown={(e) => {
                if (e.key === "Enter") sendDebounce.flush();
              }}
              aria-invalid={!!draftError}
            />
          </label>
          {draftError && <p className="field-error">{draftError}</p>}
          {flagError && (
            <p className="field-error" role="alert" data-testid="flag-error">
              Flag not changed: {flagError.message}
            </p>
          )}
        </>
      )}
    </aside>
  );
}
