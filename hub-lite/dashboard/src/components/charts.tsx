/** Small SVG charts: a multi-series line/area chart over time and horizontal bars. No dependencies. */

import { useLayoutEffect, useRef, useState } from "preact/hooks";

export interface Series {
  name: string;
  color: string;
  /** [epoch ms, value], ascending time. */
  points: [number, number][];
}

export function TimeChart(props: { series: Series[]; height?: number; format(v: number): string; testid?: string }) {
  const { series, format, testid } = props;
  // Drawn at the rendered width (not stretched), so text keeps its shape.
  const box = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(800);
  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setWidth(Math.max(200, el.clientWidth)));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  const height = props.height ?? 180;
  const pad = { l: 64, r: 12, t: 10, b: 22 };
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) return <div class="muted" ref={box}>no data</div>;
  const t0 = Math.min(...all.map((p) => p[0]));
  const t1 = Math.max(...all.map((p) => p[0]), t0 + 1);
  const vmax = Math.max(...all.map((p) => p[1]), 1);
  const x = (t: number) => pad.l + ((t - t0) / (t1 - t0)) * (width - pad.l - pad.r);
  const y = (v: number) => height - pad.b - (v / vmax) * (height - pad.t - pad.b);
  const ticks = [0, 0.5, 1].map((f) => f * vmax);
  const timeTicks = [t0, (t0 + t1) / 2, t1];
  return (
    <div ref={box}>
    <svg class="chart" width={width} height={height} viewBox={`0 0 ${width} ${height}`} data-testid={testid}>
      {ticks.map((v) => (
        <g key={v}>
          <line x1={pad.l} x2={width - pad.r} y1={y(v)} y2={y(v)} class="gridline" />
          <text x={pad.l - 6} y={y(v) + 4} text-anchor="end" class="axis">
            {format(v)}
          </text>
        </g>
      ))}
      {timeTicks.map((t, i) => (
        <text key={i} x={x(t)} y={height - 6} text-anchor={i === 0 ? "start" : i === 2 ? "end" : "middle"} class="axis">
          {new Date(t).toISOString().slice(11, 19)}
        </text>
      ))}
      {series.map((s) => {
        if (s.points.length === 0) return null;
        const line = s.points.map((p, i) => `${i ? "L" : "M"}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join("");
        const first = s.points[0];
        const last = s.points[s.points.length - 1];
        const area =
          first && last ? `${line}L${x(last[0]).toFixed(1)},${y(0)}L${x(first[0]).toFixed(1)},${y(0)}Z` : "";
        return (
          <g key={s.name}>
            <path d={area} fill={s.color} fill-opacity="0.15" />
            <path d={line} fill="none" stroke={s.color} stroke-width="1.5" />
            {s.points.length <= 120 &&
              s.points.map((p, i) => <circle key={i} cx={x(p[0])} cy={y(p[1])} r="2.5" fill={s.color} />)}
          </g>
        );
      })}
    </svg>
    </div>
  );
}

export function Legend({ series }: { series: { name: string; color: string }[] }) {
  return (
    <div class="legend">
      {series.map((s) => (
        <span key={s.name}>
          <span class="swatch" style={{ background: s.color }} /> {s.name}
        </span>
      ))}
    </div>
  );
}

export function Bars(props: { items: { label: string; value: number; color: string; text?: string }[]; testid?: string }) {
  const max = Math.max(1, ...props.items.map((i) => i.value));
  return (
    <div class="bars" data-testid={props.testid}>
      {props.items.map((i) => (
        <div class="bar-row" key={i.label}>
          <span class="bar-label">{i.label}</span>
          <span class="bar-track">
            <span class="bar" style={{ width: `${(i.value / max) * 100}%`, background: i.color }} />
          </span>
          <span class="bar-value">{i.text ?? i.value.toLocaleString("en-US")}</span>
        </div>
      ))}
    </div>
  );
}
