import { useEffect, useRef, useState } from "react";
import { ApprovalsView } from "./ApprovalsView";
import { SignOutContext } from "./components";
import { FinancePage } from "./FinancePage";
import { HistoryView } from "./HistoryView";
import { LockDateBar } from "./LockDateBar";
import { parseView } from "./filters";
import * as ipc from "./ipc";
import * as live from "./live";
import { NeedsAttention } from "./NeedsAttention";
import { SessionBar } from "./SessionBar";
import { ReportView } from "./ReportView";
import { SignIn } from "./SignIn";
import type { CommandError, SessionView } from "./types";

type SessionState = { phase: "loading" } | { phase: "out"; error?: CommandError } | { phase: "in"; session: SessionView };

/** Who is signed in: pages and row stores belong to one login. */
const identity = (s: SessionView) => `${s.server_url}|${s.org.id}|${s.user.id}`;

export function App() {
  const [state, setState] = useState<SessionState>({ phase: "loading" });
  const identityRef = useRef<string | null>(null);
  // Sign-out refused while writes are unsent: the core's words, and a choice.
  const [unsent, setUnsent] = useState<string | null>(null);
  // A message from the core to read once (a cache rebuilt, …).
  const [notice, setNotice] = useState<string | null>(null);
  // Signing in to one more organization from this window.
  const [adding, setAdding] = useState(false);
  useEffect(() => {
    // Said before this window opened (e.g. a session another process holds).
    ipc.notices().then((n) => n.length > 0 && setNotice(n.join(" ")), () => {});
    return ipc.effectListener(ipc.onNotice(setNotice));
  }, []);
  const noticeBanner = notice && (
    <div className="banner notice" role="status" data-testid="notice">
      <span>{notice}</span>{" "}
      <button type="button" onClick={() => setNotice(null)}>
        Dismiss
      </button>
    </div>
  );
  const view = parseView(window.location.search);

  useEffect(() => {
    let cancelled = false;
    const apply = (s: SessionView | null) => {
      if (cancelled) return;
      // Another login (or none): this window's patch stream and row snapshots
      // belong to the old one, so close the stream; pages remount by identity.
      const id = s ? identity(s) : null;
      if (id !== identityRef.current) {
        if (identityRef.current !== null) void live.close();
        identityRef.current = id;
      }
      setState(s ? { phase: "in", session: s } : { phase: "out" });
    };
    const stop = ipc.effectListener(ipc.onSession(apply));
    // A command refused for lack of a session: ask the core whether we still have one.
    ipc.onUnauthorized(() => {
      ipc.getSession().then(apply, () => {});
    });
    ipc.getSession().then(apply, (e) => !cancelled && setState({ phase: "out", error: ipc.toCommandError(e) }));
    return () => {
      cancelled = true;
      ipc.onUnauthorized(null);
      stop();
    };
  }, []);

  // Refetch-on-focus: the core decides what is stale.
  useEffect(
    () =>
      ipc.effectListener(
        ipc.onWindowFocus((focused) => {
          if (focused) ipc.windowFocused().catch(() => {});
        }),
      ),
    [],
  );

  const switchTo = (s: SessionView) => {
    setAdding(false);
    if (identityRef.current !== null && identityRef.current !== identity(s)) void live.close();
    identityRef.current = identity(s);
    setState({ phase: "in", session: s });
  };
  if (state.phase === "loading") return <div className="boot">Loading…</div>;
  if (adding) {
    return (
      <div className="adding">
        <button type="button" data-testid="cancel-add" onClick={() => setAdding(false)}>
          Back
        </button>
        <SignIn onSignedIn={switchTo} />
      </div>
    );
  }
  if (state.phase === "out") {
    return (
      <>
        {noticeBanner}
        <SignIn
          initialError={state.error}
          onSignedIn={(s) => {
            if (identityRef.current !== null && identityRef.current !== identity(s)) void live.close();
            identityRef.current = identity(s);
            setState({ phase: "in", session: s });
          }}
        />
      </>
    );
  }
  const s = state.session;
  const signOut = (force = false) => {
    // The shell also sends `session: null` to every window; don't wait for it here.
    ipc.signOut(force).then(
      () => {
        setUnsent(null);
        identityRef.current = null;
        void live.close();
        setState({ phase: "out" });
      },
      (e) => {
        const err = ipc.toCommandError(e);
        if (err.kind === "unsent") setUnsent(err.message);
        else setState({ phase: "out", error: err });
      },
    );
  };
  return (
    <SignOutContext.Provider value={() => signOut(false)}>
      <div className="session-root" key={identity(s)}>
        {unsent && (
          <div className="banner unsent-warning" role="alertdialog" data-testid="unsent-warning">
            <span>{unsent}.</span>{" "}
            <button type="button" data-testid="sign-out-anyway" onClick={() => signOut(true)}>
              Sign out anyway
            </button>{" "}
            <button type="button" data-testid="stay-signed-in" onClick={() => setUnsent(null)}>
              Stay signed in
            </button>
          </div>
        )}
        {noticeBanner}
        <SessionBar session={s} onSwitch={switchTo} onAdd={() => setAdding(true)} />
        <LockDateBar session={s} />
        <NeedsAttention session={s} />
        {page(s)}
      </div>
    </SignOutContext.Provider>
  );

  function page(s: SessionView) {
    switch (view.name) {
      case "property":
        return <FinancePage key={`p-${view.id}`} session={s} lockedPropertyId={view.id} />;
      case "report":
        return <ReportView session={s} />;
      case "approvals":
        return <ApprovalsView session={s} />;
      case "history":
        return <HistoryView session={s} id={view.id} />;
      default:
        return <FinancePage key="main" session={s} />;
    }
  }
}
