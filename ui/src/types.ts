// The desktop IPC contract (docs/desktop-api.md) and the wire types it embeds
// (shared/spec/api.md, wire/src/*.rs), as TypeScript. Field names are the
// JSON names (snake_case); command *argument* names are camelCase (Tauri maps
// them), see ipc.ts.

export type Kind = "revenue" | "expense";
export type TxStatus = "pending" | "approved" | "rejected";
export type Role = "owner" | "manager" | "accountant" | "staff";

/** `YYYY-MM-DD` */
export type IsoDate = string;
/** RFC 3339 UTC timestamp */
export type Timestamp = string;

export interface Transaction {
  id: string;
  kind: Kind;
  property_id: string;
  amount_minor: number;
  currency: string;
  category: string;
  memo: string;
  occurred_on: IsoDate;
  status: TxStatus;
  version: number;
  client_mutation_id: string | null;
  created_by: string;
  created_at: Timestamp;
  updated_at: Timestamp;
  /** Why an approver rejected it, if they said. */
  rejection_reason?: string | null;
}

/** A cached transaction as the UI shows it. */
export interface Row extends Transaction {
  /** An optimistic write not yet confirmed by the server. */
  pending_sync: boolean;
  /** Plain words when the server refused the write. */
  sync_error: string | null;
}

export type Patch = { op: "upsert"; row: Row } | { op: "remove"; id: string };

export interface PatchBatch {
  /** The event seq the cache is at after applying the batch. */
  seq: number;
  /**
   * The seq of the message before this one on the window's stream (the
   * subscribe answer's seq for the first). Not the last one this window
   * heard: a message was lost, so the window re-reads its tables.
   */
  prev_seq?: number;
  patches: Patch[];
}

/** Where a row sits in list order (occurred_on desc, id desc): a keyset cursor. */
export interface RowKey {
  occurred_on: IsoDate;
  id: string;
}

export interface RowQuery {
  property_id?: string;
  kind?: Kind;
  status?: TxStatus;
  from?: IsoDate;
  to?: IsoDate;
  limit?: number;
  offset?: number;
  /** The rows after this key, in list order (a keyset page: not counted). */
  after?: RowKey;
}

export interface RowPage {
  rows: Row[];
  /** The matching count: on the first page only (null on a keyset page). */
  total: number | null;
  seq: number;
  /** Ask `after` this for the next page; null when this page was the last. */
  next: RowKey | null;
}

export interface ExportProgress {
  written: number;
  total: number;
  finished: boolean;
}

export interface Exported {
  path: string;
  rows: number;
}

export interface UserInfo {
  id: string;
  name: string;
  email: string;
  role: Role;
}

export interface PropertyInfo {
  id: string;
  name: string;
}

export interface SessionView {
  /** Which session (server + user); every window belongs to one. */
  id: string;
  server_url: string;
  user: UserInfo;
  org: { id: string; name: string };
  properties: PropertyInfo[];
}

export type StatusState = "live" | "reconnecting" | "offline" | "cache_error";

export interface Status {
  state: StatusState;
  since: Timestamp;
}

export interface ReportRange {
  property_id?: string;
  from: IsoDate;
  to: IsoDate;
}

export interface DayTotals {
  date: IsoDate;
  revenue_minor: number;
  expense_minor: number;
}

export interface CategoryTotals {
  kind: Kind;
  category: string;
  amount_minor: number;
}

export interface ProfitLoss {
  from: IsoDate;
  to: IsoDate;
  revenue_minor: number;
  expense_minor: number;
  net_minor: number;
  currency: string;
  /** One entry per day with at least one counted transaction, ascending. */
  by_day: DayTotals[];
  /** One entry per (kind, category), ordered by kind then category. */
  by_category: CategoryTotals[];
  /** The org seq these totals reflect. */
  as_of_seq: number;
}

export interface DailyApproval {
  date: IsoDate;
  pending: number;
  approved: number;
  rejected: number;
  pending_amount_minor: number;
  as_of_seq: number;
}

export interface TodayPending {
  date: IsoDate;
  count: number;
  amount_minor: number;
  as_of_seq: number;
}

