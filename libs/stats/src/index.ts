export { StatsModule } from './stats.module';
export { StatsRepository, type RecentRate } from './stats.repository';
export { SAMPLE_INTERVAL_MS, StatsSampler } from './stats-sampler.service';
export { SERIES_WINDOWS, seriesFrame, shapeSeries, type Series, type SeriesWindow, type StepRow } from './series-window';
