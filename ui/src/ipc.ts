// The one module that talks to the Tauri shell (docs/desktop-api.md). Every
// other module imports these typed functions; nothing else calls invoke,
// listen, Channel or the dialog plugin. Commands reject with a CommandError.

import { Channel, invoke, isTauri } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import { getCurrentWindow } from "@tauri-apps/api/window";
import { save } from "@tauri-apps/plugin-dialog";
import type {
  Aggregates, Attention, AttentionSummary, CommandError, Diagnostics, ExportProgress, Exported, FlagName, Flags, IsoDate, NewTransaction,
  OrgSettings, PatchBatch, ReportRange, Row, RowHistory, RowPage, RowQuery, SessionView, Status, Subscription, SyncProgress, TransactionPatch,
  WindowTarget, WriteFix,
} from "./types";

export { isTauri };
export type { UnlistenFn };

const KINDS = new Set(["network", "unauthorized", "not_found", "conflict", "invalid", "throttled", "unsent", "period_locked", "internal"]);

/** Whatever a command rejected with, as a CommandError with plain words. */
export function toCommandError(e: unknown): CommandError {
  if (e && typeof e === "object" && "message" in e) {
    const o = e as { kind?: unknown; message?: unknown; field?: unknown };
    const kind = typeof o.kind === "string" && KINDS.has(o.kind) ? (o.kind as CommandError["kind"]) : "internal";
    const err: CommandError = { kind, message: String(o.message) };
    if (typeof o.field === "string") err.field = o.field;
    return err;
  }
  if (typeof e === "string") return { kind: "internal", message: e };
  return { kind: "internal", message: "Something went wrong talking to the app" };
}

let unauthorized: (() => void) | null = null;

/** Called when a command other than sign_in fails with `unauthorized` (session gone). */
export function onUnauthorized(cb: (() => void) | null) {
  unauthorized = cb;
}

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    const err = toCommandError(e);
    if (err.kind === "unauthorized" && cmd !== "sign_in" && cmd !== "session") unauthorized?.();
    throw err;
  }
}

// --- session -------------------------------------------------------------

export const getSession = () => call<SessionView | null>("session");
export const signIn = (serverUrl: string, email: string, password: string) =>
  call<SessionView>("sign_in", { serverUrl, email, password });
/** Every signed-in session (organizations side by side). */
export const sessions = () => call<SessionView[]>("sessions");
/** Makes this window show session `id`. */
export const switchSession = (id: string) => call<SessionView>("switch_session", { id });
/** Rejects with kind `unsent` while writes are not on the server, unless `force`. */
export const signOut = (force = false) => call<null>("sign_out", { force });

// --- rows ----------------------------------------------------------------

/** Open this window's patch stream. Call once per window (see live.ts). */
export async function subscribe(onBatch: (b: PatchBatch) => void): Promise<Subscription> {
  const channel = new Channel<PatchBatch>(onBatch);
  return call<Subscription>("subscribe", { onBatch: channel });
}
export const unsubscribe = (subscription: number) => call<null>("unsubscribe", { subscription });
export const listRows = (query: RowQuery) => call<RowPage>("list_rows", { query });

export const createTransaction = (input: NewTransaction) => call<Row>("create_transaction", { input });
export const updateTransaction = (id: string, patch: TransactionPatch) =>
  call<Row>("update_transaction", { id, patch });
export const deleteTransaction = (id: string) => call<null>("delete_transaction", { id });
export const approveTransaction = (id: string) => call<Row>("approve_transaction", { id });
/** A rejection may say why (shown beside the row). */
export const rejectTransaction = (id: string, reason?: string) =>
  call<Row>("reject_transaction", { id, reason: reason?.trim() ? reason.trim() : null });

// --- finance integrity -------------------------------------------------------

