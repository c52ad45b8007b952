import { useState, type FormEvent } from "react";
import * as ipc from "./ipc";
import type { CommandError, SessionView } from "./types";

export const DEFAULT_SERVER = "http://127.0.0.1:8787";

function plainWords(e: CommandError): string {
  switch (e.kind) {
    case "unauthorized":
      return "Wrong email or password.";
    case "network":
      return `Cannot reach the server: ${e.message}`;
    default:
      return e.message;
  }
}

export function SignIn(props: { initialError?: CommandError; onSignedIn: (s: SessionView) => void }) {
  const [server, setServer] = useState(DEFAULT_SERVER);
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<CommandError | null>(props.initialError ?? null);

  const fieldError = (f: string) => (error && error.field === f ? error.message : null);
  const local = (): CommandError | null => {
    try {
      const u = new URL(server.trim());
      if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error();
    } catch {
      return { kind: "invalid", field: "server_url", message: "Enter the server address, like http://127.0.0.1:8787" };
    }
    if (!email.trim()) return { kind: "invalid", field: "email", message: "Enter your email" };
    if (!password) return { kind: "invalid", field: "password", message: "Enter your password" };
    return null;
  };

  const submit = async (ev: FormEvent) => {
    ev.preventDefault();
    const bad = local();
    if (bad) return setError(bad);
    setBusy(true);
    setError(null);
    try {
      props.onSignedIn(await ipc.signIn(server.trim(), email.trim(), password));
    } catch (e) {
      setError(ipc.toCommandError(e));
      setBusy(false);
    }
  };

  return (
    <main className="signin">
      <form onSubmit={submit} noValidate aria-labelledby="signin-title">
        <h1 id="signin-title">Sign in to Ledgerline</h1>
        <label>
          Server
          <input data-testid="signin-server" value={server} onChange={(e) => setServer(e.target.value)} autoComplete="url" />
        </label>
        {fieldError("server_url") && <p className="field-error">{fieldError("server_url")}</p>}
        <label>
          Email
          <input data-testid="signin-email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} autoComplete="username" autoFocus />
        </label>
        {fieldError("email") && <p className="field-error">{fieldError("email")}</p>}
        <label>
          Password
          <input data-testid="signin-password" type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="current-password" />
        </label>
        {fieldError("password") && <p className="field-error">{fieldError("password")}</p>}
        <button data-testid="signin-submit" type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
        {error && !["server_url", "email", "password"].includes(error.field ?? "") && (
          <p className="form-error" role="alert" data-testid="signin-error">
            {plainWords(error)}
          </p>
        )}
      </form>
    </main>
  );
}
