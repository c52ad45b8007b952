import { describe, expect, it, vi } from "vitest";
import { chartGeometry, fillDays, niceMax } from "./chart";
import {
  currentMonth, debounce, eachDay, isIsoDate, parseDebounceMs, parseView, queryKey, rangeError, reportRange, rowQuery, sameRange,
} from "./filters";

describe("dates and ranges", () => {
  it("defaults to the current month", () => {
    expect(currentMonth(new Date(2026, 10, 27, 15))).toEqual({ from: "2026-11-01", to: "2026-11-30" });
    expect(currentMonth(new Date(2028, 1, 10))).toEqual({ from: "2028-02-01", to: "2028-02-29" });
    expect(currentMonth(new Date(2026, 11, 31, 23, 59))).toEqual({ from: "2026-12-01", to: "2026-12-31" });
  });
  it("validates dates and ranges in plain words", () => {
    expect(isIsoDate("2026-02-29")).toBe(false);
    expect(isIsoDate("2028-02-29")).toBe(true);
    expect(isIsoDate("2026-1-01")).toBe(false);
    expect(rangeError("2026-11-01", "2026-11-30")).toBeNull();
    expect(rangeError("2026-11-01", "2026-11-01")).toBeNull();
    expect(rangeError("2026-11-02", "2026-11-01")).toEqual({ field: "to", message: "End date is before the start date" });
    expect(rangeError("", "2026-11-01")?.field).toBe("from");
  });
  it("lists days inclusively, capped", () => {
    expect(eachDay("2026-02-27", "2026-03-02")).toEqual(["2026-02-27", "2026-02-28", "2026-03-01", "2026-03-02"]);
    expect(eachDay("2026-01-01", "2026-12-31", 100)).toBeNull();
    expect(eachDay("2026-03-02", "2026-03-01")).toEqual([]);
  });
});

describe("filters → queries", () => {
  const all = { from: "2026-11-01", to: "2026-11-30" };
  const one = { ...all, propertyId: "p2" };
  it("builds report ranges and row queries, omitting property for all", () => {
    expect(reportRange(all)).toEqual({ from: "2026-11-01", to: "2026-11-30" });
    expect("property_id" in reportRange(all)).toBe(false);
    expect(reportRange(one)).toEqual({ property_id: "p2", from: "2026-11-01", to: "2026-11-30" });
    expect(rowQuery("expense", one)).toEqual({ kind: "expense", property_id: "p2", from: "2026-11-01", to: "2026-11-30" });
    expect("property_id" in rowQuery("revenue", all)).toBe(false);
  });
  it("matches aggregates events to the watched range", () => {
    expect(sameRange(reportRange(all), { from: "2026-11-01", to: "2026-11-30" })).toBe(true);
    expect(sameRange(reportRange(all), { from: "2026-11-01", to: "2026-11-30", property_id: null as unknown as string })).toBe(true);
    expect(sameRange(reportRange(all), reportRange(one))).toBe(false);
    expect(sameRange(reportRange(one), { ...reportRange(one), to: "2026-11-29" })).toBe(false);
  });
  it("keys queries by content", () => {
    expect(queryKey(rowQuery("revenue", all))).toBe(queryKey({ to: "2026-11-30", from: "2026-11-01", kind: "revenue" }));
    expect(queryKey(rowQuery("revenue", all))).not.toBe(queryKey(rowQuery("revenue", one)));
  });
  it("reads the view from the URL", () => {
    expect(parseView("")).toEqual({ name: "finance" });
    expect(parseView("?view=property&id=p3")).toEqual({ name: "property", id: "p3" });
    expect(parseView("?view=property")).toEqual({ name: "finance" });
    expect(parseView("?view=report")).toEqual({ name: "report" });
    expect(parseView("?view=approvals")).toEqual({ name: "approvals" });
  });
});

describe("debounce", () => {
  it("runs once after the last call with the last arguments", () => {
    vi.useFakeTimers();
    const fn = vi.fn();
    const d = debounce(fn, 300);
    d(1);
    vi.advanceTimersByTime(200);
    d(2);
    vi.advanceTimersByTime(299);
    expect(fn).not.toHaveBeenCalled();
    expect(d.pending()).toBe(true);
    vi.advanceTimersByTime(1);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(fn).toHaveBeenCalledWith(2);
    expect(d.pending()).toBe(false);
    vi.useRealTimers();
  });
  it("flushes and cancels", () => {
    vi.useFakeTimers();
    const fn = vi.fn();
    const d = debounce(fn, 300);
    d("a");
    d.flush();
    expect(fn).toHaveBeenCalledWith("a");
    d("b");
    d.cancel();
    vi.advanceTimersByTime(1000);
    expect(fn).toHaveBeenCalledTimes(1);
    d.flush(); // nothing pending: no call
    expect(fn).toHaveBeenCalledTimes(1);
    vi.useRealTimers();
  });
});

describe("chart geometry", () => {
  it("gives every day of a short range a slot", () => {
    const days = fillDays([{ date: "2026-11-02", revenue_minor: 500, expense_minor: 100 }], "2026-11-01", "2026-11-03");
    expect(days.map((d) => [d.date, d.revenue_minor])).toEqual([["2026-11-01", 0], ["2026-11-02", 500], ["2026-11-03", 0]]);
  });
  it("keeps only given days for long ranges", () => {
    const d = [{ date: "2026-03-02", revenue_minor: 1, expense_minor: 0 }];
    expect(fillDays(d, "2026-01-01", "2026-12-31")).toEqual(d);
  });
  it("rounds the axis", () => {
    expect(niceMax(0)).toBe(1);
    expect(niceMax(7)).toBe(10);
    expect(niceMax(180)).toBe(200);
    expect(niceMax(2100)).toBe(2500);
    expect(niceMax(4000)).toBe(5000);
    expect(niceMax(1000)).toBe(1000);
  });
  it("draws bars from the zero line and a net line below it when negative", () => {
    const g = chartGeometry(
      [
        { date: "a", revenue_minor: 1000, expense_minor: 0 },
        { date: "b", revenue_minor: 0, expense_minor: 400 },
      ],
      200,
      118,
    );
    expect(g.max).toBe(1000);
    expect(g.min).toBe(-500);
    expect(g.bars[0]!.revY + g.bars[0]!.revH).toBeCloseTo(g.zeroY);
    expect(g.bars[1]!.revH).toBeCloseTo(0);
    expect(g.netPoints[1]!.y).toBeGreaterThan(g.zeroY);
    expect(g.netPoints[0]!.y).toBeLessThan(g.zeroY);
  });
});

describe("debounce flag input", () => {
  it("takes whole milliseconds within bounds", () => {
    expect(parseDebounceMs("1000")).toEqual({ ok: true, value: 1000 });
    expect(parseDebounceMs(" 0 ")).toEqual({ ok: true, value: 0 });
    expect(parseDebounceMs("600000")).toEqual({ ok: true, value: 600000 });
    for (const bad of ["", "-1", "1.5", "1e3", "abc", "600001"]) expect(parseDebounceMs(bad).ok, bad).toBe(false);
  });
});
