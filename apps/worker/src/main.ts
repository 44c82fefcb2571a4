import { runMain } from '@tributary/runtime';

runMain(['worker']);
