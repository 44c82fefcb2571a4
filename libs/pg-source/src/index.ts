export { connectSource, quoteIdent, quoteLiteral } from './source-connection';
export { formatLsn, parseLsn } from './lsn';
export { probeSlot, type SlotState } from './slot-probe';
export { TypeRegistry } from './type-registry';
export { renderValue, type ValueKind } from './value-renderer';
export { missingTables, type NamedTable } from './table-presence';
export {
  alterSlotFailover,
  createLogicalSlot,
  FAILOVER_MIN_VERSION,
  failoverTargetProblem,
  readFailoverState,
  slotFailover,
  type FailoverState,
} from './failover-slot';
