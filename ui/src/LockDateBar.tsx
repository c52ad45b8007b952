// The org's lock date under the session bar: everyone sees it; owners move
// or clear it (online only — the server holds it).

import { useState } from "react";
import * as ipc from "./ipc";
import { useOrgSettings } from "./settings";
import type { SessionView } from "./types";
import { isIsoDate } from "./filters";

export function LockDateBar(props: { session: SessionView }) {
  const settings = useOrgSettings();
  const owner = props.session.user.role === "owner";
  const [draft, setDraft] = useState("");
  const [error, setError] = useState<string | null>(null);
  if (!owner && !settings.lock_date) return null;
  const save = (date: string | null) => {
    if (date !== null && !isIsoDate(date)) {
      setError("A date as YYYY-MM-DD");
      return;
    }
    setError(null);
    ipc.setLockDate(date).then(
      () => setDraft(""),
      (e) => setError(ipc.toCommandError(e).message),
    );
  };
  return (
    <div className="lock-date-bar" data-testid="lock-date-bar" data-lock-date={settings.lock_date ?? ""}>
      <span data-testid="lock-date">
        {settings.lock_date ? `🔒 Books locked up to ${settings.lock_date}` : "Books not locked"}
      </span>
      {owner && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            save(draft.trim());
          }}
        >
          <input data-testid="lock-date-input" placeholder="YYYY-MM-DD" value={draft} onChange={(e) => setDraft(e.target.value)} />
          <button type="submit" data-testid="lock-date-set">
            Lock up to
          </button>
          {settings.lock_date && (
            <button type="button" data-testid="lock-date-clear" onClick={() => save(null)}>
              Unlock
            </button>
          )}
        </form>
      )}
      {error && (
        <span className="field-error" role="alert" data-testid="lock-date-error">
          {error}
        </span>
      )}
    </div>
  );
}
