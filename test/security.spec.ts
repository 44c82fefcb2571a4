/**
 * Issue 13's black-box checks: what a hostile web page, table name, filter, secret or target could do,
 * each refused or survived. One suite, one block per area, each with its own clusters and platform.
 */
import './security/web';
import './security/target-names';
import './security/filters';
import './security/targets';
