import { describe, expect, it } from "vitest";
import { formatMinor, formatMoney, MAX_AMOUNT_MINOR, minorDigits, parseAmount, share, toDecimal } from "./money";

const ok = (s: string, cur?: string) => {
  const r = parseAmount(s, cur);
  if (!r.ok) throw new Error(`${s}: ${r.error}`);
  return r.minor;
};
const err = (s: string, cur?: string) => {
  const r = parseAmount(s, cur);
  if (r.ok) throw new Error(`${s} should be refused, got ${r.minor}`);
  return r.error;
};

describe("parseAmount", () => {
  it("parses decimals exactly, without floats", () => {
    expect(ok("12.34")).toBe(1234);
    expect(ok("0.1")).toBe(10);
    expect(ok("0.01")).toBe(1);
    expect(ok("1,234.50")).toBe(123450);
    expect(ok("7")).toBe(700);
    expect(ok("7.")).toBe(700);
    expect(ok(".5")).toBe(50);
    expect(ok("  19.99 ")).toBe(1999);
    expect(ok("1,000,000")).toBe(100000000);
    expect(ok("0.29")).toBe(29); // 0.29 * 100 = 28.999999999999996 as a float
    expect(ok("1.005", "KWD")).toBe(1005);
    expect(ok("500", "JPY")).toBe(500);
  });

  it("rejects too many decimals", () => {
    expect(err("12.345")).toMatch(/2 decimals/);
    expect(err("5.5", "JPY")).toMatch(/no decimals/);
  });

  it("rejects negative, zero and empty", () => {
    expect(err("-5")).toMatch(/positive/);
    expect(err("-0.01")).toMatch(/positive/);
    expect(err("0")).toMatch(/more than zero/);
    expect(err("0.00")).toMatch(/more than zero/);
    expect(err("")).toMatch(/Enter an amount/);
    expect(err("   ")).toMatch(/Enter an amount/);
  });

  it("rejects garbage and bad grouping", () => {
    for (const s of ["abc", "1.2.3", "12,34", "1,2345.00", "1e5", "$12", ".", ",", "12..3", "0x10", "Infinity", "NaN"]) {
      err(s);
    }
  });

  it("rejects amounts above the maximum and accepts the maximum", () => {
    expect(ok("43980465111.04")).toBe(MAX_AMOUNT_MINOR);
    expect(err("43980465111.05")).toMatch(/Too large/);
    expect(err("99999999999999999999999999")).toMatch(/Too large/);
  });
});

describe("formatting", () => {
  it("formats minor units with grouping and fixed decimals", () => {
    expect(formatMinor(123450)).toBe("1,234.50");
    expect(formatMinor(5)).toBe("0.05");
    expect(formatMinor(0)).toBe("0.00");
    expect(formatMinor(-123456789)).toBe("-1,234,567.89");
    expect(formatMinor(1005, "KWD")).toBe("1.005");
    expect(formatMinor(1500, "JPY")).toBe("1,500");
  });

  it("formats money with the currency", () => {
    expect(formatMoney(123450, "USD")).toBe("$1,234.50");
    expect(formatMoney(-300, "EUR")).toBe("-€3.00");
    expect(formatMoney(1200, "CHF")).toBe("CHF 12.00");
  });

  it("plain decimals round-trip through parseAmount", () => {
    for (const n of [1, 10, 99, 100, 123456, MAX_AMOUNT_MINOR]) {
      expect(ok(toDecimal(n))).toBe(n);
    }
    expect(toDecimal(-1234)).toBe("-12.34");
    expect(toDecimal(7, "JPY")).toBe("7");
  });

  it("refuses non-integers instead of printing nonsense", () => {
    expect(() => formatMinor(1.5)).toThrow(RangeError);
  });

  it("knows minor digits", () => {
    expect(minorDigits("USD")).toBe(2);
    expect(minorDigits("JPY")).toBe(0);
    expect(minorDigits("BHD")).toBe(3);
  });
});

describe("share", () => {
  it("gives one decimal, rounded half up, without floats drifting", () => {
    expect(share(1, 8)).toBe("12.5%");
    expect(share(1, 3)).toBe("33.3%");
    expect(share(2, 3)).toBe("66.7%");
    expect(share(5, 5)).toBe("100.0%");
    expect(share(0, 5)).toBe("0.0%");
    expect(share(1, 0)).toBe("—");
  });
});
