// Profit-loss by day: revenue and expense bars, net as a line. Hand-written SVG.

import { useEffect, useRef, useState } from "react";
import { chartGeometry, fillDays } from "./chart";
import { formatMinor, formatMoney, minorDigits } from "./money";
import type { ProfitLoss } from "./types";

function useWidth<T extends HTMLElement>(): [React.RefObject<T | null>, number] {
  const ref = useRef<T>(null);
  const [w, setW] = useState(600);
  useEffect(() => {
    const el = ref.current;
    if (!el || typeof ResizeObserver === "undefined") return;
    const ro = new ResizeObserver((entries) => {
      const cw = entries[0]?.contentRect.width;
      if (cw && cw > 0) setW(Math.floor(cw));
    });
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  return [ref, w];
}

/** "12.3k", "4.5M" for axis labels (major units). */
function short(minor: number, currency: string): string {
  const major = minor / 10 ** minorDigits(currency);
  const abs = Math.abs(major);
  if (abs >= 1e6) return `${(major / 1e6).toFixed(1)}M`;
  if (abs >= 1e3) return `${(major / 1e3).toFixed(abs >= 1e4 ? 0 : 1)}k`;
  return formatMinor(Math.round(minor), currency).replace(/\.\d+$/, "");
}

export function ProfitLossChart(props: { pl: ProfitLoss | null | undefined; from: string; to: string; height?: number }) {
  const [ref, width] = useWidth<HTMLDivElement>();
  const height = props.height ?? 150;
  const axis = 48;
  const pl = props.pl;
  const days = fillDays(pl?.by_day ?? [], props.from, props.to);
  const g = chartGeometry(days, Math.max(50, width - axis), height);
  const cur = pl?.currency ?? "USD";
  const labelEvery = Math.max(1, Math.ceil(days.length / Math.max(1, Math.floor((width - axis) / 70))));

  return (
    <div className="chart" ref={ref} data-testid="pl-chart" data-days={days.length}>
      <svg width={width} height={height} role="img" aria-label="Profit and loss by day">
        <g className="axis">
          {g.ticks.map((t) => (
            <g key={t.value}>
              <line x1={axis} x2={width} y1={t.y} y2={t.y} className={t.value === 0 ? "zero" : "grid"} />
              <text x={axis - 4} y={t.y + 4} textAnchor="end">
                {short(t.value, cur)}
              </text>
            </g>
          ))}
        </g>
        <g transform={`translate(${axis},0)`}>
          {g.bars.map((b, i) => (
            <g key={b.date}>
              <title>
                {`${b.date}\nRevenue ${formatMoney(days[i]!.revenue_minor, cur)}\nExpense ${formatMoney(days[i]!.expense_minor, cur)}\nNet ${formatMoney(days[i]!.revenue_minor - days[i]!.expense_minor, cur)}`}
              </title>
              <rect className="bar-rev" x={b.x} y={b.revY} width={b.w} height={Math.max(0, b.revH)} />
              <rect className="bar-exp" x={b.x + b.w} y={b.expY} width={b.w} height={Math.max(0, b.expH)} />
              {i % labelEvery === 0 && (
                <text className="xlabel" x={b.x + b.w} y={height - 4} textAnchor="middle">
                  {b.date.slice(5)}
                </text>
              )}
            </g>
          ))}
          {g.netPoints.length > 1 && (
            <polyline className="net-line" fill="none" points={g.netPoints.map((p) => `${p.x},${p.y}`).join(" ")} />
          )}
          {g.netPoints.map((p, i) => (
            <circle key={i} className="net-dot" cx={p.x} cy={p.y} r={days.length > 62 ? 0 : 2} />
          ))}
        </g>
      </svg>
      <div className="legend">
        <span className="key rev" /> Revenue <span className="key exp" /> Expense <span className="key net" /> Net
        {!pl && <span className="muted"> — loading figures…</span>}
        {pl && pl.by_day.length === 0 && <span className="muted"> — nothing in this range</span>}
      </div>
    </div>
  );
}
