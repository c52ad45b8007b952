// Money is integer minor units plus an ISO 4217 code — never a float.
// Parsing works on the typed string digit by digit (BigInt), so "0.1" is
// exactly 10 and nothing is ever rounded.

/** The largest amount one transaction may carry (wire `MAX_AMOUNT_MINOR`, 2^42). */
export const MAX_AMOUNT_MINOR = 2 ** 42;

const ZERO_DECIMALS = new Set([
  "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX",
  "VND", "VUV", "XAF", "XOF", "XPF",
]);
const THREE_DECIMALS = new Set(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"]);

/** How many decimals the minor unit of `currency` has (ISO 4217; default 2). */
export function minorDigits(currency: string): number {
  if (ZERO_DECIMALS.has(currency)) return 0;
  if (THREE_DECIMALS.has(currency)) return 3;
  return 2;
}

export type ParseResult = { ok: true; minor: number } | { ok: false; error: string };

// Digits, optionally grouped by commas in threes, then an optional fraction.
const AMOUNT_RE = /^(\d{1,3}(?:,\d{3})+|\d+)?(?:\.(\d*))?$/;

/**
 * Parse what a person typed ("12.34", "1,234.50", "0.1", "7") into minor
 * units. Amounts are strictly positive (the kind says which way money flows).
 */
export function parseAmount(input: string, currency = "USD"): ParseResult {
  const s = input.trim().replace(/[\s\u00a0]/g, "");
  if (s === "") return { ok: false, error: "Enter an amount" };
  if (s.startsWith("-") || s.startsWith("(")) {
    return { ok: false, error: "Amount must be positive; the table says if it is revenue or expense" };
  }
  const m = AMOUNT_RE.exec(s.startsWith("+") ? s.slice(1) : s);
  if (!m || (m[1] === undefined && (m[2] === undefined || m[2] === ""))) {
    return { ok: false, error: "Not an amount: use digits like 1234.56" };
  }
  const digits = minorDigits(currency);
  const whole = (m[1] ?? "0").replace(/,/g, "");
  const frac = m[2] ?? "";
  if (frac.length > digits) {
    return {
      ok: false,
      error:
        digits === 0
          ? `${currency} has no decimals`
          : `At most ${digits} decimal${digits === 1 ? "" : "s"} for ${currency}`,
    };
  }
  const minorBig = BigInt(whole) * 10n ** BigInt(digits) + BigInt((frac + "0".repeat(digits)).slice(0, digits) || "0");
  if (minorBig <= 0n) return { ok: false, error: "Amount must be more than zero" };
  if (minorBig > BigInt(MAX_AMOUNT_MINOR)) {
    return { ok: false, error: `Too large: at most ${formatMinor(MAX_AMOUNT_MINOR, currency)}` };
  }
  return { ok: true, minor: Number(minorBig) };
}

function split(minor: number, currency: string): { neg: boolean; whole: string; frac: string } {
  if (!Number.isSafeInteger(minor)) throw new RangeError(`not an integer amount: ${minor}`);
  const digits = minorDigits(currency);
  const neg = minor < 0;
  const abs = BigInt(Math.abs(minor));
  const scale = 10n ** BigInt(digits);
  const whole = (abs / scale).toString();
  const frac = digits === 0 ? "" : (abs % scale).toString().padStart(digits, "0");
  return { neg, whole, frac };
}

function group(whole: string): string {
  return whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** "1,234.50" (grouped, no currency); negative as "-1,234.50". */
export function formatMinor(minor: number, currency = "USD"): string {
  const { neg, whole, frac } = split(minor, currency);
  return (neg ? "-" : "") + group(whole) + (frac ? "." + frac : "");
}

/** "1234.50": plain decimal for CSV and for editing (round-trips through parseAmount). */
export function toDecimal(minor: number, currency = "USD"): string {
  const { neg, whole, frac } = split(minor, currency);
  return (neg ? "-" : "") + whole + (frac ? "." + frac : "");
}

const SYMBOLS: Record<string, string> = { USD: "$", EUR: "€", GBP: "£", JPY: "¥" };

/** "$1,234.50", "-€3.00", "CHF 12.00". */
export function formatMoney(minor: number, currency = "USD"): string {
  const body = formatMinor(Math.abs(minor), currency);
  const sign = minor < 0 ? "-" : "";
  const sym = SYMBOLS[currency];
  return sym ? `${sign}${sym}${body}` : `${sign}${currency} ${body}`;
}

/** `part` as a share of `total`, one decimal, rounded half up: "12.5%". Integer math. */
export function share(part: number, total: number): string {
  if (!(total > 0)) return "—";
  const tenths = Math.floor((part * 1000 + Math.floor(total / 2)) / total);
  return `${Math.floor(tenths / 10)}.${tenths % 10}%`;
}
