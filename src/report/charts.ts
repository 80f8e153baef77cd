// The experiment report's charts, drawn on the server as SVG text so that the HTML page shows
// them without any script. ECharts writes text content (axis labels, legend entries: tier and
// rule names) through zrender's encodeHTML, which escapes & < > " '. Attribute values it does
// not escape; here they are all its own (coordinates, colours, numeric indices), so no option
// that becomes an attribute (a colour, a class) may come from user data.
import { BarChart, LineChart, type BarSeriesOption, type LineSeriesOption } from 'echarts/charts';
import { GridComponent, LegendComponent, type GridComponentOption, type LegendComponentOption } from 'echarts/components';
import { init, use, type ComposeOption } from 'echarts/core';
import { SVGRenderer } from 'echarts/renderers';
import { formatBytes } from '../bytes.ts';
import type { ExperimentReport } from './experiment-report.ts';

use([BarChart, LineChart, GridComponent, LegendComponent, SVGRenderer]);

type ChartOption = ComposeOption<BarSeriesOption | LineSeriesOption | GridComponentOption | LegendComponentOption>;

const WIDTH = 900;
const HEIGHT = 320;
const GRID = { left: 90, right: 30, top: 40, bottom: 40 };

function renderSvg(option: ChartOption, height = HEIGHT): string {
  const chart = init(null, null, { renderer: 'svg', ssr: true, width: WIDTH, height });
  try {
    // A still picture: without this the SVG would carry CSS keyframes growing the series in.
    chart.setOption({ animation: false, ...option });
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

const money = (micro: number) => micro / 1e6;

/** Cumulative cost at the end of each year since the data was taken, stacked per tier. */
export function costByYearChart(report: ExperimentReport): string {
  const { byYear, byYearPerTier, currency } = report.cost;
  return renderSvg({
    legend: { top: 5 },
    grid: GRID,
    xAxis: { type: 'category', name: 'year', nameLocation: 'middle', nameGap: 26, boundaryGap: false, data: byYear.map((_, i) => String(i + 1)) },
    yAxis: { type: 'value', name: currency },
    series: byYearPerTier.map((t) => ({ type: 'line', name: t.tier, stack: 'cost', areaStyle: {}, showSymbol: false, data: t.byYear.map(money) })),
  });
}

/**
 * The bytes collected against those kept of each product. On a log axis: kept products are
 * often hundreds of times smaller than the raw frames and would not show on a linear one; the
 * bars carry their sizes as labels so the scale does not mislead.
 */
export function keptBytesChart(report: ExperimentReport): string {
  const label = { show: true, position: 'right' as const, formatter: ({ value }: { value: unknown }) => formatBytes(Number(value)) };
  const products = report.products.map((p) => p.product);
  return renderSvg({
    legend: { top: 5 },
    grid: { ...GRID, right: 90 },
    yAxis: { type: 'category', inverse: true, data: ['collected', ...products] },
    // From the decade below the smallest bar: from 1 B the differences that matter look small.
    xAxis: { type: 'log', min: ({ min }: { min: number }) => 10 ** (Math.ceil(Math.log10(Math.max(10, min))) - 1), axisLabel: { formatter: (v: number) => formatBytes(v) } },
    // Two series for the legend's two colours; each row has a bar in one of them only, and
    // barGap -100% draws both in the same place so that bar sits centred in its row.
    series: [
      { type: 'bar', name: 'collected (raw)', barGap: '-100%', label, data: [report.rawBytes, ...products.map(() => '-')] },
      { type: 'bar', name: 'kept', label, data: ['-', ...report.products.map((p) => p.bytes)] },
    ],
  }, 80 + 40 * (products.length + 1));
}

/** Frames each policy rule decided, and how many of them keep data. */
export function framesByRuleChart(report: ExperimentReport): string {
  return renderSvg({
    legend: { top: 5 },
    grid: GRID,
    xAxis: { type: 'category', data: report.rules.map((r) => r.rule) },
    yAxis: { type: 'value', name: 'frames', minInterval: 1 },
    series: [
      { type: 'bar', name: 'decided', data: report.rules.map((r) => r.frames) },
      { type: 'bar', name: 'kept', data: report.rules.map((r) => r.keptFrames) },
    ],
  });
}
