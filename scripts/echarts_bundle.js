// The ECharts parts the console's pages use, and no more: scripts/vendor_echarts.sh
// bundles this file into static/vendor/echarts/echarts.min.js (global `echarts`).
// A page that draws a new kind of chart or component adds it here and re-vendors.
import { use } from "echarts/core";
import { LineChart, PieChart } from "echarts/charts";
// Tooltip brings the axis pointer (tooltip trigger "axis"); Legend brings the
// scrolling legend; DataZoom brings both the inside and the slider zoom; MarkLine
// marks the moments an alert fired, was acknowledged and resolved on its chart.
import {
  DataZoomComponent, GridComponent, LegendComponent, MarkLineComponent, TitleComponent, TooltipComponent,
} from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";

use([
  LineChart, PieChart, GridComponent, TooltipComponent, LegendComponent, TitleComponent, DataZoomComponent, MarkLineComponent,
  CanvasRenderer,
]);

// init, getInstanceByDom, registerTheme… and the "dark" theme, which core registers.
export * from "echarts/core";
