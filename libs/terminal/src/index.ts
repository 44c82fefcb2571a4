export { progressBar } from './progress-bar';
export { statusLine, type StatusLine } from './status-line';
export { cellText, renderColumns, type ColumnsOptions } from './columns';
