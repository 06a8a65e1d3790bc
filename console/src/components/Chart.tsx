import { BarChart, GraphChart, LineChart } from 'echarts/charts';
import {
  AriaComponent,
  GridComponent,
  LegendComponent,
  TitleComponent,
  TooltipComponent,
} from 'echarts/components';
import * as echarts from 'echarts/core';
import { SVGRenderer } from 'echarts/renderers';
import { useEffect, useRef } from 'react';

echarts.use([
  BarChart,
  LineChart,
  GraphChart,
  GridComponent,
  TooltipComponent,
  LegendComponent,
  TitleComponent,
  AriaComponent,
  SVGRenderer,
]);

export type ChartOption = echarts.EChartsCoreOption;

/**
 * An ECharts chart drawn as SVG. `label` names it for screen readers, and ECharts' aria
 * description reads the data out; `onClick` gets the clicked item's data.
 */
export function Chart(props: {
  option: ChartOption;
  label: string;
  height?: number;
  onClick?: (params: {
    name: string;
    data: unknown;
    dataIndex: number;
    seriesIndex?: number;
  }) => void;
}) {
  const el = useRef<HTMLDivElement>(null);
  const chart = useRef<echarts.ECharts | null>(null);
  const click = useRef(props.onClick);
  click.current = props.onClick;
  useEffect(() => {
    if (!el.current) return;
    const c = echarts.init(el.current, undefined, { renderer: 'svg' });
    chart.current = c;
    c.on('click', (p) => click.current?.(p as never));
    const resize = new ResizeObserver(() => c.resize());
    resize.observe(el.current);
    return () => {
      resize.disconnect();
      c.dispose();
      chart.current = null;
    };
  }, []);
  useEffect(() => {
    chart.current?.setOption({ aria: { enabled: true }, animation: false, ...props.option }, true);
  }, [props.option]);
  return (
    <div
      ref={el}
      className="chart"
      role="img"
      aria-label={props.label}
      style={{ height: props.height ?? 260 }}
    />
  );
}
