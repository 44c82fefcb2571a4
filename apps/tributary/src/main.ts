import { ALL_ROLES, runMain } from '@tributary/runtime';

// All-in-one: API, capture and worker in one process (the embedded default).
runMain(ALL_ROLES);
