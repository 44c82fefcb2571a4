export interface PartitionRef {
  topic: string;
  partition: number;
}

export function partitionId(p: PartitionRef): string {
  return `${p.topic}\u0000${p.partition}`;
}

/**
 * Deterministic, even spread: partitions (sorted by topic, partition) dealt round robin to members
 * (sorted by id), so every member computes the same answer from the same membership, and counts
 * differ by at most one.
 */
export function assignPartitions(memberIds: string[], partitions: PartitionRef[]): Map<string, PartitionRef[]> {
  const members = [...memberIds].sort();
  const sorted = [...partitions].sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
  const result = new Map<string, PartitionRef[]>(members.map((m) => [m, []]));
  if (members.length === 0) return result;
  sorted.forEach((p, i) => result.get(members[i % members.length])?.push(p));
  return result;
}
