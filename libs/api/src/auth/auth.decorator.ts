import { SetMetadata } from '@nestjs/common';

export const ACCESS = 'tributary:access';

/** Who may call a route beyond the default (reads: any token; writes: admin). */
export type Access = 'public' | 'admin' | 'consumer' | 'metrics';

/** Open without a token (liveness, readiness, the API's description). */
export const Public = () => SetMetadata(ACCESS, 'public' satisfies Access);
/** Admin only, even for reads (token management). */
export const AdminOnly = () => SetMetadata(ACCESS, 'admin' satisfies Access);
/** Writes a consumer token may make too (the pull API). */
export const ConsumerWrites = () => SetMetadata(ACCESS, 'consumer' satisfies Access);
/** Read like any route, or open without a token when TRIBUTARY_METRICS_PUBLIC is set (scrapers without a token). */
export const MetricsAccess = () => SetMetadata(ACCESS, 'metrics' satisfies Access);
