import type { GroupConfig, SourceFileConfig } from '@tributary/config';

/** `file`: declared in tributary.yaml or applied with `tributary apply`; `api`: created through the REST API. */
export type ManagedBy = 'api' | 'file';

export interface SourceEntry {
  name: string;
  /** As tributary.yaml and the API take it, defaults filled in; secrets included (never returned as is). */
  spec: SourceFileConfig;
  version: number;
  managedBy: ManagedBy;
  createdAt: string;
  updatedAt: string;
}

/** A group and how it runs; `sink.type === 'pull'` means no worker runs it (consumed over the pull API). */
export interface GroupEntry {
  name: string;
  spec: GroupConfig;
  version: number;
  managedBy: ManagedBy;
  paused: boolean;
  createdAt: string;
  updatedAt: string;
}

export type UpdateResult<T> = { entry: T; changed: boolean } | 'not_found' | 'conflict';