export const orgSettings = () => call<OrgSettings>("org_settings");
/** Owners only; online only. `null` clears the lock date. */
export const setLockDate = (lockDate: IsoDate | null) => call<OrgSettings>("set_lock_date", { lockDate });
export const rowHistory = (id: string) => call<RowHistory>("row_history", { id });

export const needsAttention = () => call<Attention[]>("needs_attention");
export const retryWrite = (clientMutationId: string, fix?: WriteFix) =>
  call<Row>("retry_write", { clientMutationId, fix: fix ?? null });
export const discardWrite = (clientMutationId: string) => call<null>("discard_write", { clientMutationId });

// --- aggregates ------------------------------------------------------------

export const watchReport = (range: ReportRange) => call<Aggregates>("watch_report", { range });
export const unwatchReport = (range: ReportRange) => call<null>("unwatch_report", { range });

// --- app -------------------------------------------------------------------

export const windowFocused = () => call<null>("window_focused");
/** A failed sync (or an offline probe) is tried again now. */
export const retrySync = () => call<null>("retry_sync");
export const diagnostics = () => call<Diagnostics>("diagnostics");
export const setFlag = <N extends FlagName>(name: N, value: Flags[N]) => call<Diagnostics>("set_flag", { name, value });
export const openWindow = (target: WindowTarget, session?: string) =>
  call<null>("open_window", { target, session: session ?? null });
/** Writes a CSV the UI built to `path` (the save dialog's answer). */
export const saveCsv = (filename: string, contents: string, path?: string) =>
  call<string>("save_csv", { filename, contents, path: path ?? null });

/**
 * The native save dialog for `filename`, opened on the user's Downloads
 * folder (home when there is none); null when the user cancels.
 */
export async function askSavePath(filename: string): Promise<string | null> {
  const defaultPath = await call<string>("export_location", { filename });
  return save({ defaultPath, filters: [{ name: "CSV", extensions: ["csv"] }] });
}

/** Every row of `query` into `path`, written by the app from its cache, with progress. */
export async function exportCsv(
  query: RowQuery,
  path: string,
  onProgress: (p: ExportProgress) => void,
): Promise<Exported> {
  const channel = new Channel<ExportProgress>(onProgress);
  return call<Exported>("export_csv", { query, path, onProgress: channel });
}

// --- events ----------------------------------------------------------------

function on<T>(event: string, cb: (payload: T) => void): Promise<UnlistenFn> {
  return listen<T>(event, (e) => cb(e.payload));
}

export const onStatus = (cb: (s: Status) => void) => on<Status>("status", cb);
export const onAggregates = (cb: (a: Aggregates) => void) => on<Aggregates>("aggregates", cb);
export const onSyncProgress = (cb: (p: SyncProgress) => void) => on<SyncProgress>("sync_progress", cb);
export const onSession = (cb: (s: SessionView | null) => void) => on<SessionView | null>("session", cb);
/** What could not be done at start (a session held by another process, …). */
export const notices = () => call<string[]>("notices");
export const onNotice = (cb: (message: string) => void) => on<string>("notice", cb);
export const onAttention = (cb: (a: AttentionSummary) => void) => on<AttentionSummary>("attention", cb);
export const onSettings = (cb: (s: OrgSettings) => void) => on<OrgSettings>("settings", cb);

/** The native window gained (true) or lost (false) focus. */
export function onWindowFocus(cb: (focused: boolean) => void): Promise<UnlistenFn> {
  return getCurrentWindow().onFocusChanged((e) => cb(e.payload));
}

/**
 * Subscribe to an event from a React effect: returns a cleanup that also
 * handles the listener arriving after the effect was already cleaned up.
 */
export function effectListener(p: Promise<UnlistenFn>): () => void {
  let off: UnlistenFn | null = null;
  let done = false;
  p.then(
    (fn) => {
      if (done) fn();
      else off = fn;
    },
    (e) => console.warn("listen failed", e),
  );
  return () => {
    done = true;
    off?.();
  };
}
