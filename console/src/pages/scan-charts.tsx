import { useMemo } from 'react';
import type { ScanOverviewView } from '../../../src/server/scan-report-views.js';
import { Chart, type ChartOption } from '../components/Chart.js';
import { binNames, kindName } from './scan-format.js';

type Kind = ScanOverviewView['kinds'][number];
type ClassBalance = NonNullable<ScanOverviewView['classBalance']>;

const ACCENT = '#0550ae';
const SELECTED = '#a40e26';
const BASELINE = '#8c959f';
const grid = { left: 48, right: 16, top: 28, bottom: 64, containLabel: true };

/** Flagged rows per kind; a click on a bar filters the findings to that kind. */
export function KindsChart(props: {
  kinds: Kind[];
  selected: string | undefined;
  onSelect: (kind: string) => void;
}) {
  const { kinds, selected } = props;
  const option = useMemo<ChartOption>(
    () => ({
      grid,
      tooltip: { trigger: 'axis' },
      xAxis: {
        type: 'category',
        data: kinds.map((k) => kindName(k.kind)),
        axisLabel: { interval: 0, rotate: 30 },
      },
      yAxis: { type: 'value', name: 'rows', minInterval: 1 },
      series: [
        {
          type: 'bar',
          name: 'Flagged rows',
          data: kinds.map((k) => ({
            value: k.rows,
            itemStyle: { color: k.kind === selected ? SELECTED : ACCENT },
          })),
        },
      ],
    }),
    [kinds, selected],
  );
  return (
    <Chart
      option={option}
      label="Flagged rows per finding kind (click a bar to filter the findings)"
      onClick={(p) => {
        const k = kinds[p.dataIndex];
        if (k) props.onSelect(k.kind);
      }}
    />
  );
}

/** The score distribution of one kind's findings, in equal bins over [0, 1]. */
export function ScoreHistogram({ kind }: { kind: Kind }) {
  const option = useMemo<ChartOption>(
    () => ({
      grid,
      tooltip: { trigger: 'axis' },
      xAxis: {
        type: 'category',
        name: 'score',
        nameLocation: 'middle',
        nameGap: 48,
        data: binNames(kind.histogram.length),
        axisLabel: { rotate: 45 },
      },
      yAxis: { type: 'value', name: 'findings', minInterval: 1 },
      series: [
        { type: 'bar', name: 'Findings', data: kind.histogram, itemStyle: { color: ACCENT } },
      ],
    }),
    [kind],
  );
  return <Chart option={option} label={`Score histogram of ${kindName(kind.kind)} findings`} />;
}

/** Class shares now and in the baseline (when the scan had one), else class counts. */
export function ClassBalanceChart({ balance }: { balance: ClassBalance }) {
  const withBaseline = balance.baseline !== null;
  const option = useMemo<ChartOption>(() => {
    const labels = balance.labels.map((l) => l.label);
    const series = [
      {
        type: 'bar',
        name: withBaseline ? 'This snapshot (share)' : 'Rows',
        data: balance.labels.map((l) => (withBaseline ? round(l.share) : l.rows)),
        itemStyle: { color: ACCENT },
      },
    ];
    if (withBaseline)
      series.push({
        type: 'bar',
        name: 'Baseline (share)',
        data: balance.labels.map((l) => round(l.baselineShare ?? 0)),
        itemStyle: { color: BASELINE },
      });
    return {
      grid,
      legend: { top: 0 },
      tooltip: { trigger: 'axis' },
      xAxis: { type: 'category', data: labels, axisLabel: { interval: 0, rotate: 30 } },
      yAxis: withBaseline
        ? { type: 'value', name: 'share', max: 1 }
        : { type: 'value', name: 'rows', minInterval: 1 },
      series,
    };
  }, [balance, withBaseline]);
  return (
    <Chart
      option={option}
      label={
        withBaseline
          ? 'Share of rows per label in this snapshot and in the baseline'
          : 'Rows per label'
      }
    />
  );
}

const round = (x: number): number => Math.round(x * 10_000) / 10_000;
