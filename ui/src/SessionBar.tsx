// The organizations signed in side by side: which one this window shows,
// a switch to another, and signing in to one more. Each window belongs to
// one session; switching re-binds this window only.

import { useCallback, useEffect, useState } from "react";
import * as ipc from "./ipc";
import type { SessionView } from "./types";

export function SessionBar(props: { session: SessionView; onSwitch: (s: SessionView) => void; onAdd: () => void }) {
  const [all, setAll] = useState<SessionView[]>([props.session]);
  const reload = useCallback(() => {
    ipc.sessions().then(setAll, () => {});
  }, []);
  useEffect(reload, [reload, props.session.id]);
  return (
    <div className="session-bar" data-testid="session-bar">
      <label>
        Organization{" "}
        <select
          data-testid="session-switch"
          value={props.session.id}
          onFocus={reload}
          onChange={(e) => ipc.switchSession(e.target.value).then(props.onSwitch, () => reload())}
        >
          {all.map((s) => (
            <option key={s.id} value={s.id}>
              {s.org.name} — {s.user.email}
            </option>
          ))}
        </select>
      </label>{" "}
      <button type="button" data-testid="add-organization" onClick={props.onAdd}>
        Sign in to another organization…
      </button>{" "}
      <button type="button" data-testid="open-session-window" onClick={() => void ipc.openWindow("main", props.session.id)}>
        New window for {props.session.org.name}
      </button>
    </div>
  );
}
