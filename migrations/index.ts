import { InitialSchema1764000000000 } from './1764000000000-InitialSchema';
import { ConsumerGroups1764100000000 } from './1764100000000-ConsumerGroups';
import { SourceTables1764200000000 } from './1764200000000-SourceTables';
import { WebhookDeliveries1764600000000 } from './1764600000000-WebhookDeliveries';
import { ApiTokens1764800000000 } from './1764800000000-ApiTokens';
import { Backfills1764900000000 } from './1764900000000-Backfills';
import { Catalog1765000000000 } from './1765000000000-Catalog';
import { RecordBatches1766000000000 } from './1766000000000-RecordBatches';
import { SnapshotRowBatches1767000000000 } from './1767000000000-SnapshotRowBatches';
import { TextEnvelopes1768000000000 } from './1768000000000-TextEnvelopes';
import { ApiAuthentication1769000000000 } from './1769000000000-ApiAuthentication';
import { BackfillsOneActive1769500000000 } from './1769500000000-BackfillsOneActive';
import { StatsSamples1770000000000 } from './1770000000000-StatsSamples';

/** Every migration, in order. Listed explicitly so the build needs no glob loading. */
export const MIGRATIONS = [
  InitialSchema1764000000000,
  ConsumerGroups1764100000000,
  SourceTables1764200000000,
  WebhookDeliveries1764600000000,
  ApiTokens1764800000000,
  Backfills1764900000000,
  Catalog1765000000000,
  RecordBatches1766000000000,
  SnapshotRowBatches1767000000000,
  TextEnvelopes1768000000000,
  ApiAuthentication1769000000000,
  BackfillsOneActive1769500000000,
  StatsSamples1770000000000,
];
