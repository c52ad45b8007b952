// Geometry for the profit-loss chart: pure numbers, drawn by Chart.tsx.

import { eachDay } from "./filters";
import type { DayTotals, IsoDate } from "./types";

/** by_day only lists days with transactions; give every day of the range a slot. */
export function fillDays(byDay: readonly DayTotals[], from: IsoDate, to: IsoDate, maxDays = 92): DayTotals[] {
  const days = eachDay(from, to, maxDays);
  if (days === null) return byDay.filter((d) => d.date >= from && d.date <= to);
  const have = new Map(byDay.map((d) => [d.date, d]));
  return days.map((date) => have.get(date) ?? { date, revenue_minor: 0, expense_minor: 0 });
}

/** A round axis maximum ≥ v: 1, 2, 2.5 or 5 × 10^k. */
export function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const exp = Math.floor(Math.log10(v));
  const base = 10 ** exp;
  for (const m of [1, 2, 2.5, 5, 10]) if (m * base >= v) return m * base;
  return 10 * base;
}

export interface ChartGeometry {
  width: number;
  height: number;
  /** y of the zero line */
  zeroY: number;
  max: number;
  min: number;
  bars: { date: IsoDate; x: number; w: number; revY: number; revH: number; expY: number; expH: number }[];
  netPoints: { x: number; y: number }[];
  ticks: { value: number; y: number }[];
}

export function chartGeometry(days: readonly DayTotals[], width: number, height: number): ChartGeometry {
  const top = 8;
  const bottom = height - 18;
  let hi = 0;
  let lo = 0;
  for (const d of days) {
    hi = Math.max(hi, d.revenue_minor, d.expense_minor, d.revenue_minor - d.expense_minor);
    lo = Math.min(lo, d.revenue_minor - d.expense_minor);
  }
  const max = niceMax(hi);
  const min = lo < 0 ? -niceMax(-lo) : 0;
  const y = (v: number) => top + ((max - v) / (max - min)) * (bottom - top);
  const slot = days.length > 0 ? width / days.length : width;
  const w = Math.max(1, Math.min(14, (slot - 2) / 2));
  const bars = days.map((d, i) => {
    const cx = slot * i + slot / 2;
    const revY = y(d.revenue_minor);
    const expY = y(d.expense_minor);
    return {
      date: d.date,
      x: cx - w,
      w,
      revY,
      revH: y(0) - revY,
      expY,
      expH: y(0) - expY,
    };
  });
  const netPoints = days.map((d, i) => ({ x: slot * i + slot / 2, y: y(d.revenue_minor - d.expense_minor) }));
  const ticks = [max, max / 2, 0, ...(min < 0 ? [min] : [])].map((value) => ({ value, y: y(value) }));
  return { width, height, zeroY: y(0), max, min, bars, netPoints, ticks };
}
