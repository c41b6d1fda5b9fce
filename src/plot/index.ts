// Public API of src/plot: our own small SVG pictures (no plotting dependency) for loss curves, attention
// maps, confusion matrices and time profiles.
export { lineChartSvg, type LineChartOptions, type LineSeries } from './line.js';
export { heatmapSvg, type HeatmapOptions } from './heatmap.js';
export { barChartSvg, type BarChartOptions, type BarSeries } from './bar.js';