export interface Aggregates {
  range: ReportRange;
  profit_loss: ProfitLoss | null;
  daily_approval: DailyApproval | null;
  today_pending: TodayPending | null;
  fetched_at: Timestamp;
  /** The oldest org seq the figures reflect ("as of #N"). */
  as_of_seq: number;
  /** The rows beside these totals are ahead of them; fresh totals are on their way. */
  catching_up: boolean;
}

/** The org's settings (`org_settings`, the `settings` event). */
export interface OrgSettings {
  /** Rows dated on or before it are locked: no edit, delete, approve or reject. */
  lock_date: IsoDate | null;
  /** The words a write into the locked period is refused with. */
  lock_message: string | null;
}

export interface HistoryItem {
  at: Timestamp;
  by: { id: string; name: string };
  action: "created" | "updated" | "deleted" | "approved" | "rejected";
  /** field → [from, to] */
  changes: Record<string, [unknown, unknown]>;
}

/** `row_history`: fetched now, or offline the copy last fetched. */
export interface RowHistory {
  items: HistoryItem[];
  fetched_at: Timestamp;
  offline: boolean;
}

export interface Counters {
  leader_acquired: number;
  leader_lost: number;
  follower_suppressed_polls: number;
  derived_debounce_fired: number;
  polls: number;
  events_applied: number;
  aggregate_fetches: number;
  outbox_depth: number;
  events_skipped: number;
  cache_write_failures: number;
  lag_behind_head: number;
}

export interface Flags {
  FIN_LEADER_ENABLED: boolean;
  FIN_DERIVED_DEBOUNCE_MS: number;
}

export type FlagName = keyof Flags;

export interface Diagnostics {
  status: Status;
  seq: number;
  counters: Counters;
  flags: Flags;
}

export type CommandErrorKind =
  | "network"
  | "unauthorized"
  | "not_found"
  | "conflict"
  | "invalid"
  | "throttled"
  | "unsent"
  | "period_locked"
  | "internal";

export interface CommandError {
  kind: CommandErrorKind;
  message: string;
  field?: string;
}

export interface SyncProgress {
  done: number;
  total: number | null;
  finished: boolean;
  /**
   * A first sync written into the cache page by page, in list order: a
   * table read up to `frontier` reads on after it, and is not re-read when
   * the sync finishes (false: a re-snapshot; tables re-read on `finished`).
   */
  streamed?: boolean;
  /** The last key the streamed sync has written (every earlier row is in). */
  frontier?: RowKey | null;
  /** The snapshot stopped after `done` rows, and why (retried on the backoff, or now with `retry_sync`). */
  error?: string;
}

/** `create_transaction` input (wire `NewTransaction`). */
export interface NewTransaction {
  kind: Kind;
  property_id: string;
  amount_minor: number;
  currency: string;
  category: string;
  memo: string;
  occurred_on: IsoDate;
  client_mutation_id?: string | null;
}

/** `update_transaction` patch (wire `TransactionPatch`): a subset + `version`. */
export interface TransactionPatch {
  version: number;
  kind?: Kind;
  property_id?: string;
  amount_minor?: number;
  currency?: string;
  category?: string;
  memo?: string;
  occurred_on?: IsoDate;
}

export type WindowTarget = `property:${string}` | `history:${string}` | "report:profit-loss" | "approvals" | "main";

export interface Subscription {
  subscription: number;
  seq: number;
}

/** A write not yet on the server: the "Needs attention" list (`needs_attention`). */
export interface Attention {
  client_mutation_id: string;
  op: "create" | "update" | "delete" | "approve" | "reject";
  state: "queued" | "refused" | "conflict";
  row_id: string;
  row: Row | null;
  /** The server's reason (refused, conflict); null while unsent. */
  reason: string | null;
  /** The create body or the patch. */
  body: Record<string, unknown> | null;
}

/** The `attention` event: how many writes need attention. */
export interface AttentionSummary {
  unsent: number;
  refused: number;
  conflict: number;
}

/** A fix to a held write before it is resent (`retry_write`). */
export interface WriteFix {
  kind?: Kind;
  property_id?: string;
  amount_minor?: number;
  currency?: string;
  category?: string;
  memo?: string;
  occurred_on?: IsoDate;
}
